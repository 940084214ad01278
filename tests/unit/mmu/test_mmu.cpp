// Mmu: one CPU's TLB hierarchy in front of the page walker, and its CR3/invlpg/invpcid rules.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/mmu.hpp"
#include "ossim/mmu/page_table.hpp"
#include "ossim/mmu/page_walker.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/mmu/pte.hpp"
#include "ossim/sim/random.hpp"

using namespace ossim;
using namespace ossim::mmu;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t k2M = page_bytes(PageSize::k2M);
constexpr std::uint64_t k1G = page_bytes(PageSize::k1G);
constexpr std::uint64_t kNoFlush = std::uint64_t{1} << 63;
constexpr AccessType kRead = AccessType::kRead;
constexpr AccessType kWrite = AccessType::kWrite;
constexpr AccessType kFetch = AccessType::kExecute;
constexpr bool kUserMode = true;
constexpr bool kSupervisor = false;

constexpr sim::Tick kWalkLevel = 10 * sim::kNanosecond;
constexpr sim::Tick kStlbHit = 2 * sim::kNanosecond;

MmuConfig config(bool with_stlb) {
  MmuConfig c;
  c.walk_latency_per_level = kWalkLevel;
  c.stlb_hit_latency = kStlbHit;
  if (!with_stlb) c.stlb.reset();
  return c;
}

// A machine with one address space loaded and paging on, PCIDs off, global pages on.
struct Machine {
  explicit Machine(bool with_stlb = true) : mmu(memory, config(with_stlb), sim::RandomStream(42, "mmu")) {
    mmu.set_paging_enabled(true);
    mmu.load_cr3(table.root());
  }

  Translation read(VirtAddr va) { return mmu.translate(va, kRead, kSupervisor); }
  Translation write(VirtAddr va) { return mmu.translate(va, kWrite, kSupervisor); }
  std::uint64_t walks() const { return mmu.stats().walks; }

  PhysicalMemory memory{16 * kMiB};
  FrameAllocator frames{memory, 1};
  PageTable table{memory, frames};
  Mmu mmu;
};

}  // namespace

