// Transparent huge pages: when anonymous private memory gets 2 MiB pages (the setting and
// madvise), what the TLB gains, and every place a 2 MiB mapping meets other code: partial
// munmap, mprotect and MADV_DONTNEED split it keeping the data, fork shares it
// copy-on-write with exact refcounts, exit frees its frames, and a fragmented memory falls
// back to 4 KiB pages. madvise's errors are Linux's.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "kernel_fixture.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/page_cache.hpp"

using namespace ossim;
using testing::await;
using testing::errno_of;
using testing::KernelFixture;
using testing::notify;

namespace {

constexpr int kReadWrite = sys::kProtRead | sys::kProtWrite;
constexpr int kPrivateAnonFixed = sys::kMapPrivate | sys::kMapAnonymous | sys::kMapFixed;
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kHuge = std::uint64_t{2} << 20;
constexpr std::uint64_t kPagesPerHuge = kHuge / kPage;
/// A 2 MiB-aligned address for the test regions (1 GiB).
constexpr mmu::VirtAddr kBase = 0x40000000;

kernel::KernelConfig config_with(kernel::TransparentHugepages mode) {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.memory.transparent_hugepages = mode;
  return config;
}

kernel::AddressSpace& mm_of(KernelFixture& f, user::Process& self) { return *f.core().find_task(self.getpid())->mm; }

/// The size of the page mapping `address` (k4K when nothing maps it: callers check that).
mmu::PageSize page_size_at(KernelFixture& f, user::Process& self, mmu::VirtAddr address) {
  const auto mapping = mm_of(f, self).page_table().lookup(address);
  return mapping ? mapping->size : mmu::PageSize::k4K;
}

bool mapped(KernelFixture& f, user::Process& self, mmu::VirtAddr address) {
  return mm_of(f, self).page_table().lookup(address).has_value();
}

/// Maps `bytes` of anonymous private memory at kBase, madvised MADV_HUGEPAGE.
void map_huge_region(user::Process& self, std::uint64_t bytes) {
  REQUIRE(self.mmap(kBase, bytes, kReadWrite, kPrivateAnonFixed) == static_cast<std::int64_t>(kBase));
  REQUIRE(self.madvise(kBase, bytes, sys::kMadvHugepage) == 0);
}

/// A value for each 4 KiB page of the region, distinct from zero.
std::uint64_t pattern(std::uint64_t page) { return 0x5EED0000 + page * 7; }

void fill(user::Process& self, mmu::VirtAddr base, std::uint64_t pages) {
  for (std::uint64_t page = 0; page < pages; ++page) {
    self.store<std::uint64_t>(base + page * kPage, pattern(page));
    self.store<std::uint64_t>(base + page * kPage + kPage - 8, ~pattern(page));
  }
}

/// How many pages of the region no longer hold their pattern (skipping `except`).
std::uint64_t damaged(user::Process& self, mmu::VirtAddr base, std::uint64_t pages, std::vector<std::uint64_t> except = {}) {
  std::uint64_t count = 0;
  for (std::uint64_t page = 0; page < pages; ++page) {
    if (std::find(except.begin(), except.end(), page) != except.end()) continue;
    if (self.load<std::uint64_t>(base + page * kPage) != pattern(page) ||
        self.load<std::uint64_t>(base + page * kPage + kPage - 8) != ~pattern(page)) {
      ++count;
    }
  }
  return count;
}

std::uint64_t dtlb_misses(KernelFixture& f) { return f.machine.cpu(0).mmu().dtlb().stats().misses; }

/// Reads one word of every 4 KiB page of [base, base + pages * 4 KiB).
void sweep(user::Process& self, mmu::VirtAddr base, std::uint64_t pages) {
  for (std::uint64_t page = 0; page < pages; ++page) (void)self.load<std::uint64_t>(base + page * kPage);
}

}  // namespace

