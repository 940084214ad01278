// PageTable: building and editing x86-64 paging structures in simulated memory.

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <vector>

#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/page_table.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/mmu/pte.hpp"

using namespace ossim;
using namespace ossim::mmu;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t k2M = page_bytes(PageSize::k2M);
constexpr std::uint64_t k1G = page_bytes(PageSize::k1G);

// The entry at `level` (4 = PML4E ... 1 = PTE) on the path to `va`, read from memory by hand.
// Precondition: the tables above `level` exist.
PhysAddr entry_address(const PhysicalMemory& memory, PhysAddr root, VirtAddr va, unsigned level) {
  PhysAddr table = root;
  for (unsigned l = 4; l > level; --l) {
    table = pte::address(memory.read<pte::Entry>(table + ((va >> (12 + 9 * (l - 1))) & 511) * 8));
  }
  return table + ((va >> (12 + 9 * (level - 1))) & 511) * 8;
}

pte::Entry entry_at(const PhysicalMemory& memory, const PageTable& table, VirtAddr va, unsigned level) {
  return memory.read<pte::Entry>(entry_address(memory, table.root(), va, level));
}

struct Machine {
  PhysicalMemory memory{16 * kMiB};
  FrameAllocator frames{memory, 1};
};

}  // namespace

TEST_CASE("a mapped 4 KiB page is found by lookup at every offset, with its flags") {
  Machine m;
  PageTable table(m.memory, m.frames);
  CHECK(table.levels() == 4);
  CHECK(table.root() % kPageBytes == 0);
  const VirtAddr va = 0x7F12'3456'7000ULL;
  REQUIRE(table.map(va, 0x0123'4000, PageSize::k4K, pte::kWritable | pte::kUser));

  for (VirtAddr probe : {va, va + 1, va + 0xFFF}) {
    const auto mapping = table.lookup(probe);
    REQUIRE(mapping);
    CHECK(mapping->page_base == 0x0123'4000);
    CHECK(mapping->size == PageSize::k4K);
    CHECK(mapping->entry == (0x0123'4000 | pte::kPresent | pte::kWritable | pte::kUser));
    CHECK(m.memory.read<pte::Entry>(mapping->entry_address) == mapping->entry);
    CHECK(mapping->entry_address == entry_address(m.memory, table.root(), va, 1));
  }
  CHECK_FALSE(table.lookup(va - 1));
  CHECK_FALSE(table.lookup(va + kPageBytes));
  CHECK_FALSE(table.lookup(0));
}

TEST_CASE("mapping a page that is already mapped fails and keeps the old mapping") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x40'0000, 0x1000, PageSize::k4K, pte::kWritable));
  CHECK_FALSE(table.map(0x40'0000, 0x2000, PageSize::k4K, pte::kUser));
  const auto mapping = table.lookup(0x40'0000);
  REQUIRE(mapping);
  CHECK(mapping->page_base == 0x1000);
  CHECK(mapping->entry == (0x1000 | pte::kPresent | pte::kWritable));
}

TEST_CASE("misaligned or non-canonical mappings are refused") {
  Machine m;
  PageTable table(m.memory, m.frames);
  CHECK_FALSE(table.map(0x1234, 0x1000, PageSize::k4K, 0));      // virtual misaligned
  CHECK_FALSE(table.map(0x1000, 0x1234, PageSize::k4K, 0));      // physical misaligned
  CHECK_FALSE(table.map(0x1000, 0x1000, PageSize::k2M, 0));      // 4K-aligned, not 2M
  CHECK_FALSE(table.map(k2M, 0x1000, PageSize::k2M, 0));         // frame not 2M-aligned
  CHECK_FALSE(table.map(k2M, k2M, PageSize::k1G, 0));            // not 1G-aligned
  CHECK_FALSE(table.map(0x0000'8000'0000'0000ULL, 0, PageSize::k4K, 0));  // hole
  CHECK_FALSE(table.map(0xFFFF'7FFF'FFFF'F000ULL, 0, PageSize::k4K, 0));  // hole
  CHECK(table.table_frames() == 1);  // nothing was built
  // The canonical upper half is fine.
  CHECK(table.map(0xFFFF'8000'0000'0000ULL, 0x5000, PageSize::k4K, 0));
  CHECK(table.lookup(0xFFFF'8000'0000'0000ULL));
}

TEST_CASE("with 5-level paging, 57-bit addresses are canonical and lookup walks five levels") {
  Machine m;
  PageTable table(m.memory, m.frames, 5);
  CHECK(table.levels() == 5);
  const VirtAddr va = 0x0000'8000'0000'0000ULL;  // non-canonical with 4 levels
  REQUIRE(table.map(va, 0x9000, PageSize::k4K, 0));
  CHECK(table.table_frames() == 5);
  const auto mapping = table.lookup(va);
  REQUIRE(mapping);
  CHECK(mapping->page_base == 0x9000);
  CHECK_FALSE(table.lookup(0));  // same PML5 slot, but bit 47 selects PML4 slot 256
  CHECK_FALSE(table.map(0x0100'0000'0000'0000ULL, 0, PageSize::k4K, 0));
}

TEST_CASE("2 MiB and 1 GiB mappings set PS and lookup reports their size and base") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x20'0000, 0x60'0000, PageSize::k2M, pte::kWritable));
  REQUIRE(table.map(k1G, 3 * k1G, PageSize::k1G, 0));

  const auto two = table.lookup(0x20'0000 + 0x1'2345);
  REQUIRE(two);
  CHECK(two->size == PageSize::k2M);
  CHECK(two->page_base == 0x60'0000);
  CHECK((two->entry & pte::kPageSize) != 0);
  CHECK(two->entry_address == entry_address(m.memory, table.root(), 0x20'0000, 2));

  const auto one = table.lookup(k1G + 0x3FFF'FFFF);
  REQUIRE(one);
  CHECK(one->size == PageSize::k1G);
  CHECK(one->page_base == 3 * k1G);
  CHECK((one->entry & pte::kPageSize) != 0);
  CHECK(one->entry_address == entry_address(m.memory, table.root(), k1G, 3));

  CHECK_FALSE(table.lookup(0x40'0000));
  CHECK_FALSE(table.lookup(2 * k1G));
  CHECK(table.table_frames() == 3);  // PML4, PDPT, one PD: no page table for either
}

TEST_CASE("a large page cannot be mapped over an existing lower-level table") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x20'1000, 0x1000, PageSize::k4K, 0));
  const auto frames_before = table.table_frames();
  CHECK_FALSE(table.map(0x20'0000, 0x40'0000, PageSize::k2M, 0));
  CHECK_FALSE(table.map(0, 0, PageSize::k1G, 0));
  CHECK(table.table_frames() == frames_before);
  // The 4K page is intact, and a neighbouring 2 MiB range is still free for a large page.
  CHECK(table.lookup(0x20'1000)->page_base == 0x1000);
  CHECK(table.map(0x40'0000, 0x40'0000, PageSize::k2M, 0));
  // Even an emptied page table keeps its 2 MiB slot from becoming a large page.
  REQUIRE(table.unmap(0x20'1000));
  CHECK_FALSE(table.map(0x20'0000, 0x40'0000, PageSize::k2M, 0));
}

TEST_CASE("a refused user large page over an existing supervisor table changes no entry") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x20'1000, 0x1000, PageSize::k4K, 0));
  const pte::Entry pml4e = entry_at(m.memory, table, 0x20'0000, 4);
  const pte::Entry pdpte = entry_at(m.memory, table, 0x20'0000, 3);
  const pte::Entry pde = entry_at(m.memory, table, 0x20'0000, 2);
  CHECK_FALSE(table.map(0x20'0000, 0x40'0000, PageSize::k2M, pte::kUser));
  CHECK(entry_at(m.memory, table, 0x20'0000, 4) == pml4e);
  CHECK(entry_at(m.memory, table, 0x20'0000, 3) == pdpte);
  CHECK(entry_at(m.memory, table, 0x20'0000, 2) == pde);
}

TEST_CASE("a page cannot be mapped inside a large page") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x40'0000, 0x80'0000, PageSize::k2M, 0));
  REQUIRE(table.map(2 * k1G, 0, PageSize::k1G, 0));
  const auto frames_before = table.table_frames();
  CHECK_FALSE(table.map(0x40'0000, 0x1000, PageSize::k4K, 0));
  CHECK_FALSE(table.map(0x5F'F000, 0x1000, PageSize::k4K, 0));
  CHECK_FALSE(table.map(2 * k1G + 0x1000, 0x1000, PageSize::k4K, 0));
  CHECK_FALSE(table.map(2 * k1G + k2M, k2M, PageSize::k2M, 0));
  CHECK(table.table_frames() == frames_before);
  CHECK(table.lookup(0x40'3000)->page_base == 0x80'0000);
  CHECK(table.lookup(2 * k1G + 0x1000)->size == PageSize::k1G);
}

TEST_CASE("unmap returns the entry that was there and leaves the address unmapped") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x1000, 0x7000, PageSize::k4K, pte::kWritable | pte::kNoExecute));
  REQUIRE(table.map(0x2000, 0x8000, PageSize::k4K, 0));
  REQUIRE(table.map(0x40'0000, 0x60'0000, PageSize::k2M, 0));

  const auto old = table.unmap(0x1000 + 0x10);
  REQUIRE(old);
  CHECK(*old == (0x7000 | pte::kPresent | pte::kWritable | pte::kNoExecute));
  CHECK_FALSE(table.lookup(0x1000));
  CHECK_FALSE(table.unmap(0x1000));
  CHECK(table.lookup(0x2000));  // the neighbour stays

  const auto large = table.unmap(0x40'0000 + 0x5000);
  REQUIRE(large);
  CHECK((*large & pte::kPageSize) != 0);
  CHECK(pte::address(*large) == 0x60'0000);
  CHECK_FALSE(table.lookup(0x40'0000));

  CHECK(table.map(0x1000, 0x9000, PageSize::k4K, 0));  // the slot can be reused
  CHECK(table.lookup(0x1000)->page_base == 0x9000);
}

TEST_CASE("update sets and clears bits of the leaf only") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x3000, 0x5000, PageSize::k4K, pte::kWritable));
  const pte::Entry pde_before = entry_at(m.memory, table, 0x3000, 2);

  CHECK(table.update(0x3000, pte::kCopyOnWrite | pte::kNoExecute, pte::kWritable));
  CHECK(table.lookup(0x3000)->entry ==
        (0x5000 | pte::kPresent | pte::kCopyOnWrite | pte::kNoExecute));
  CHECK(entry_at(m.memory, table, 0x3000, 2) == pde_before);

  CHECK(table.update(0x3000, pte::kWritable, pte::kCopyOnWrite));
  CHECK(table.lookup(0x3000)->entry == (0x5000 | pte::kPresent | pte::kWritable | pte::kNoExecute));

  CHECK_FALSE(table.update(0x4000, pte::kWritable, 0));
  CHECK_FALSE(table.lookup(0x4000));
}

TEST_CASE("intermediate entries are present and writable, and gain US when a user page is mapped") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x1000, 0x1000, PageSize::k4K, 0));  // supervisor, read-only
  for (unsigned level = 4; level >= 2; --level) {
    const pte::Entry entry = entry_at(m.memory, table, 0x1000, level);
    CHECK(pte::present(entry));
    CHECK((entry & pte::kWritable) != 0);
    CHECK((entry & pte::kUser) == 0);
    CHECK((entry & (pte::kAccessed | pte::kPageSize | pte::kNoExecute)) == 0);
  }
  REQUIRE(table.map(0x2000, 0x2000, PageSize::k4K, pte::kUser));  // same tables
  for (unsigned level = 4; level >= 2; --level) {
    CHECK((entry_at(m.memory, table, 0x1000, level) & pte::kUser) != 0);
  }
  // The supervisor leaf keeps its own protection.
  CHECK((table.lookup(0x1000)->entry & pte::kUser) == 0);
}

TEST_CASE("table_frames counts the paging structures as they are created") {
  Machine m;
  const auto free_at_start = m.frames.free_frames();
  PageTable table(m.memory, m.frames);
  CHECK(table.table_frames() == 1);
  CHECK((m.memory.frame(frame_of(table.root())).flags & Frame::kPageTable) != 0);
  REQUIRE(table.map(0, 0, PageSize::k4K, 0));
  CHECK(table.table_frames() == 4);
  REQUIRE(table.map(0x1000, 0, PageSize::k4K, 0));  // same page table
  CHECK(table.table_frames() == 4);
  REQUIRE(table.map(k2M, 0, PageSize::k4K, 0));  // new page table
  CHECK(table.table_frames() == 5);
  REQUIRE(table.map(k1G, 0, PageSize::k2M, 0));  // new page directory
  CHECK(table.table_frames() == 6);
  REQUIRE(table.map(512 * k1G, 0, PageSize::k1G, 0));  // new PDPT
  CHECK(table.table_frames() == 7);
  CHECK(m.frames.free_frames() == free_at_start - 7);
}

TEST_CASE("destroying a page table returns all its table frames to the allocator") {
  Machine m;
  const auto free_at_start = m.frames.free_frames();
  const auto order0_at_start = m.frames.free_blocks(0);
  {
    PageTable table(m.memory, m.frames);
    for (VirtAddr va = 0; va < 64 * k2M; va += k2M / 4) {
      REQUIRE(table.map(va, 0x1000, PageSize::k4K, pte::kUser));
    }
    REQUIRE(table.map(100 * k1G, 0, PageSize::k1G, 0));
    REQUIRE(table.map(0xFFFF'8000'0000'0000ULL, 0, PageSize::k2M, 0));
    CHECK(m.frames.free_frames() == free_at_start - table.table_frames());
    CHECK(table.table_frames() > 64);
  }
  CHECK(m.frames.free_frames() == free_at_start);
  CHECK(m.frames.free_blocks(0) == order0_at_start);
}

TEST_CASE("two page tables on one allocator have separate roots and mappings") {
  Machine m;
  PageTable a(m.memory, m.frames);
  PageTable b(m.memory, m.frames);
  CHECK(a.root() != b.root());
  REQUIRE(a.map(0x1000, 0xA000, PageSize::k4K, 0));
  REQUIRE(b.map(0x1000, 0xB000, PageSize::k4K, 0));
  CHECK(a.lookup(0x1000)->page_base == 0xA000);
  CHECK(b.lookup(0x1000)->page_base == 0xB000);
}

// Regression (fixed): PageTable::map (src/mmu/page_table.cpp, the second entry_for call in map()) adds US
// to the upper-level entries on the way down before discovering the large page that makes
// the map fail, so a refused user mapping changes the tree despite the "changing nothing"
// contract in page_table.hpp.
TEST_CASE("a refused user mapping inside a supervisor large page changes no entry", "[regression]") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x20'0000, 0x20'0000, PageSize::k2M, pte::kWritable));
  const pte::Entry pml4e = entry_at(m.memory, table, 0x20'0000, 4);
  const pte::Entry pdpte = entry_at(m.memory, table, 0x20'0000, 3);
  REQUIRE_FALSE(table.map(0x20'1000, 0x1000, PageSize::k4K, pte::kUser));
  CHECK(entry_at(m.memory, table, 0x20'0000, 4) == pml4e);
  CHECK(entry_at(m.memory, table, 0x20'0000, 3) == pdpte);
}

// Regression (fixed): PageTable::map / entry_for (src/mmu/page_table.cpp) keeps the tables it created when
// a later table allocation fails, so a map refused for lack of frames changes the tree and
// consumes frames, despite the "changing nothing" contract in page_table.hpp.
TEST_CASE("a map refused for lack of frames changes nothing", "[regression]") {
  PhysicalMemory memory(3 * kPageBytes);
  FrameAllocator frames(memory);
  PageTable table(memory, frames);  // root; two frames left, a 4K map needs three
  REQUIRE(frames.free_frames() == 2);
  REQUIRE_FALSE(table.map(0x1000, 0x1000, PageSize::k4K, 0));
  CHECK(frames.free_frames() == 2);
  CHECK(table.table_frames() == 1);
  CHECK_FALSE(pte::present(memory.read<pte::Entry>(table.root())));
}

TEST_CASE("splitting a 2 MiB page gives 512 PTEs over the same frames with its flags and A/D bits", "[thp]") {
  Machine m;
  PageTable table(m.memory, m.frames);
  const pte::Entry flags = pte::kWritable | pte::kUser | pte::kAccessed | pte::kDirty | pte::kCopyOnWrite;
  REQUIRE(table.map(0x20'0000, 0x60'0000, PageSize::k2M, flags));
  const std::uint64_t tables_before = table.table_frames();
  REQUIRE(table.split_large_page(0x20'0000 + 0x1'2345));
  CHECK(table.table_frames() == tables_before + 1);
  for (std::uint64_t i : {0, 1, 300, 511}) {
    const auto leaf = table.lookup(0x20'0000 + i * kPageBytes);
    REQUIRE(leaf);
    CHECK(leaf->size == PageSize::k4K);
    CHECK(leaf->page_base == 0x60'0000 + i * kPageBytes);
    CHECK((leaf->entry & ~pte::kAddressMask) == (flags | pte::kPresent));
  }
  // The PDE now points to the table: permissive, as upper levels are.
  const pte::Entry pde = entry_at(m.memory, table, 0x20'0000, 2);
  CHECK((pde & pte::kPageSize) == 0);
  CHECK((pde & (pte::kPresent | pte::kWritable | pte::kUser)) == (pte::kPresent | pte::kWritable | pte::kUser));
  // Nothing left to split.
  CHECK_FALSE(table.split_large_page(0x20'0000));
}

TEST_CASE("slot_empty: a 2 MiB slot is empty only with no page and no table under it", "[thp]") {
  Machine m;
  PageTable table(m.memory, m.frames);
  CHECK(table.slot_empty(0x20'0000, PageSize::k2M));  // no tables at all yet
  REQUIRE(table.map(0x40'0000, 0x60'0000, PageSize::k2M, 0));
  CHECK_FALSE(table.slot_empty(0x40'0000, PageSize::k2M));
  CHECK(table.slot_empty(0x20'0000, PageSize::k2M));  // the PD exists, this entry is free
  REQUIRE(table.map(0x80'0000, 0x10'0000, PageSize::k4K, 0));
  REQUIRE(table.unmap(0x80'0000));
  CHECK_FALSE(table.slot_empty(0x80'0000, PageSize::k2M));  // an empty page table is still there
  CHECK_FALSE(table.slot_empty(0x40'1000, PageSize::k4K));  // inside the 2 MiB page
}

TEST_CASE("a split with no frame free for the table changes nothing", "[thp]") {
  Machine m;
  PageTable table(m.memory, m.frames);
  REQUIRE(table.map(0x20'0000, 0x60'0000, PageSize::k2M, pte::kWritable));
  std::vector<FrameNumber> held;
  while (const auto frame = m.frames.allocate(0)) held.push_back(*frame);
  CHECK_FALSE(table.split_large_page(0x20'0000));
  const auto mapping = table.lookup(0x20'0000);
  REQUIRE(mapping);
  CHECK(mapping->size == PageSize::k2M);
  for (FrameNumber frame : held) m.frames.free(frame);
}

TEST_CASE("a walk prefetched a step at a time follows the walk's entries and changes nothing") {
  Machine m;
  PageTable table(m.memory, m.frames);
  const VirtAddr va = 0x7F12'3456'7ABCULL;
  const VirtAddr huge = 0x4000'0000ULL + 0x12'3456;  // in a 2 MiB page
  REQUIRE(table.map(va & ~(kPageBytes - 1), 0x0123'4000, PageSize::k4K, pte::kWritable | pte::kUser));
  REQUIRE(table.map(huge & ~(k2M - 1), 4 * k2M, PageSize::k2M, pte::kWritable | pte::kUser));
  std::vector<std::byte> before(m.memory.size_bytes());
  m.memory.read_bytes(0, before.data(), before.size());

  PageTable::WalkPrefetch walk = table.start_prefetch_walk(va);
  for (unsigned level = 4; level >= 1; --level) {
    CHECK(walk.level == level);
    CHECK(walk.entry == entry_address(m.memory, table.root(), va, level));
    table.step_prefetch_walk(va, walk);
  }
  CHECK(walk.level == 0);  // the last step fetched the data
  table.step_prefetch_walk(va, walk);
  CHECK(walk.level == 0);

  // A large page ends the walk a level early; an absent entry ends it where it is.
  walk = table.start_prefetch_walk(huge);
  table.step_prefetch_walk(huge, walk);
  table.step_prefetch_walk(huge, walk);
  CHECK(walk.level == 2);
  table.step_prefetch_walk(huge, walk);
  CHECK(walk.level == 0);
  const VirtAddr unmapped = 0x1000'0000'0000ULL;  // a root entry no mapping uses
  walk = table.start_prefetch_walk(unmapped);
  table.step_prefetch_walk(unmapped, walk);
  CHECK(walk.level == 0);

  std::vector<std::byte> after(m.memory.size_bytes());
  m.memory.read_bytes(0, after.data(), after.size());
  CHECK(after == before);
}
