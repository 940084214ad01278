// fork's copy-on-write address space: private pages are shared read-only after fork and
// copied by the first write of either side; shared mappings stay shared; frame reference
// counts are exact and every frame comes back once everything has exited.

#include <catch2/catch.hpp>

#include <cstdint>

#include "kernel_fixture.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/page_cache.hpp"

using namespace ossim;
using testing::await;
using testing::KernelFixture;
using testing::notify;

namespace {

constexpr int kReadWrite = sys::kProtRead | sys::kProtWrite;
constexpr int kPrivateAnon = sys::kMapPrivate | sys::kMapAnonymous;
constexpr int kSharedAnon = sys::kMapShared | sys::kMapAnonymous;

/// The frame that maps `address` in `pid`'s address space, or ~0 when nothing does.
mmu::FrameNumber frame_of(KernelFixture& f, sys::pid_t pid, mmu::VirtAddr address) {
  kernel::Task* task = f.core().find_task(pid);
  if (task == nullptr || !task->mm) return ~mmu::FrameNumber{0};
  const auto mapping = task->mm->page_table().lookup(address);
  if (!mapping) return ~mmu::FrameNumber{0};
  return mmu::frame_of(mapping->page_base);
}

std::uint32_t refcount(KernelFixture& f, mmu::FrameNumber frame) { return f.machine.memory().frame(frame).refcount; }

}  // namespace

TEST_CASE("a child's store to a private page after fork is not seen by the parent", "[kernel][fork][cow]") {
  KernelFixture f;
  std::uint64_t child_saw_before = 0, child_saw_after = 0, parent_saw = 0;
  f.run([&](user::Process& init) {
    const std::int64_t page = init.mmap(0, 4096, kReadWrite, kPrivateAnon);
    REQUIRE(page > 0);
    const auto address = static_cast<mmu::VirtAddr>(page);
    init.store<std::uint64_t>(address, 111);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      child_saw_before = self.load<std::uint64_t>(address);
      self.store<std::uint64_t>(address, 222);
      child_saw_after = self.load<std::uint64_t>(address);
      return 0;
    });
    REQUIRE(child > 0);
    int status = 0;
    REQUIRE(init.waitpid(child, &status) == child);
    parent_saw = init.load<std::uint64_t>(address);
    return 0;
  });
  CHECK(child_saw_before == 111);
  CHECK(child_saw_after == 222);
  CHECK(parent_saw == 111);
}

TEST_CASE("a parent's store to a private page after fork is not seen by the child", "[kernel][fork][cow]") {
  KernelFixture f;
  std::uint64_t child_saw = 0, parent_saw = 0;
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 4096, kReadWrite, kPrivateAnon));
    init.store<std::uint64_t>(address, 111);
    int go[2];
    REQUIRE(init.pipe(go) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      await(self, go[0]);  // runs only once the parent has written
      child_saw = self.load<std::uint64_t>(address);
      return 0;
    });
    init.store<std::uint64_t>(address, 333);
    notify(init, go[1]);
    int status = 0;
    REQUIRE(init.waitpid(child, &status) == child);
    parent_saw = init.load<std::uint64_t>(address);
    return 0;
  });
  CHECK(child_saw == 111);
  CHECK(parent_saw == 333);
}

TEST_CASE("brk memory is private after fork too", "[kernel][fork][cow]") {
  KernelFixture f;
  std::uint32_t child_saw = 0, parent_saw = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr base = init.brk(0);
    REQUIRE(init.brk(base + 8192) == base + 8192);
    init.store<std::uint32_t>(base + 4096, 0xAAAA);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.store<std::uint32_t>(base + 4096, 0xBBBB);
      child_saw = self.load<std::uint32_t>(base + 4096);
      return 0;
    });
    int status = 0;
    init.waitpid(child, &status);
    parent_saw = init.load<std::uint32_t>(base + 4096);
    return 0;
  });
  CHECK(child_saw == 0xBBBB);
  CHECK(parent_saw == 0xAAAA);
}