TEST_CASE("the first touch of a madvised aligned region maps a 2 MiB page that one TLB entry covers",
          "[kernel][mm][thp]") {
  KernelFixture f;
  std::uint64_t resident_before = 0, resident_after_one = 0, resident_after_all = 0, sweep_misses = 0;
  mmu::pte::Entry pde = 0;
  mmu::PageSize size = mmu::PageSize::k4K;
  f.run([&](user::Process& init) {
    map_huge_region(init, 2 * kHuge);
    resident_before = mm_of(f, init).resident_pages();
    init.store<std::uint64_t>(kBase + 12345, 1);
    resident_after_one = mm_of(f, init).resident_pages();
    const auto mapping = mm_of(f, init).page_table().lookup(kBase + 100 * kPage);
    REQUIRE(mapping);
    pde = mapping->entry;
    size = mapping->size;
    init.store<std::uint64_t>(kBase + kHuge, 2);
    resident_after_all = mm_of(f, init).resident_pages();
    sweep(init, kBase, 2 * kPagesPerHuge);  // warm
    const std::uint64_t before = dtlb_misses(f);
    sweep(init, kBase, 2 * kPagesPerHuge);
    sweep_misses = dtlb_misses(f) - before;
    return 0;
  });
  CHECK(size == mmu::PageSize::k2M);
  CHECK((pde & mmu::pte::kPageSize) != 0);
  CHECK((pde & mmu::pte::kWritable) != 0);
  CHECK(resident_after_one - resident_before == kPagesPerHuge);
  CHECK(resident_after_all - resident_before == 2 * kPagesPerHuge);
  CHECK(f.core().stats().thp_fault_alloc == 2);
  CHECK(f.core().stats().thp_fault_fallback == 0);
  // 1024 pages read with two TLB entries: nothing misses once they are in.
  CHECK(sweep_misses <= 2);
}

TEST_CASE("the same sweep over 4 KiB pages misses the TLB on every page", "[kernel][mm][thp]") {
  KernelFixture f(1, config_with(kernel::TransparentHugepages::kNever));
  std::uint64_t resident_delta = 0, sweep_misses = 0;
  mmu::PageSize size = mmu::PageSize::k2M;
  f.run([&](user::Process& init) {
    map_huge_region(init, 2 * kHuge);
    const std::uint64_t before = mm_of(f, init).resident_pages();
    init.store<std::uint64_t>(kBase + 12345, 1);
    resident_delta = mm_of(f, init).resident_pages() - before;
    size = page_size_at(f, init, kBase);
    sweep(init, kBase, 2 * kPagesPerHuge);
    const std::uint64_t misses = dtlb_misses(f);
    sweep(init, kBase, 2 * kPagesPerHuge);
    sweep_misses = dtlb_misses(f) - misses;
    return 0;
  });
  CHECK(size == mmu::PageSize::k4K);
  CHECK(resident_delta == 1);
  CHECK(f.core().stats().thp_fault_alloc == 0);
  CHECK(sweep_misses >= 2 * kPagesPerHuge);  // 1024 pages through a 64-entry dTLB
}

TEST_CASE("madvise mode gives 4 KiB pages without MADV_HUGEPAGE, and always gives 2 MiB unless MADV_NOHUGEPAGE",
          "[kernel][mm][thp]") {
  const auto sizes = [](kernel::TransparentHugepages mode) {
    KernelFixture f(1, config_with(mode));
    std::vector<mmu::PageSize> found;
    f.run([&](user::Process& init) {
      REQUIRE(init.mmap(kBase, 2 * kHuge, kReadWrite, kPrivateAnonFixed) == static_cast<std::int64_t>(kBase));
      REQUIRE(init.madvise(kBase + kHuge, kHuge, sys::kMadvNohugepage) == 0);
      init.store<std::uint8_t>(kBase, 1);
      init.store<std::uint8_t>(kBase + kHuge, 1);
      found = {page_size_at(f, init, kBase), page_size_at(f, init, kBase + kHuge)};
      return 0;
    });
    return found;
  };
  CHECK(sizes(kernel::TransparentHugepages::kMadvise) == std::vector{mmu::PageSize::k4K, mmu::PageSize::k4K});
  CHECK(sizes(kernel::TransparentHugepages::kAlways) == std::vector{mmu::PageSize::k2M, mmu::PageSize::k4K});
}

