// The CPU's locked read-modify-write operations (compare-exchange, exchange, fetch-add):
// their results, that they translate for writing and fault like a store, that a
// misaligned one raises #GP, and that two CPUs using them lose no update where separate
// loads and stores do.

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "bare_metal.hpp"

using namespace ossim;
using test::BareMetal;
using test::Paging;

namespace {

constexpr mmu::VirtAddr kBase = 0x40'0000;

}  // namespace

TEST_CASE("atomic operations return the old value and store what the instruction defines") {
  BareMetal hw;
  Paging paging(hw.machine());
  const mmu::PhysAddr frame = paging.map(kBase);
  REQUIRE(frame != 0);
  std::vector<std::uint64_t> seen;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    c.store<std::uint32_t>(kBase, 7);
    seen.push_back(c.atomic_compare_exchange<std::uint32_t>(kBase, 6, 9));  // fails: stays 7
    seen.push_back(c.load<std::uint32_t>(kBase));
    seen.push_back(c.atomic_compare_exchange<std::uint32_t>(kBase, 7, 9));  // succeeds
    seen.push_back(c.load<std::uint32_t>(kBase));
    seen.push_back(c.atomic_exchange<std::uint32_t>(kBase, 2));
    seen.push_back(c.load<std::uint32_t>(kBase));
    seen.push_back(c.atomic_fetch_add<std::uint32_t>(kBase, ~std::uint32_t{0}));  // minus one
    seen.push_back(c.load<std::uint32_t>(kBase));
    c.store<std::uint8_t>(kBase + 9, 255);
    seen.push_back(c.atomic_fetch_add<std::uint8_t>(kBase + 9, 1));  // wraps
    seen.push_back(c.load<std::uint8_t>(kBase + 9));
    seen.push_back(static_cast<std::uint64_t>(c.atomic_fetch_add<std::int64_t>(kBase + 16, -5)));
    seen.push_back(c.load<std::uint64_t>(kBase + 16));
  });
  hw.engine.run();
  CHECK(seen == std::vector<std::uint64_t>{7, 7, 7, 9, 9, 2, 2, 1, 255, 0, 0, static_cast<std::uint64_t>(-5)});
  CHECK(hw.machine().memory().read<std::uint32_t>(frame) == 1);
  CHECK(hw.cpu().stats().page_faults == 0);
}

TEST_CASE("an atomic operation on a read-only page faults as a write before it reads, even a failing compare") {
  BareMetal hw;
  Paging paging(hw.machine());
  paging.map(kBase, mmu::pte::kUser);  // read-only
  std::vector<cpu::TrapFrame> faults;
  hw.idt.set(cpu::vector::kPageFault, [&](cpu::Cpu&, cpu::TrapFrame& f) {
    faults.push_back(f);
    paging.table.update(f.fault_address, mmu::pte::kWritable, 0);
  });
  std::uint32_t old = 1;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    c.enter_user_mode();
    (void)c.load<std::uint32_t>(kBase);  // a read is allowed: the TLB holds a read-only entry
    old = c.atomic_compare_exchange<std::uint32_t>(kBase, 5, 6);
  });
  hw.engine.run();
  REQUIRE(faults.size() == 1);
  CHECK(faults[0].fault_address == kBase);
  CHECK(faults[0].error_code == (mmu::fault::kWrite | mmu::fault::kProtection | mmu::fault::kUser));
  CHECK(old == 0);
  CHECK((paging.table.lookup(kBase)->entry & mmu::pte::kDirty) != 0);
}

TEST_CASE("a misaligned atomic operation raises #GP and is not performed") {
  BareMetal hw;
  Paging paging(hw.machine());
  const mmu::PhysAddr frame = paging.map(kBase);
  int general_protection = 0;
  hw.idt.set(cpu::vector::kGeneralProtection, [&](cpu::Cpu&, cpu::TrapFrame&) { ++general_protection; });
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    c.atomic_exchange<std::uint32_t>(kBase + 2, 0xdead'beef);
  });
  hw.engine.run();
  // The handler never fixes the cause, so the CPU gives up after its retry limit.
  CHECK(general_protection > 0);
  CHECK(hw.cpu().state() == cpu::CpuState::kShutdown);
  CHECK(hw.machine().memory().read<std::uint64_t>(frame) == 0);
}

TEST_CASE("two CPUs adding to one counter lose updates with load and store but none with atomic_fetch_add") {
  const bool atomic = GENERATE(false, true);
  BareMetal hw(test::small_machine(2));
  Paging paging(hw.machine());
  const mmu::PhysAddr frame = paging.map(kBase);
  constexpr int kAdds = 500;
  for (unsigned index = 0; index < 2; ++index) {
    hw.run_on(index, [&, index] {
      cpu::Cpu& c = hw.cpu(index);
      paging.enable(c);
      for (int i = 0; i < kAdds; ++i) {
        if (atomic) {
          c.atomic_fetch_add<std::uint64_t>(kBase, 1);
        } else {
          const auto value = c.load<std::uint64_t>(kBase);
          c.store<std::uint64_t>(kBase, value + 1);
        }
        c.compute(10);
      }
    });
  }
  hw.engine.run();
  const auto total = hw.machine().memory().read<std::uint64_t>(frame);
  if (atomic) {
    CHECK(total == 2 * kAdds);
  } else {
    CHECK(total < 2 * kAdds);
  }
}