TEST_CASE("after fork a private page is one frame with two references until the parent writes", "[kernel][fork][cow]") {
  KernelFixture f;
  mmu::FrameNumber before = 0, parent_shared = 0, child_shared = 0, parent_after_write = 0, child_after_parent = 0,
                   child_after_own = 0;
  std::uint32_t ref_before = 0, ref_shared = 0, ref_parent_copy = 0, ref_child_alone = 0, ref_child_after_own = 0;
  std::uint64_t cow_faults_before = 0, cow_faults_after_parent = 0, child_copies = 99;
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 4096, kReadWrite, kPrivateAnon));
    init.store<std::uint64_t>(address, 1);
    const sys::pid_t me = init.getpid();
    before = frame_of(f, me, address);
    ref_before = refcount(f, before);
    int go[2], done[2];
    REQUIRE(init.pipe(go) == 0);
    REQUIRE(init.pipe(done) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      await(self, go[0]);
      const kernel::AddressSpace& mm = *f.core().find_task(self.getpid())->mm;
      const std::uint64_t copies_before = mm.cow_copies();
      self.store<std::uint64_t>(address, 3);  // the last reference: made writable in place
      child_copies = mm.cow_copies() - copies_before;
      notify(self, done[1]);
      await(self, go[0]);
      return 0;
    });
    parent_shared = frame_of(f, me, address);
    child_shared = frame_of(f, child, address);
    ref_shared = refcount(f, parent_shared);
    cow_faults_before = f.core().stats().cow_faults;

    init.store<std::uint64_t>(address, 2);  // the parent's write copies the page
    parent_after_write = frame_of(f, me, address);
    child_after_parent = frame_of(f, child, address);
    ref_parent_copy = refcount(f, parent_after_write);
    ref_child_alone = refcount(f, child_after_parent);
    cow_faults_after_parent = f.core().stats().cow_faults;

    notify(init, go[1]);
    await(init, done[0]);
    child_after_own = frame_of(f, child, address);
    ref_child_after_own = refcount(f, child_after_own);
    notify(init, go[1]);
    int status = 0;
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(ref_before == 1);
  CHECK(parent_shared == before);
  CHECK(child_shared == before);
  CHECK(ref_shared == 2);
  CHECK(parent_after_write != before);
  CHECK(child_after_parent == before);
  CHECK(ref_parent_copy == 1);
  CHECK(ref_child_alone == 1);
  CHECK(cow_faults_after_parent == cow_faults_before + 1);
  // The child held the last reference: no copy, the same frame becomes writable.
  CHECK(child_after_own == before);
  CHECK(ref_child_after_own == 1);
  CHECK(child_copies == 0);
}

TEST_CASE("after fork the child's first write copies the page and leaves the parent's frame", "[kernel][fork][cow]") {
  KernelFixture f;
  mmu::FrameNumber original = 0, parent_after = 0, child_after = 0;
  std::uint32_t ref_shared = 0, ref_parent = 0, ref_child = 0;
  bool child_pte_writable = false, parent_pte_writable_before = true;
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 4096, kReadWrite, kPrivateAnon));
    init.store<std::uint64_t>(address, 5);
    const sys::pid_t me = init.getpid();
    original = frame_of(f, me, address);
    int done[2];
    REQUIRE(init.pipe(done) == 0);
    int go[2];
    REQUIRE(init.pipe(go) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.store<std::uint64_t>(address, 6);
      notify(self, done[1]);
      await(self, go[0]);
      return 0;
    });
    ref_shared = refcount(f, original);
    parent_pte_writable_before =
        (f.core().find_task(me)->mm->page_table().lookup(address)->entry & mmu::pte::kWritable) != 0;
    await(init, done[0]);
    parent_after = frame_of(f, me, address);
    child_after = frame_of(f, child, address);
    ref_parent = refcount(f, parent_after);
    ref_child = refcount(f, child_after);
    child_pte_writable =
        (f.core().find_task(child)->mm->page_table().lookup(address)->entry & mmu::pte::kWritable) != 0;
    notify(init, go[1]);
    int status = 0;
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(ref_shared == 2);
  CHECK_FALSE(parent_pte_writable_before);  // write-protected until the first write
  CHECK(parent_after == original);
  CHECK(child_after != original);
  CHECK(ref_parent == 1);
  CHECK(ref_child == 1);
  CHECK(child_pte_writable);
}