TEST_CASE("a block not wholly inside the VMA, or already holding 4 KiB pages, stays 4 KiB", "[kernel][mm][thp]") {
  KernelFixture f;
  mmu::PageSize short_vma = mmu::PageSize::k2M, after_small = mmu::PageSize::k2M;
  f.run([&](user::Process& init) {
    map_huge_region(init, kHuge - kPage);  // one page short of a block
    init.store<std::uint8_t>(kBase, 1);
    short_vma = page_size_at(f, init, kBase);
    REQUIRE(init.munmap(kBase, kHuge) == 0);
    // 4 KiB first (before the advice), then the advice: the block keeps its page table.
    REQUIRE(init.mmap(kBase, kHuge, kReadWrite, kPrivateAnonFixed) == static_cast<std::int64_t>(kBase));
    init.store<std::uint8_t>(kBase, 1);
    REQUIRE(init.madvise(kBase, kHuge, sys::kMadvHugepage) == 0);
    init.store<std::uint8_t>(kBase + kPage, 1);
    after_small = page_size_at(f, init, kBase + kPage);
    return 0;
  });
  CHECK(short_vma == mmu::PageSize::k4K);
  CHECK(after_small == mmu::PageSize::k4K);
  CHECK(f.core().stats().thp_fault_alloc == 0);
}

TEST_CASE("munmap of part of a 2 MiB page splits it and keeps the rest byte-identical", "[kernel][mm][thp]") {
  KernelFixture f;
  std::uint64_t damage = 99, resident_delta = 0;
  bool hole_mapped = true;
  mmu::PageSize rest = mmu::PageSize::k2M;
  f.run([&](user::Process& init) {
    map_huge_region(init, kHuge);
    const std::uint64_t before = mm_of(f, init).resident_pages();
    fill(init, kBase, kPagesPerHuge);
    REQUIRE(page_size_at(f, init, kBase) == mmu::PageSize::k2M);
    REQUIRE(init.munmap(kBase + 100 * kPage, 3 * kPage) == 0);
    resident_delta = mm_of(f, init).resident_pages() - before;
    hole_mapped = mapped(f, init, kBase + 101 * kPage);
    rest = page_size_at(f, init, kBase + 200 * kPage);
    damage = damaged(init, kBase, kPagesPerHuge, {100, 101, 102});
    return 0;
  });
  CHECK(resident_delta == kPagesPerHuge - 3);
  CHECK_FALSE(hole_mapped);
  CHECK(rest == mmu::PageSize::k4K);
  CHECK(damage == 0);
  CHECK(f.core().stats().thp_split_pmd == 1);
}

TEST_CASE("mprotect of part of a 2 MiB page splits it, and of a whole one keeps it 2 MiB", "[kernel][mm][thp]") {
  KernelFixture f;
  mmu::pte::Entry part = mmu::pte::kWritable, rest = 0, whole = mmu::pte::kWritable;
  mmu::PageSize whole_size = mmu::PageSize::k4K;
  std::uint64_t damage = 99;
  f.run([&](user::Process& init) {
    map_huge_region(init, 2 * kHuge);
    fill(init, kBase, 2 * kPagesPerHuge);
    REQUIRE(init.mprotect(kBase, kPage, sys::kProtRead) == 0);
    part = mm_of(f, init).page_table().lookup(kBase)->entry;
    rest = mm_of(f, init).page_table().lookup(kBase + kPage)->entry;
    REQUIRE(init.mprotect(kBase + kHuge, kHuge, sys::kProtRead) == 0);
    const auto second = mm_of(f, init).page_table().lookup(kBase + kHuge);
    whole = second->entry;
    whole_size = second->size;
    damage = damaged(init, kBase, 2 * kPagesPerHuge);
    return 0;
  });
  CHECK((part & mmu::pte::kWritable) == 0);
  CHECK((part & mmu::pte::kPageSize) == 0);
  CHECK((rest & mmu::pte::kWritable) != 0);
  CHECK(whole_size == mmu::PageSize::k2M);
  CHECK((whole & mmu::pte::kPageSize) != 0);
  CHECK((whole & mmu::pte::kWritable) == 0);
  CHECK(damage == 0);
}