TEST_CASE("with paging off a virtual address is the physical address, with no walk") {
  Machine m;
  m.mmu.set_paging_enabled(false);
  const Translation t = m.mmu.translate(0x12'3456, kWrite, kUserMode);
  CHECK(t.ok);
  CHECK(t.address == 0x12'3456);
  CHECK(t.latency == 0);
  CHECK(m.walks() == 0);
  CHECK(m.mmu.dtlb().stats().misses == 0);
}

TEST_CASE("the first access walks and the second hits the L1 TLB with no added latency") {
  Machine m;
  REQUIRE(m.table.map(0x40'0000, 0x8000, PageSize::k4K, pte::kWritable));
  const Translation first = m.read(0x40'0123);
  REQUIRE(first.ok);
  CHECK(first.address == 0x8123);
  CHECK(m.walks() == 1);
  CHECK(m.mmu.stats().walk_entries_read == 4);

  const Translation second = m.read(0x40'0FFF);
  REQUIRE(second.ok);
  CHECK(second.address == 0x8FFF);
  CHECK(second.latency == 0);
  CHECK(m.walks() == 1);
  CHECK(m.mmu.dtlb().stats().hits == 1);
  CHECK(m.mmu.itlb().stats().hits + m.mmu.itlb().stats().misses == 0);  // data only
}

TEST_CASE("a walk costs entries read times the per-level latency, plus the STLB lookup") {
  SECTION("with a second-level TLB") {
    Machine m(true);
    REQUIRE(m.mmu.stlb() != nullptr);
    REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, 0));
    REQUIRE(m.table.map(k2M, 0x60'0000, PageSize::k2M, 0));
    REQUIRE(m.table.map(k1G, 2 * k1G, PageSize::k1G, 0));
    CHECK(m.read(0x1000).latency == kStlbHit + 4 * kWalkLevel);
    CHECK(m.read(k2M + 0x5555).latency == kStlbHit + 3 * kWalkLevel);
    const Translation huge = m.read(k1G + 0x1234'5678);
    CHECK(huge.latency == kStlbHit + 2 * kWalkLevel);
    CHECK(huge.address == 2 * k1G + 0x1234'5678);
    const Translation missing = m.read(0x7000'0000'0000);  // fault after one entry
    CHECK_FALSE(missing.ok);
    CHECK(missing.latency == kStlbHit + 1 * kWalkLevel);
    CHECK(m.mmu.stats().walk_entries_read == 4 + 3 + 2 + 1);
  }
  SECTION("without one") {
    Machine m(false);
    REQUIRE(m.mmu.stlb() == nullptr);
    REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, 0));
    REQUIRE(m.table.map(k2M, 0x60'0000, PageSize::k2M, 0));
    CHECK(m.read(0x1000).latency == 4 * kWalkLevel);
    CHECK(m.read(k2M).latency == 3 * kWalkLevel);
    CHECK(m.read(0x1000).latency == 0);
  }
}

TEST_CASE("an L1 miss that hits the STLB costs only the STLB latency and does not walk") {
  Machine m;
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, 0));
  REQUIRE(m.read(0x1000).ok);  // fills the DTLB and the STLB
  REQUIRE(m.walks() == 1);

  // A fetch misses the ITLB and finds the unified STLB's entry.
  const Translation fetch = m.mmu.translate(0x1010, kFetch, kSupervisor);
  REQUIRE(fetch.ok);
  CHECK(fetch.address == 0x5010);
  CHECK(fetch.latency == kStlbHit);
  CHECK(m.walks() == 1);
  CHECK(m.mmu.stlb()->stats().hits == 1);
  // ...and the ITLB now has it.
  CHECK(m.mmu.translate(0x1020, kFetch, kSupervisor).latency == 0);

  m.mmu.dtlb().flush(true);
  const Translation reread = m.read(0x1000);
  CHECK(reread.latency == kStlbHit);
  CHECK(m.walks() == 1);
}

TEST_CASE("a write through a clean TLB entry walks again and sets D in the PTE") {
  Machine m;
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, pte::kWritable));
  REQUIRE(m.read(0x1000).ok);
  CHECK((m.table.lookup(0x1000)->entry & pte::kDirty) == 0);
  CHECK((m.table.lookup(0x1000)->entry & pte::kAccessed) != 0);

  const Translation write = m.write(0x1008);
  REQUIRE(write.ok);
  CHECK(write.address == 0x5008);
  CHECK(write.latency == 4 * kWalkLevel);  // a re-walk from an L1 hit: no STLB lookup
  CHECK(m.walks() == 2);
  CHECK((m.table.lookup(0x1000)->entry & pte::kDirty) != 0);

  CHECK(m.write(0x1010).latency == 0);  // the refilled entry is dirty
  CHECK(m.walks() == 2);
  CHECK(m.mmu.dtlb().occupancy() == 1);
}

TEST_CASE("a TLB hit whose permissions forbid the access faults with P set, without a walk") {
  Machine m;
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, 0));  // supervisor, read-only
  REQUIRE(m.read(0x1000).ok);
  REQUIRE(m.walks() == 1);

  const Translation write = m.write(0x1000);
  CHECK_FALSE(write.ok);
  CHECK(write.error_code == (fault::kProtection | fault::kWrite));
  CHECK(write.latency == 0);
  CHECK(m.walks() == 1);
  CHECK(m.mmu.stats().page_faults == 1);
  // The fault invalidated the entry everywhere: the next read walks.
  CHECK(m.mmu.dtlb().occupancy() == 0);
  CHECK(m.mmu.stlb()->occupancy() == 0);
  REQUIRE(m.read(0x1000).ok);
  CHECK(m.walks() == 2);

  const Translation user = m.mmu.translate(0x1000, kRead, kUserMode);
  CHECK_FALSE(user.ok);
  CHECK(user.error_code == (fault::kProtection | fault::kUser));
  CHECK(m.walks() == 2);
}

TEST_CASE("after a write fault on a stale read-only entry, the retried write walks and succeeds") {
  Machine m;
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, pte::kUser | pte::kCopyOnWrite));
  REQUIRE(m.mmu.translate(0x1000, kRead, kUserMode).ok);
  // The kernel resolves copy-on-write by making the PTE writable, without invlpg.
  REQUIRE(m.table.update(0x1000, pte::kWritable, pte::kCopyOnWrite));
  const Translation faulted = m.mmu.translate(0x1000, kWrite, kUserMode);
  CHECK_FALSE(faulted.ok);  // the stale entry still says read-only
  CHECK(faulted.error_code == (fault::kProtection | fault::kWrite | fault::kUser));
  const Translation retried = m.mmu.translate(0x1000, kWrite, kUserMode);
  CHECK(retried.ok);
  CHECK(retried.address == 0x5000);
}