TEST_CASE("a child writing 3 of 64 shared pages copies exactly those 3", "[kernel][fork][cow]") {
  KernelFixture f;
  std::uint64_t copies = ~std::uint64_t{0};
  std::uint64_t frames_taken = ~std::uint64_t{0};
  int status = -1;
  f.run([&](user::Process& init) {
    constexpr std::uint64_t kPages = 64;
    const auto base = static_cast<mmu::VirtAddr>(init.mmap(0, kPages * 4096, kReadWrite, kPrivateAnon));
    for (std::uint64_t page = 0; page < kPages; ++page) init.store<std::uint64_t>(base + page * 4096, page);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      // Reads first (they copy nothing), then writes to three pages.
      std::uint64_t sum = 0;
      for (std::uint64_t page = 0; page < kPages; ++page) sum += self.load<std::uint64_t>(base + page * 4096);
      const std::uint64_t cow_before = f.kernel.stats().cow_faults;
      const std::uint64_t free_before = f.free_frames();
      for (std::uint64_t page : {3, 10, 20}) self.store<std::uint64_t>(base + page * 4096, sum);
      copies = f.kernel.stats().cow_faults - cow_before;
      frames_taken = free_before - f.free_frames();
      return 0;
    });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(status == sys::exited_status(0));
  CHECK(copies == 3);
  CHECK(frames_taken == 3);
}

TEST_CASE("every frame returns to the free pool once all processes have exited", "[kernel][fork][cow][frames]") {
  KernelFixture f;
  const std::uint64_t before_boot = f.free_frames();
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 16 * 4096, kReadWrite, kPrivateAnon));
    for (int i = 0; i < 16; ++i) init.store<std::uint64_t>(address + i * 4096, i);
    for (int round = 0; round < 3; ++round) {
      // By value: the children run after init's entry (and its locals) has returned.
      init.fork([address](user::Process& self) {
        // Copies some shared pages, touches fresh ones, forks a grandchild of its own.
        for (int i = 0; i < 8; ++i) self.store<std::uint64_t>(address + i * 4096, 100 + i);
        const auto fresh = static_cast<mmu::VirtAddr>(self.mmap(0, 32 * 4096, kReadWrite, kPrivateAnon));
        for (int i = 0; i < 32; ++i) self.store<std::uint8_t>(fresh + i * 4096, 1);
        self.fork([fresh](user::Process& grandchild) {
          grandchild.store<std::uint64_t>(fresh, 9);
          return 0;
        });
        int status = 0;
        self.wait(&status);
        return 0;
      });
    }
    return 0;
  });
  REQUIRE(f.kernel.halted());
  // The frames not free hold the files still in the tree (the executables' page caches).
  CHECK(f.free_frames() + f.core().page_cache_pool().cached_pages == before_boot);
}

TEST_CASE("a run that forked and reaped ends with as many free frames as one that did not", "[kernel][fork][frames]") {
  const auto run = [](bool fork) {
    KernelFixture f;
    f.run([&](user::Process& init) {
      const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 8 * 4096, kReadWrite, kPrivateAnon));
      for (int i = 0; i < 8; ++i) init.store<std::uint64_t>(address + i * 4096, i);
      if (fork) {
        init.fork([&](user::Process& self) {
          for (int i = 0; i < 8; ++i) self.store<std::uint64_t>(address + i * 4096, 7);
          return 0;
        });
        int status = 0;
        init.wait(&status);
      }
      return 0;
    });
    return f.free_frames();
  };
  CHECK(run(true) == run(false));
}