TEST_CASE("MADV_DONTNEED on part of a 2 MiB page zeroes that part only", "[kernel][mm][thp]") {
  KernelFixture f;
  std::uint64_t damage = 99, zero_words = 0;
  f.run([&](user::Process& init) {
    map_huge_region(init, kHuge);
    fill(init, kBase, kPagesPerHuge);
    REQUIRE(init.madvise(kBase + 10 * kPage, 2 * kPage, sys::kMadvDontneed) == 0);
    for (std::uint64_t page : {10, 11}) {
      zero_words += init.load<std::uint64_t>(kBase + page * kPage) == 0;
      zero_words += init.load<std::uint64_t>(kBase + page * kPage + kPage - 8) == 0;
    }
    damage = damaged(init, kBase, kPagesPerHuge, {10, 11});
    return 0;
  });
  CHECK(zero_words == 4);
  CHECK(damage == 0);
}

TEST_CASE("MADV_DONTNEED of a whole 2 MiB page frees it and the next touch reads zero", "[kernel][mm][thp]") {
  KernelFixture f;
  std::uint64_t freed = 0, read_back = 1;
  f.run([&](user::Process& init) {
    map_huge_region(init, kHuge);
    fill(init, kBase, kPagesPerHuge);
    const std::uint64_t free_before = f.free_frames();
    REQUIRE(init.madvise(kBase, kHuge, sys::kMadvDontneed) == 0);
    freed = f.free_frames() - free_before;
    read_back = init.load<std::uint64_t>(kBase + 7 * kPage);
    return 0;
  });
  CHECK(freed == kPagesPerHuge);
  CHECK(read_back == 0);
  CHECK(f.core().stats().thp_split_pmd == 0);
}

TEST_CASE("fork shares a 2 MiB page copy-on-write: writes stay private, refcounts are exact, frames all return",
          "[kernel][mm][thp][fork]") {
  KernelFixture f;
  const std::uint64_t before_boot = f.free_frames();
  std::uint64_t child_damage = 99, parent_damage = 99, child_saw_own = 0, child_write_copies = 0;
  std::vector<std::uint32_t> after_child_write, after_child_exit;
  mmu::PageSize child_size_before_write = mmu::PageSize::k4K, child_size_after_write = mmu::PageSize::k2M;
  mmu::PageSize parent_after_own_write = mmu::PageSize::k4K;
  mmu::pte::Entry parent_entry_after_write = 0;
  const auto refs = [&](mmu::FrameNumber first) {
    std::vector<std::uint32_t> counts;
    for (std::uint64_t i = 0; i < kPagesPerHuge; ++i) counts.push_back(f.machine.memory().frame(first + i).refcount);
    return counts;
  };
  f.run([&](user::Process& init) {
    map_huge_region(init, kHuge);
    fill(init, kBase, kPagesPerHuge);
    const mmu::FrameNumber first = mmu::frame_of(mm_of(f, init).page_table().lookup(kBase)->page_base);
    int go[2], done[2];
    REQUIRE(init.pipe(go) == 0);
    REQUIRE(init.pipe(done) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      child_size_before_write = page_size_at(f, self, kBase);
      const std::uint64_t cow_before = f.core().stats().cow_faults;
      self.store<std::uint64_t>(kBase + 5 * kPage, 0xC41D);
      child_write_copies = f.core().stats().cow_faults - cow_before;
      child_size_after_write = page_size_at(f, self, kBase);
      child_saw_own = self.load<std::uint64_t>(kBase + 5 * kPage);
      child_damage = damaged(self, kBase, kPagesPerHuge, {5});
      notify(self, done[1]);
      await(self, go[0]);
      return 0;
    });
    await(init, done[0]);
    after_child_write = refs(first);
    notify(init, go[1]);
    int status = 0;
    REQUIRE(init.waitpid(child, &status) == child);
    after_child_exit = refs(first);
    parent_damage = damaged(init, kBase, kPagesPerHuge);
    // Alone again: the write reuses the 2 MiB page in place.
    init.store<std::uint64_t>(kBase + 5 * kPage, pattern(5));
    parent_after_own_write = page_size_at(f, init, kBase);
    parent_entry_after_write = mm_of(f, init).page_table().lookup(kBase)->entry;
    return 0;
  });
  CHECK(child_size_before_write == mmu::PageSize::k2M);
  CHECK(child_size_after_write == mmu::PageSize::k4K);  // split, one 4 KiB page copied
  CHECK(child_saw_own == 0xC41D);
  CHECK(child_damage == 0);
  CHECK(parent_damage == 0);
  // While the child lives: every frame is mapped by both, but page 5, which the child copied.
  REQUIRE(after_child_write.size() == kPagesPerHuge);
  std::vector<std::uint32_t> expected(kPagesPerHuge, 2);
  expected[5] = 1;
  CHECK(after_child_write == expected);
  CHECK(after_child_exit == std::vector<std::uint32_t>(kPagesPerHuge, 1));
  CHECK(parent_after_own_write == mmu::PageSize::k2M);
  CHECK((parent_entry_after_write & mmu::pte::kWritable) != 0);
  CHECK((parent_entry_after_write & mmu::pte::kCopyOnWrite) == 0);
  CHECK(child_write_copies == 1);  // one 4 KiB copy, not 2 MiB
  REQUIRE(f.kernel.halted());
  CHECK(f.free_frames() + f.core().page_cache_pool().cached_pages == before_boot);
}