TEST_CASE("a stale TLB entry keeps translating after the PTE changes, until invlpg") {
  Machine m;
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, 0));
  REQUIRE(m.table.map(0x2000, 0x6000, PageSize::k4K, 0));
  REQUIRE(m.read(0x1000).address == 0x5000);
  REQUIRE(m.read(0x2000).address == 0x6000);
  REQUIRE(m.table.unmap(0x1000));
  REQUIRE(m.table.map(0x1000, 0x9000, PageSize::k4K, 0));
  CHECK(m.read(0x1000).address == 0x5000);  // stale
  m.mmu.invlpg(0x1ABC);
  CHECK(m.read(0x1000).address == 0x9000);
  CHECK(m.walks() == 3);
  CHECK(m.read(0x2000).latency == 0);  // invlpg touched only its page

  REQUIRE(m.table.unmap(0x1000));
  CHECK(m.read(0x1000).ok);  // stale again
  m.mmu.invlpg(0x1000);
  const Translation gone = m.read(0x1000);
  CHECK_FALSE(gone.ok);
  CHECK(gone.error_code == 0);
}

TEST_CASE("a CR3 load without PCIDs flushes non-global entries and keeps global ones") {
  Machine m;
  PagingMode mode;
  mode.global_pages = true;
  m.mmu.set_mode(mode, false);
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, pte::kGlobal));
  REQUIRE(m.table.map(0x2000, 0x6000, PageSize::k4K, 0));
  REQUIRE(m.read(0x1000).ok);
  REQUIRE(m.read(0x2000).ok);
  REQUIRE(m.walks() == 2);

  m.mmu.load_cr3(m.table.root());
  CHECK(m.read(0x1000).latency == 0);
  CHECK(m.walks() == 2);
  CHECK(m.read(0x2000).latency > 0);
  CHECK(m.walks() == 3);
  // Without CR4.PGE the G bit means nothing.
  mode.global_pages = false;
  m.mmu.set_mode(mode, false);
  REQUIRE(m.read(0x1000).ok);
  m.mmu.load_cr3(m.table.root());
  const auto walks = m.walks();
  REQUIRE(m.read(0x1000).ok);
  CHECK(m.walks() == walks + 1);
}

TEST_CASE("with PCIDs, switching with the no-flush bit keeps both address spaces' entries") {
  Machine m;
  PageTable other(m.memory, m.frames);
  REQUIRE(m.table.map(0x1000, 0xA000, PageSize::k4K, 0));
  REQUIRE(other.map(0x1000, 0xB000, PageSize::k4K, 0));
  m.mmu.set_mode(PagingMode{}, true);

  m.mmu.load_cr3(m.table.root() | 1);
  CHECK(m.mmu.pcid() == 1);
  CHECK(m.mmu.root() == m.table.root());
  CHECK(m.read(0x1000).address == 0xA000);
  m.mmu.load_cr3(other.root() | 2);
  CHECK(m.mmu.root() == other.root());
  CHECK(m.read(0x1000).address == 0xB000);
  CHECK(m.walks() == 2);

  m.mmu.load_cr3(m.table.root() | 1 | kNoFlush);
  const Translation back = m.read(0x1000);
  CHECK(back.address == 0xA000);
  CHECK(back.latency == 0);
  m.mmu.load_cr3(other.root() | 2 | kNoFlush);
  CHECK(m.read(0x1000).address == 0xB000);
  CHECK(m.walks() == 2);

  // Without the bit, the PCID being loaded is flushed, and only that one.
  m.mmu.load_cr3(m.table.root() | 1);
  CHECK(m.read(0x1000).address == 0xA000);
  CHECK(m.walks() == 3);
  m.mmu.load_cr3(other.root() | 2 | kNoFlush);
  CHECK(m.read(0x1000).latency == 0);
  CHECK(m.walks() == 3);
}

