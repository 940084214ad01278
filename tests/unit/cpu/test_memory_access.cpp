// CPU loads, stores and fetches through paging: round trips, page-crossing accesses and
// their faults, TLB behaviour and its cost in simulated time, NX, and A/D bits.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "bare_metal.hpp"

using namespace ossim;
using test::BareMetal;
using test::kNs;
using test::Paging;

namespace {

constexpr mmu::VirtAddr kBase = 0x40'0000;
constexpr std::uint64_t kPage = mmu::kPageBytes;

struct Record {
  std::int32_t id;
  std::uint16_t flags;
  double weight;
  char tag[5];
  bool operator==(const Record& o) const {
    return id == o.id && flags == o.flags && weight == o.weight && std::memcmp(tag, o.tag, sizeof tag) == 0;
  }
};

}  // namespace

TEST_CASE("values stored through paging load back, and land in the mapped frame") {
  BareMetal hw;
  Paging paging(hw.machine());
  const mmu::PhysAddr frame = paging.map(kBase);
  REQUIRE(frame != 0);
  const Record record{-42, 0xBEEF, 2.5, {'o', 's', 's', 'i', 'm'}};
  std::uint8_t u8 = 0;
  std::uint16_t u16 = 0;
  std::uint32_t u32 = 0;
  std::uint64_t u64 = 0;
  Record loaded{};
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    c.store<std::uint8_t>(kBase + 1, 0xA5);
    c.store<std::uint16_t>(kBase + 2, 0xB00C);
    c.store<std::uint32_t>(kBase + 4, 0xC0DE'D00D);
    c.store<std::uint64_t>(kBase + 8, 0x0123'4567'89AB'CDEF);
    c.store(kBase + 0x100, record);
    u8 = c.load<std::uint8_t>(kBase + 1);
    u16 = c.load<std::uint16_t>(kBase + 2);
    u32 = c.load<std::uint32_t>(kBase + 4);
    u64 = c.load<std::uint64_t>(kBase + 8);
    loaded = c.load<Record>(kBase + 0x100);
  });
  hw.engine.run();
  CHECK(u8 == 0xA5);
  CHECK(u16 == 0xB00C);
  CHECK(u32 == 0xC0DE'D00D);
  CHECK(u64 == 0x0123'4567'89AB'CDEF);
  CHECK(loaded == record);
  mmu::PhysicalMemory& memory = hw.machine().memory();
  CHECK(memory.read<std::uint8_t>(frame + 1) == 0xA5);
  CHECK(memory.read<std::uint64_t>(frame + 8) == 0x0123'4567'89AB'CDEF);
  CHECK(memory.read<Record>(frame + 0x100) == record);
  CHECK(hw.cpu().stats().page_faults == 0);
}

TEST_CASE("a small access crossing into an unmapped page faults on the second page and leaves the first untouched") {
  BareMetal hw;
  Paging paging(hw.machine());
  const mmu::PhysAddr first = paging.map(kBase);
  std::vector<std::uint64_t> fault_addresses;
  std::uint32_t first_page_during_fault = 1;
  const bool fix = GENERATE(false, true);
  hw.idt.set(cpu::vector::kPageFault, [&](cpu::Cpu&, cpu::TrapFrame& f) {
    fault_addresses.push_back(f.fault_address);
    first_page_during_fault = hw.machine().memory().read<std::uint32_t>(first + kPage - 4);
    if (fix) {
      paging.map(f.fault_address & ~(kPage - 1));
    } else {
      f.abort_access = true;
    }
  });
  bool written = !fix;
  std::uint64_t read_back = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    const std::uint64_t value = 0x1111'2222'3333'4444;
    written = c.try_write_memory(kBase + kPage - 4, &value, sizeof value);
    if (written) read_back = c.load<std::uint64_t>(kBase + kPage - 4);
  });
  hw.engine.run();
  CHECK(fault_addresses == std::vector<std::uint64_t>{kBase + kPage});
  CHECK(first_page_during_fault == 0);
  CHECK(written == fix);
  if (fix) {
    CHECK(read_back == 0x1111'2222'3333'4444);
  } else {
    CHECK(hw.machine().memory().read<std::uint32_t>(first + kPage - 4) == 0);
  }
}

TEST_CASE("a long write moves page by page and resumes at the faulting page") {
  BareMetal hw;
  Paging paging(hw.machine());
  paging.map(kBase);
  paging.map(kBase + 2 * kPage);  // kBase + kPage is left unmapped
  std::vector<std::uint8_t> data(2 * kPage + 0x100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
  std::vector<std::uint64_t> fault_addresses;
  bool first_chunk_done_at_fault = false;
  hw.idt.set(cpu::vector::kPageFault, [&](cpu::Cpu& c, cpu::TrapFrame& f) {
    fault_addresses.push_back(f.fault_address);
    std::vector<std::uint8_t> head(kPage - 0x80);
    const auto at = paging.table.lookup(kBase);
    c.memory().read_bytes(at->page_base + 0x80, head.data(), head.size());
    first_chunk_done_at_fault = std::memcmp(head.data(), data.data(), head.size()) == 0;
    paging.map(f.fault_address & ~(kPage - 1));
  });
  std::vector<std::uint8_t> read_back(data.size());
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    c.write_memory(kBase + 0x80, data.data(), data.size());
    c.read_memory(kBase + 0x80, read_back.data(), read_back.size());
  });
  hw.engine.run();
  CHECK(fault_addresses == std::vector<std::uint64_t>{kBase + kPage});
  CHECK(first_chunk_done_at_fault);
  CHECK(read_back == data);
}

TEST_CASE("a large read gathers several pages mapped to scattered frames") {
  BareMetal hw;
  Paging paging(hw.machine());
  constexpr int kPages = 4;
  std::vector<mmu::PhysAddr> frames(kPages);
  for (int p = kPages - 1; p >= 0; --p) {  // backwards, and with a gap: not contiguous
    frames[p] = paging.map(kBase + p * kPage);
    (void)hw.machine().frames().allocate();
  }
  for (int p = 0; p < kPages; ++p) {
    for (std::uint64_t i = 0; i < kPage; i += 8) {
      hw.machine().memory().write<std::uint64_t>(frames[p] + i, p * kPage + i);
    }
  }
  constexpr std::uint64_t kOffset = 0x108;
  std::vector<std::uint64_t> words((3 * kPage + 0x200) / 8);
  hw.run_on(0, [&] {
    paging.enable(hw.cpu());
    hw.cpu().read_memory(kBase + kOffset, words.data(), words.size() * 8);
  });
  hw.engine.run();
  REQUIRE(frames[0] != frames[1] - kPage);
  for (std::size_t w = 0; w < words.size(); ++w) {
    INFO("word " << w);
    REQUIRE(words[w] == kOffset + w * 8);
  }
}

TEST_CASE("the first access to a page misses in the data TLB and walks, and the next ones hit") {
  BareMetal hw;
  Paging paging(hw.machine());
  paging.map(kBase);
  paging.map(kBase + kPage);
  mmu::Mmu& mmu = hw.cpu().mmu();
  mmu::TlbStats dtlb_before, dtlb_after;
  mmu::MmuStats mmu_before, mmu_after;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    dtlb_before = mmu.dtlb().stats();
    mmu_before = mmu.stats();
    (void)c.load<std::uint32_t>(kBase);
    (void)c.load<std::uint32_t>(kBase + 64);
    (void)c.load<std::uint32_t>(kBase + 128);
    (void)c.load<std::uint32_t>(kBase + kPage);
    dtlb_after = mmu.dtlb().stats();
    mmu_after = mmu.stats();
  });
  hw.engine.run();
  CHECK(dtlb_after.misses - dtlb_before.misses == 2);
  CHECK(dtlb_after.hits - dtlb_before.hits == 2);
  CHECK(mmu_after.walks - mmu_before.walks == 2);
  CHECK(mmu_after.walk_entries_read - mmu_before.walk_entries_read == 8);  // 4 levels each
}