TEST_CASE("a parent's write to a shared 2 MiB page is not seen by the child", "[kernel][mm][thp][fork]") {
  KernelFixture f;
  const std::uint64_t before_boot = f.free_frames();
  std::uint64_t child_damage = 99, parent_saw = 0;
  f.run([&](user::Process& init) {
    map_huge_region(init, kHuge);
    fill(init, kBase, kPagesPerHuge);
    int go[2];
    REQUIRE(init.pipe(go) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      await(self, go[0]);  // after the parent's write
      child_damage = damaged(self, kBase, kPagesPerHuge);
      return 0;
    });
    init.store<std::uint64_t>(kBase + 300 * kPage, 0xBEEF);
    parent_saw = init.load<std::uint64_t>(kBase + 300 * kPage);
    notify(init, go[1]);
    int status = 0;
    REQUIRE(init.waitpid(child, &status) == child);
    return 0;
  });
  CHECK(child_damage == 0);
  CHECK(parent_saw == 0xBEEF);
  REQUIRE(f.kernel.halted());
  CHECK(f.free_frames() + f.core().page_cache_pool().cached_pages == before_boot);
}

TEST_CASE("exit frees all 512 frames of a 2 MiB page", "[kernel][mm][thp]") {
  KernelFixture f;
  std::uint64_t before = 0, while_mapped = 0, after = 0;
  f.run([&](user::Process& init) {
    int status = 0;
    // A first fork and reap warms init's stack and page tables.
    init.fork([](user::Process&) { return 0; });
    init.wait(&status);
    before = f.free_frames();
    const sys::pid_t child = init.fork([&](user::Process& self) {
      map_huge_region(self, kHuge);
      self.store<std::uint8_t>(kBase, 1);
      while_mapped = f.free_frames();
      return 0;
    });
    REQUIRE(init.waitpid(child, &status) == child);
    after = f.free_frames();
    return 0;
  });
  CHECK(before - while_mapped >= kPagesPerHuge);
  CHECK(after == before);
}

TEST_CASE("a fault falls back to 4 KiB pages when no 2 MiB block is free", "[kernel][mm][thp]") {
  KernelFixture f;
  mmu::PageSize size = mmu::PageSize::k2M;
  std::uint64_t read_back = 1;
  f.run([&](user::Process& init) {
    map_huge_region(init, kHuge);
    // Fragment memory: take every frame, give back every other one.
    mmu::FrameAllocator& frames = f.machine.frames();
    std::vector<mmu::FrameNumber> held;
    while (const auto frame = frames.allocate(0)) held.push_back(*frame);
    for (std::size_t i = 0; i < held.size(); i += 2) frames.free(held[i]);
    REQUIRE(frames.free_blocks(9) == 0);
    init.store<std::uint64_t>(kBase + 3 * kPage, 42);
    size = page_size_at(f, init, kBase + 3 * kPage);
    read_back = init.load<std::uint64_t>(kBase + 3 * kPage) - 42 + init.load<std::uint64_t>(kBase + 4 * kPage);
    for (std::size_t i = 1; i < held.size(); i += 2) frames.free(held[i]);
    return 0;
  });
  CHECK(size == mmu::PageSize::k4K);
  CHECK(read_back == 0);
  CHECK(f.core().stats().thp_fault_alloc == 0);
  CHECK(f.core().stats().thp_fault_fallback >= 1);
}