TEST_CASE("changing global_pages or pcid_enabled flushes every entry, global ones included") {
  Machine m;
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, pte::kGlobal));
  auto fill = [&] {
    REQUIRE(m.read(0x1000).ok);
    REQUIRE(m.mmu.translate(0x1000, kFetch, kSupervisor).ok);
    REQUIRE(m.mmu.dtlb().occupancy() == 1);
    REQUIRE(m.mmu.itlb().occupancy() == 1);
  };
  auto empty = [&] {
    return m.mmu.dtlb().occupancy() + m.mmu.itlb().occupancy() + m.mmu.stlb()->occupancy() == 0;
  };
  PagingMode mode;
  fill();
  m.mmu.set_mode(mode, false);  // no change: nothing flushed
  CHECK_FALSE(empty());

  mode.global_pages = false;
  m.mmu.set_mode(mode, false);
  CHECK(empty());
  fill();
  m.mmu.set_mode(mode, true);
  CHECK(m.mmu.pcid_enabled());
  CHECK(empty());
  fill();
  m.mmu.set_mode(mode, false);
  CHECK(empty());
  CHECK(m.mmu.pcid() == 0);
}

TEST_CASE("INVPCID: individual address, single context, all, and all but global") {
  Machine m;
  PagingMode mode;
  m.mmu.set_mode(mode, true);
  PageTable other(m.memory, m.frames);
  for (PageTable* t : {&m.table, &other}) {
    REQUIRE(t->map(0x1000, 0x5000, PageSize::k4K, 0));
    REQUIRE(t->map(0x2000, 0x6000, PageSize::k4K, 0));
    REQUIRE(t->map(0x3000, 0x7000, PageSize::k4K, pte::kGlobal));
  }
  // Fills 0x1000 and 0x2000 under PCIDs 1 and 2, and the global 0x3000 once.
  auto fill = [&] {
    m.mmu.flush_all(true);
    for (std::uint64_t cr3 : {other.root() | 2 | kNoFlush, m.table.root() | 1 | kNoFlush}) {
      m.mmu.load_cr3(cr3);
      for (VirtAddr va : {0x1000, 0x2000, 0x3000}) REQUIRE(m.read(va).ok);
    }
  };
  // Whether the DTLB holds a translation of `va` usable under `pcid`.
  auto cached = [&](VirtAddr va, std::uint16_t pcid) { return m.mmu.dtlb().lookup(va, pcid) != nullptr; };

  SECTION("individual address removes one page of one PCID and keeps globals") {
    fill();
    m.mmu.invpcid(InvpcidType::kIndividualAddress, 2, 0x1000);
    m.mmu.invpcid(InvpcidType::kIndividualAddress, 2, 0x3000);
    CHECK_FALSE(cached(0x1000, 2));
    CHECK(cached(0x2000, 2));
    CHECK(cached(0x1000, 1));
    CHECK(cached(0x3000, 2));
  }
  SECTION("single context removes one PCID's non-global entries") {
    fill();
    m.mmu.invpcid(InvpcidType::kSingleContext, 2, 0);
    CHECK_FALSE(cached(0x1000, 2));
    CHECK_FALSE(cached(0x2000, 2));
    CHECK(cached(0x1000, 1));
    CHECK(cached(0x2000, 1));
    CHECK(cached(0x3000, 2));
  }
  SECTION("all contexts including globals empties every TLB") {
    fill();
    m.mmu.invpcid(InvpcidType::kAllIncludingGlobal, 0, 0);
    CHECK(m.mmu.dtlb().occupancy() == 0);
    CHECK(m.mmu.stlb()->occupancy() == 0);
  }
  SECTION("all contexts except globals keeps only the global entry") {
    fill();
    m.mmu.invpcid(InvpcidType::kAllExceptGlobal, 0, 0);
    CHECK(m.mmu.dtlb().occupancy() == 1);
    CHECK(cached(0x3000, 2));
    CHECK_FALSE(cached(0x1000, 1));
  }
}