namespace {

/// Walks of 7 ns a level, an STLB hit of 3 ns and two cycles (1 ns) per access, so that
/// each part of an access's time can be told apart.
MachineConfig timed_walk_machine() {
  MachineConfig config = test::small_machine();
  config.cpu.mmu.walk_latency_per_level = 7 * kNs;
  config.cpu.mmu.stlb_hit_latency = 3 * kNs;
  config.cpu.memory_access_cycles = 2;
  return config;
}

}  // namespace

TEST_CASE("a TLB miss costs the page walk and the second-level lookup on top of a hit") {
  BareMetal hw(timed_walk_machine());
  Paging paging(hw.machine());
  paging.map(kBase);
  sim::Tick miss = 0, hit = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    sim::Tick t = c.now();
    (void)c.load<std::uint64_t>(kBase);
    miss = c.now() - t;
    t = c.now();
    (void)c.load<std::uint64_t>(kBase + 8);
    hit = c.now() - t;
  });
  hw.engine.run();
  CHECK(hit == 2 * 500);  // memory_access_cycles
  CHECK(miss - hit == 4 * 7 * kNs + 3 * kNs);
}

TEST_CASE("an access that misses the TLB moves its bytes and costs a hit plus the walk, at every size") {
  BareMetal hw(timed_walk_machine());
  Paging paging(hw.machine());
  mmu::PhysicalMemory& memory = hw.machine().memory();
  const std::size_t sizes[] = {1, 2, 4, 8, 3, 16, 24};
  std::vector<mmu::PhysAddr> load_frames;
  std::vector<mmu::PhysAddr> store_frames;
  // Each access goes to a page of its own, so each one misses; the data sits mid-page.
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    load_frames.push_back(paging.map(kBase + 2 * i * kPage));
    store_frames.push_back(paging.map(kBase + (2 * i + 1) * kPage));
    for (std::size_t b = 0; b < sizes[i]; ++b) {
      memory.write<std::uint8_t>(load_frames[i] + 0x80 + b, static_cast<std::uint8_t>(0x10 * i + b + 1));
    }
  }
  std::vector<std::vector<std::uint8_t>> loaded(std::size(sizes));
  std::vector<sim::Tick> load_time(std::size(sizes)), store_time(std::size(sizes));
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    for (std::size_t i = 0; i < std::size(sizes); ++i) {
      loaded[i].assign(sizes[i], 0);
      sim::Tick t = c.now();
      c.read_memory(kBase + 2 * i * kPage + 0x80, loaded[i].data(), sizes[i]);
      load_time[i] = c.now() - t;
      std::vector<std::uint8_t> out(sizes[i]);
      for (std::size_t b = 0; b < sizes[i]; ++b) out[b] = static_cast<std::uint8_t>(0xA0 + b);
      t = c.now();
      c.write_memory(kBase + (2 * i + 1) * kPage + 0x80, out.data(), sizes[i]);
      store_time[i] = c.now() - t;
    }
  });
  hw.engine.run();
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    INFO(sizes[i] << " bytes");
    const sim::Tick hit = 2 * 500 * ((sizes[i] + 7) / 8);  // memory_access_cycles per 8 bytes
    CHECK(load_time[i] == hit + 4 * 7 * kNs + 3 * kNs);
    CHECK(store_time[i] == hit + 4 * 7 * kNs + 3 * kNs);
    for (std::size_t b = 0; b < sizes[i]; ++b) {
      CHECK(loaded[i][b] == 0x10 * i + b + 1);
      CHECK(memory.read<std::uint8_t>(store_frames[i] + 0x80 + b) == 0xA0 + b);
    }
    CHECK(memory.read<std::uint8_t>(store_frames[i] + 0x80 + sizes[i]) == 0);  // nothing beyond
  }
  CHECK(hw.cpu().mmu().stats().walks == 2 * std::size(sizes));
}