TEST_CASE("madvise returns Linux's errors", "[kernel][mm][thp][errors]") {
  KernelFixture f;
  std::vector<std::int64_t> results;
  bool advice_taken = false;
  f.run([&](user::Process& init) {
    REQUIRE(init.mmap(kBase, 4 * kPage, kReadWrite, kPrivateAnonFixed) == static_cast<std::int64_t>(kBase));
    results = {
        init.madvise(kBase, kPage, 99),                                   // unknown advice
        init.madvise(kBase + 1, kPage, sys::kMadvNormal),                 // misaligned start
        init.madvise(kBase, ~std::uint64_t{0}, sys::kMadvNormal),         // length wraps
        init.madvise(kBase + kHuge, kPage, sys::kMadvDontneed),           // nothing mapped
        init.madvise(kBase + 2 * kPage, 4 * kPage, sys::kMadvHugepage),   // runs past the VMA
        init.madvise(kBase, 0, sys::kMadvHugepage),                       // empty range
        init.madvise(kBase, 3, sys::kMadvNormal),                         // length rounds up
    };
    // The mapped part of a partly unmapped range took the advice.
    advice_taken = mm_of(f, init).find_vma(kBase + 3 * kPage)->huge_advice == kernel::HugePageAdvice::kHuge &&
                   mm_of(f, init).find_vma(kBase)->huge_advice == kernel::HugePageAdvice::kNone;
    return 0;
  });
  CHECK(results == std::vector<std::int64_t>{errno_of(sys::Errno::kEINVAL), errno_of(sys::Errno::kEINVAL),
                                             errno_of(sys::Errno::kEINVAL), errno_of(sys::Errno::kENOMEM),
                                             errno_of(sys::Errno::kENOMEM), 0, 0});
  CHECK(advice_taken);
}

TEST_CASE("MADV_DONTNEED makes private anonymous 4 KiB pages read back as zero", "[kernel][mm]") {
  KernelFixture f(1, config_with(kernel::TransparentHugepages::kNever));
  std::uint64_t first = 1, second = 0;
  f.run([&](user::Process& init) {
    REQUIRE(init.mmap(kBase, 2 * kPage, kReadWrite, kPrivateAnonFixed) == static_cast<std::int64_t>(kBase));
    init.store<std::uint64_t>(kBase, 7);
    init.store<std::uint64_t>(kBase + kPage, 8);
    REQUIRE(init.madvise(kBase, kPage, sys::kMadvDontneed) == 0);
    first = init.load<std::uint64_t>(kBase);
    second = init.load<std::uint64_t>(kBase + kPage);
    return 0;
  });
  CHECK(first == 0);
  CHECK(second == 8);
}

TEST_CASE("with always, a brk heap gets 2 MiB pages, and shrinking it into one splits it keeping the rest",
          "[kernel][mm][thp]") {
  KernelFixture f(1, config_with(kernel::TransparentHugepages::kAlways));
  std::uint64_t damage = 99, resident_drop = 0;
  mmu::PageSize before = mmu::PageSize::k4K, after = mmu::PageSize::k2M;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr start = init.brk(0);
    const mmu::VirtAddr block = (start + 2 * kHuge - 1) & ~(kHuge - 1);  // a whole block inside the heap
    REQUIRE(init.brk(block + kHuge) == block + kHuge);
    fill(init, block, kPagesPerHuge);
    before = page_size_at(f, init, block);
    const std::uint64_t resident = mm_of(f, init).resident_pages();
    REQUIRE(init.brk(block + 100 * kPage) == block + 100 * kPage);
    resident_drop = resident - mm_of(f, init).resident_pages();
    after = page_size_at(f, init, block);
    damage = damaged(init, block, 100);
    return 0;
  });
  CHECK(before == mmu::PageSize::k2M);
  CHECK(after == mmu::PageSize::k4K);
  CHECK(resident_drop == kPagesPerHuge - 100);
  CHECK(damage == 0);
}