TEST_CASE("invlpg removes the page for the current PCID and its global entry, not other PCIDs'") {
  Machine m;
  m.mmu.set_mode(PagingMode{}, true);
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, 0));
  REQUIRE(m.table.map(0x3000, 0x7000, PageSize::k4K, pte::kGlobal));
  m.mmu.load_cr3(m.table.root() | 2);
  REQUIRE(m.read(0x1000).ok);
  m.mmu.load_cr3(m.table.root() | 1);
  REQUIRE(m.read(0x1000).ok);
  REQUIRE(m.read(0x3000).ok);
  m.mmu.invlpg(0x1000);
  m.mmu.invlpg(0x3000);
  CHECK(m.mmu.dtlb().lookup(0x1000, 1) == nullptr);
  CHECK(m.mmu.dtlb().lookup(0x3000, 1) == nullptr);
  CHECK(m.mmu.dtlb().lookup(0x1000, 2) != nullptr);
}

// Intel SDM 4.10.4.1: a #PF invalidates the faulting address's entries in every TLB. A
// data access that faults after missing the dTLB and the STLB still finds an iTLB entry
// for the page (filled by an earlier fetch) and removes it, whether the walk stopped at
// the leaf or above it.
TEST_CASE("a page fault removes the faulting page's entry from the other L1 TLB too") {
  Machine m;
  constexpr VirtAddr kPage = 0x40'0000;
  REQUIRE(m.table.map(kPage, 0x20'0000, PageSize::k4K, pte::kWritable | pte::kUser));
  REQUIRE(m.mmu.translate(kPage, kFetch, kUserMode).ok);
  REQUIRE(m.mmu.itlb().lookup(kPage, m.mmu.pcid()) != nullptr);
  m.mmu.stlb()->invalidate_page(kPage, m.mmu.pcid());  // only the iTLB holds the page now

  const PhysAddr leaf = m.table.lookup(kPage)->entry_address;
  std::uint32_t expected = fault::kUser;
  SECTION("the leaf is not present") { m.memory.write<pte::Entry>(leaf, 0); }
  SECTION("a table above the leaf is not present") {
    PhysAddr table = m.table.root();
    PhysAddr pde = 0;
    for (unsigned shift = 39; shift >= 21; shift -= 9) {
      pde = table + ((kPage >> shift) & 511) * 8;
      table = pte::address(m.memory.read<pte::Entry>(pde));
    }
    m.memory.write<pte::Entry>(pde, 0);
  }
  SECTION("the walk reaches a leaf that forbids the access") {
    m.memory.write<pte::Entry>(leaf, m.memory.read<pte::Entry>(leaf) & ~pte::kUser);
    expected |= fault::kProtection;
  }
  const std::uint64_t faults = m.mmu.stats().page_faults;
  const Translation t = m.mmu.translate(kPage, kRead, kUserMode);
  CHECK_FALSE(t.ok);
  CHECK(t.error_code == expected);
  CHECK(m.mmu.stats().page_faults == faults + 1);
  CHECK(m.mmu.itlb().lookup(kPage, m.mmu.pcid()) == nullptr);
  CHECK(m.mmu.dtlb().occupancy() == 0);
  CHECK(m.mmu.stlb()->occupancy() == 0);
}

TEST_CASE("CR0.WP changes take effect on TLB-resident entries without a flush") {
  Machine m;
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, 0));
  PagingMode mode;
  mode.write_protect = false;
  m.mmu.set_mode(mode, false);
  REQUIRE(m.write(0x1000).ok);  // the kernel may write a read-only page
  mode.write_protect = true;
  m.mmu.set_mode(mode, false);
  const Translation write = m.write(0x1000);
  CHECK_FALSE(write.ok);
  CHECK(write.error_code == (fault::kProtection | fault::kWrite));
}