TEST_CASE("an instruction fetch from a no-execute page raises #PF with the I/D bit") {
  BareMetal hw;
  Paging paging(hw.machine());
  paging.map(kBase, mmu::pte::kUser | mmu::pte::kNoExecute);
  paging.map(kBase + kPage, mmu::pte::kUser);
  std::vector<cpu::TrapFrame> faults;
  hw.idt.set(cpu::vector::kPageFault, [&](cpu::Cpu&, cpu::TrapFrame& f) {
    faults.push_back(f);
    paging.table.update(f.fault_address, 0, mmu::pte::kNoExecute);  // make it executable
  });
  std::uint64_t rip_after_exec = 0, rip_after_nx = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    c.enter_user_mode();
    c.fetch(kBase + kPage + 0x10);  // executable: no fault
    rip_after_exec = c.registers().rip;
    c.fetch(kBase + 0x20);
    rip_after_nx = c.registers().rip;
  });
  hw.engine.run();
  CHECK(rip_after_exec == kBase + kPage + 0x10);
  REQUIRE(faults.size() == 1);
  CHECK(faults[0].fault_address == kBase + 0x20);
  CHECK(faults[0].error_code == (mmu::fault::kInstruction | mmu::fault::kProtection | mmu::fault::kUser));
  CHECK(rip_after_nx == kBase + 0x20);
  CHECK(hw.cpu().mmu().itlb().stats().misses >= 2);
}