TEST_CASE("a reaped child's frames are back in the free pool while its parent still runs", "[kernel][fork][frames]") {
  KernelFixture f;
  std::uint64_t before = 0, after = 0, while_child_lives = 0;
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 4 * 4096, kReadWrite, kPrivateAnon));
    for (int i = 0; i < 4; ++i) init.store<std::uint64_t>(address + i * 4096, i);
    int status = 0;
    // A first fork and reap warms the parent's stack and page tables.
    init.fork([](user::Process&) { return 0; });
    init.wait(&status);
    before = f.free_frames();
    int done[2];
    REQUIRE(init.pipe(done) == 0);
    int go[2];
    REQUIRE(init.pipe(go) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      for (int i = 0; i < 4; ++i) self.store<std::uint64_t>(address + i * 4096, 50);
      const auto fresh = static_cast<mmu::VirtAddr>(self.mmap(0, 16 * 4096, kReadWrite, kPrivateAnon));
      for (int i = 0; i < 16; ++i) self.store<std::uint8_t>(fresh + i * 4096, 1);
      notify(self, done[1]);
      await(self, go[0]);
      return 0;
    });
    await(init, done[0]);
    while_child_lives = f.free_frames();
    notify(init, go[1]);
    init.waitpid(child, &status);
    after = f.free_frames();
    return 0;
  });
  CHECK(while_child_lives < before - 16);
  CHECK(after == before);
}

TEST_CASE("a shared anonymous page written by the child is seen by the parent", "[kernel][fork][shared]") {
  KernelFixture f;
  std::uint64_t parent_saw = 0;
  mmu::FrameNumber parent_frame = 0, child_frame = 1;
  std::uint32_t ref_after_fork = 0;
  bool parent_pte_writable = false;
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 4096, kReadWrite, kSharedAnon));
    init.store<std::uint64_t>(address, 1);  // touched before fork
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.store<std::uint64_t>(address, 42);
      return 0;
    });
    parent_frame = frame_of(f, init.getpid(), address);
    child_frame = frame_of(f, child, address);
    ref_after_fork = refcount(f, parent_frame);
    parent_pte_writable =
        (f.core().find_task(init.getpid())->mm->page_table().lookup(address)->entry & mmu::pte::kWritable) != 0;
    int status = 0;
    init.waitpid(child, &status);
    parent_saw = init.load<std::uint64_t>(address);
    return 0;
  });
  CHECK(parent_frame == child_frame);
  // One reference per mapping PTE plus the shared-memory object's own (as Linux's page
  // cache holds one on a shmem page).
  CHECK(ref_after_fork == 3);
  CHECK(parent_pte_writable);  // no copy-on-write for shared mappings
  CHECK(parent_saw == 42);
}

TEST_CASE("a shared anonymous page the parent wrote after fork is seen by the child", "[kernel][fork][shared]") {
  KernelFixture f;
  std::uint64_t child_saw = 0;
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 4096, kReadWrite, kSharedAnon));
    init.store<std::uint64_t>(address, 1);
    int go[2];
    REQUIRE(init.pipe(go) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      await(self, go[0]);
      child_saw = self.load<std::uint64_t>(address);
      return 0;
    });
    init.store<std::uint64_t>(address, 77);
    notify(init, go[1]);
    int status = 0;
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(child_saw == 77);
}

TEST_CASE("a shared anonymous page first touched by the child after fork is seen by the parent",
          "[kernel][fork][shared]") {
  KernelFixture f;
  std::uint64_t parent_saw = 0;
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 4096, kReadWrite, kSharedAnon));
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.store<std::uint64_t>(address, 42);
      return 0;
    });
    int status = 0;
    init.waitpid(child, &status);
    parent_saw = init.load<std::uint64_t>(address);
    return 0;
  });
  CHECK(parent_saw == 42);
}

TEST_CASE("a write to a read-only private page after fork is still a segfault, not a copy", "[kernel][fork][cow]") {
  KernelFixture f;
  int status = 0;
  f.run([&](user::Process& init) {
    const auto address = static_cast<mmu::VirtAddr>(init.mmap(0, 4096, sys::kProtRead, kPrivateAnon));
    (void)init.load<std::uint64_t>(address);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.store<std::uint64_t>(address, 1);
      return 0;
    });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigSegv);
}