TEST_CASE("stats count walks, entries read and page faults") {
  Machine m;
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, pte::kNoExecute));
  REQUIRE(m.read(0x1000).ok);                                    // walk
  REQUIRE(m.read(0x1000).ok);                                    // hit
  REQUIRE_FALSE(m.read(0x2000).ok);                              // walk, not present
  REQUIRE_FALSE(m.mmu.translate(0x1000, kFetch, kSupervisor).ok);  // STLB hit forbids: no walk
  REQUIRE_FALSE(m.mmu.translate(0x1000, kFetch, kSupervisor).ok);  // walk, NX
  CHECK(m.mmu.stats().walks == 3);
  CHECK(m.mmu.stats().walk_entries_read == 12);
  CHECK(m.mmu.stats().page_faults == 3);
}

// Regression (fixed): Tlb::insert (src/mmu/tlb.cpp) only replaces an existing entry with the same PCID, so
// refilling a global page under a second PCID adds a duplicate, and Tlb::lookup keeps
// returning the older, clean entry. Mmu::translate then re-walks on every write to a global
// page first filled under another PCID (the D-bit re-walk of Mmu::retry_hit never sticks).
TEST_CASE("a write to a clean global page under another PCID walks once, then hits", "[regression]") {
  Machine m;
  m.mmu.set_mode(PagingMode{}, true);
  REQUIRE(m.table.map(0x1000, 0x5000, PageSize::k4K, pte::kWritable | pte::kGlobal));
  m.mmu.load_cr3(m.table.root() | 1);
  REQUIRE(m.read(0x1000).ok);  // a clean global entry, filled under PCID 1
  m.mmu.load_cr3(m.table.root() | 2);
  REQUIRE(m.write(0x1000).ok);  // walks to set D
  REQUIRE(m.walks() == 2);
  CHECK(m.write(0x1000).latency == 0);
  CHECK(m.write(0x1000).latency == 0);
  CHECK(m.walks() == 2);
  CHECK(m.mmu.dtlb().occupancy() == 1);
}