TEST_CASE("a load sets the Accessed bit and a later store sets the Dirty bit in the page table") {
  BareMetal hw;
  Paging paging(hw.machine());
  paging.map(kBase);
  auto leaf = [&] { return paging.table.lookup(kBase)->entry; };
  mmu::pte::Entry before = 0, after_load = 0, after_store = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    before = leaf();
    (void)c.load<std::uint64_t>(kBase);
    after_load = leaf();
    c.store<std::uint64_t>(kBase, 5);  // the TLB entry is clean: walks again to set D
    after_store = leaf();
  });
  hw.engine.run();
  CHECK((before & (mmu::pte::kAccessed | mmu::pte::kDirty)) == 0);
  CHECK((after_load & mmu::pte::kAccessed) != 0);
  CHECK((after_load & mmu::pte::kDirty) == 0);
  CHECK((after_store & mmu::pte::kDirty) != 0);
  CHECK(hw.cpu().mmu().stats().walks == 2);
}

TEST_CASE("with paging off, a load beyond physical memory reads all ones and a store there is dropped") {
  BareMetal hw;
  const mmu::PhysAddr beyond = hw.machine().memory().size_bytes() + 0x1000;
  std::uint64_t value = 0;
  bool went_on = false;
  hw.run_on(0, [&] {
    hw.cpu().store<std::uint64_t>(beyond, 5);
    value = hw.cpu().load<std::uint64_t>(beyond);
    went_on = true;
  });
  hw.engine.run();
  CHECK(value == ~std::uint64_t{0});
  CHECK(went_on);
  CHECK(hw.cpu().stats().exceptions == 0);
}

// Regression, fixed (was include/ossim/cpu/cpu.hpp:215 vs src/cpu/cpu.cpp:248): the inline fast path charges
// memory_access_cycles once for an access of any size within one page, while access_slow
// charges memory_access_cycles per 8 bytes. A 4 KiB read_memory costs 1 cycle when it is
// page-aligned and 512 cycles when it starts 8 bytes in (and so crosses a page).
TEST_CASE("a 4 KiB copy costs the same whether or not it is page-aligned", "[regression]") {
  BareMetal hw;
  Paging paging(hw.machine());
  paging.map(kBase);
  paging.map(kBase + kPage);
  std::vector<std::uint8_t> buffer(kPage);
  sim::Tick aligned = 0, unaligned = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    (void)c.load<std::uint8_t>(kBase);  // warm the TLB for both pages
    (void)c.load<std::uint8_t>(kBase + kPage);
    sim::Tick t = c.now();
    c.read_memory(kBase, buffer.data(), kPage);
    aligned = c.now() - t;
    t = c.now();
    c.read_memory(kBase + 8, buffer.data(), kPage);
    unaligned = c.now() - t;
  });
  hw.engine.run();
  CHECK(aligned == unaligned);
}