// A TLB miss whose walk needs no A or D bit set takes a one-pass walk and builds the entry
// straight from the bits read; anything else (a fault, a large page, a bit to set) takes
// the level-by-level walk. Both must be the same hardware: each miss below is checked
// against PageWalker::walk on an identical copy of memory, first (A bits to set) and
// again (the one-pass case where it applies), through translate() and through the CPU's
// entry, translate_l1_miss().
TEST_CASE("every TLB miss translates and fills as the level-by-level walk says, whichever walk serves it") {
  Machine m;
  PhysicalMemory reference_memory{16 * kMiB};
  FrameAllocator reference_frames{reference_memory, 1};
  PageTable reference_table{reference_memory, reference_frames};
  PageWalker reference{reference_memory};
  const pte::Entry kinds[] = {pte::kWritable | pte::kUser,
                              pte::kUser,
                              pte::kWritable,
                              pte::kWritable | pte::kUser | pte::kNoExecute,
                              pte::kWritable | pte::kUser | pte::kGlobal,
                              pte::kUser | pte::kGlobal,
                              0};
  std::vector<VirtAddr> addresses;
  for (PageTable* table : {&m.table, &reference_table}) {
    for (unsigned i = 0; i < std::size(kinds); ++i) {
      REQUIRE(table->map(0x40'0000 + i * 0x1000, 0x20'0000 + i * 0x1000, PageSize::k4K, kinds[i]));
    }
    REQUIRE(table->map(0x80'0000, 0xA0'0000, PageSize::k2M, pte::kWritable | pte::kUser));
    REQUIRE(table->map(k1G, 2 * k1G, PageSize::k1G, pte::kUser));
    // A frame beyond RAM: translates, but has no host bytes.
    REQUIRE(table->map(0x60'0000, 64 * kMiB, PageSize::k4K, pte::kWritable | pte::kUser));
  }
  REQUIRE(m.table.root() == reference_table.root());
  for (unsigned i = 0; i < std::size(kinds); ++i) addresses.push_back(0x40'0000 + i * 0x1000 + 0x123);
  addresses.push_back(0x81'2345);           // 2 MiB page
  addresses.push_back(k1G + 0x1234'5678);   // 1 GiB page
  addresses.push_back(0x60'0010);           // outside RAM
  addresses.push_back(0x7000'0000'0000);    // not mapped
  addresses.push_back(0x41'0123);           // not present, in a leaf table that is

  const auto check_miss = [&](VirtAddr va, AccessType type, bool user, const PagingMode& mode) {
    m.mmu.flush_all(true);
    const std::uint64_t walks = m.walks();
    const Translation t = m.mmu.translate(va, type, user);
    const WalkResult walk = reference.walk(reference_table.root(), va, type, user, mode);
    INFO("va " << va << " access " << static_cast<int>(type) << " user " << user << " wp " << mode.write_protect
               << " smep " << mode.smep << " pge " << mode.global_pages);
    REQUIRE(t.ok == walk.ok);
    CHECK(m.walks() == walks + 1);
    CHECK(t.latency == kStlbHit + walk.entries_read * kWalkLevel);
    Tlb& l1 = type == kFetch ? m.mmu.itlb() : m.mmu.dtlb();
    if (!walk.ok) {
      CHECK(t.error_code == walk.error_code);
      CHECK(l1.occupancy() == 0);
    } else {
      CHECK(t.address == walk.page_base + (va & (page_bytes(walk.page_size) - 1)));
      CHECK((t.host != nullptr) == m.memory.contains(walk.page_base, page_bytes(walk.page_size)));
      if (t.host != nullptr) CHECK(t.host == m.memory.host(t.address));
      for (Tlb* tlb : {&l1, m.mmu.stlb()}) {
        const TlbEntry* entry = tlb->lookup(va, m.mmu.pcid());
        REQUIRE(entry != nullptr);
        CHECK(entry->page_base == walk.page_base);
        CHECK(entry->size() == walk.page_size);
        CHECK(entry->has(TlbEntry::kWritable) == walk.permissions.writable);
        CHECK(entry->has(TlbEntry::kUser) == walk.permissions.user);
        CHECK(entry->has(TlbEntry::kExecutable) == walk.permissions.executable);
        CHECK(entry->has(TlbEntry::kGlobal) == walk.global);
        CHECK(entry->has(TlbEntry::kDirty) == walk.dirty);
      }
    }
    // The CPU's entry to a miss (translate_l1_miss, which returns the filled L1 entry) comes
    // to the same translation, and the entry it returns serves the access as a hit.
    m.mmu.flush_all(true);
    std::uint32_t error_code = 0;
    const Mmu::MissFill fill = m.mmu.translate_l1_miss(va, type, user, error_code);
    CHECK(fill.latency == t.latency);
    REQUIRE((fill.entry != nullptr) == t.ok);
    if (fill.entry != nullptr) {
      CHECK(fill.entry == l1.lookup(va, m.mmu.pcid()));
      CHECK(fill.entry->page_base + (va & (page_bytes(fill.entry->size()) - 1)) == t.address);
      CHECK(fill.entry->host_address(va) == t.host);
      CHECK(Mmu::allows(*fill.entry, type, user));
    } else {
      CHECK(error_code == t.error_code);
    }
    // The same bits were set (A, and D for a write), or none.
    const std::size_t table_bytes = 16 * kMiB;
    for (PhysAddr at = 0; at < table_bytes; at += kPageBytes) {
      if ((m.memory.frame(frame_of(at)).flags & Frame::kPageTable) == 0) continue;
      REQUIRE(std::memcmp(m.memory.host(at), reference_memory.host(at), kPageBytes) == 0);
    }
  };
  for (const bool write_protect : {true, false}) {
    for (const bool smep : {false, true}) {
      for (const bool global_pages : {true, false}) {
        const PagingMode mode{write_protect, global_pages, smep, false};
        m.mmu.set_mode(mode, false);
        for (const VirtAddr va : addresses) {
          for (const AccessType type : {kRead, kFetch, kWrite}) {
            for (const bool user : {kUserMode, kSupervisor}) {
              check_miss(va, type, user, mode);
              check_miss(va, type, user, mode);
            }
          }
        }
      }
    }
  }
}
