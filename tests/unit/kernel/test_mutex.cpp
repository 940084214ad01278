// user::Mutex (a futex-based lock in simulated memory) and the atomic instructions under
// it: threads on two CPUs lose updates to a shared counter with plain loads and stores,
// and lose none with an atomic add or under the mutex; a contended lock sleeps in the
// kernel until the unlock; a process-shared mutex works across fork in MAP_SHARED memory.

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <span>

#include "ossim/user/mutex.hpp"
#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr sim::Tick kMs = sim::kMillisecond;
constexpr int kIncrements = 1000;
constexpr std::uint64_t kCriticalCycles = 40;  // between reading the counter and writing it back
constexpr std::uint64_t kOutsideCycles = 25;   // between two increments

mmu::VirtAddr map_page(user::Process& self, int flags = sys::kMapPrivate | sys::kMapAnonymous) {
  return static_cast<mmu::VirtAddr>(self.mmap(0, 4096, sys::kProtRead | sys::kProtWrite, flags));
}

struct TwoCpuRun {
  std::uint64_t total = 0;     // the page's first 64-bit word at the end
  std::uint64_t syscalls = 0;  // made by everyone during the run
};

/// Runs `body(thread, page, index)` in two threads of one process, thread i pinned to CPU i
/// of a two-CPU machine, on a page of the process's memory, until both are done. The
/// CPUs interleave exactly (no sync quantum).
TwoCpuRun run_on_two_cpus(const std::function<void(user::Process&, mmu::VirtAddr, int)>& body) {
  KernelFixture f(2);
  TwoCpuRun result;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      const mmu::VirtAddr page = map_page(self);
      int done[2];
      if (self.pipe(done) != 0) return 1;
      self.spawn_thread([&](user::Process& thread) {
        thread.sched_setaffinity(0, 0b10);
        body(thread, page, 1);
        thread.write(done[1], "x");
        return 0;
      });
      self.sched_setaffinity(0, 0b01);
      body(self, page, 0);
      char byte = 0;
      self.read(done[0], std::span<char>(&byte, 1));
      result.total = self.load<std::uint64_t>(page);
      return 0;
    });
    return 0;
  });
  result.syscalls = f.kernel.stats().syscalls;
  return result;
}

/// counter += 1 as a load, some work, and a store: not atomic.
void increment(user::Process& self, mmu::VirtAddr counter) {
  const auto value = self.load<std::uint64_t>(counter);
  self.compute(kCriticalCycles);
  self.store<std::uint64_t>(counter, value + 1);
}

}  // namespace

void add_atomically(user::Process& self, mmu::VirtAddr page, int) {
  for (int i = 0; i < kIncrements; ++i) {
    self.atomic_fetch_add<std::uint64_t>(page, 1);
    self.compute(kOutsideCycles);
  }
}

TEST_CASE("threads on two CPUs incrementing a counter with plain loads and stores lose updates",
          "[kernel][mutex]") {
  const std::uint64_t total = run_on_two_cpus([](user::Process& self, mmu::VirtAddr page, int) {
    for (int i = 0; i < kIncrements; ++i) {
      increment(self, page);
      self.compute(kOutsideCycles);
    }
  }).total;
  // The control for the tests below: without atomicity the race is real.
  CHECK(total < 2 * kIncrements);
  CHECK(total >= kIncrements);
}

TEST_CASE("threads on two CPUs incrementing a counter with atomic_fetch_add lose no update", "[kernel][mutex]") {
  CHECK(run_on_two_cpus(add_atomically).total == 2 * kIncrements);
}

TEST_CASE("threads on two CPUs incrementing a counter under a Mutex end with the exact total", "[kernel][mutex]") {
  const TwoCpuRun locked = run_on_two_cpus([](user::Process& self, mmu::VirtAddr page, int) {
    user::Mutex mutex(page + 8);
    for (int i = 0; i < kIncrements; ++i) {
      mutex.lock(self);
      increment(self, page);
      mutex.unlock(self);
      self.compute(kOutsideCycles);
    }
  });
  CHECK(locked.total == 2 * kIncrements);
  // The lock was contended: beyond the syscalls of the same run without it, the threads
  // made futex calls (an uncontended lock and unlock make none).
  const TwoCpuRun unlocked = run_on_two_cpus(add_atomically);
  INFO("futex calls: " << locked.syscalls - unlocked.syscalls);
  CHECK(locked.syscalls > unlocked.syscalls + 100);
}

TEST_CASE("a thread that finds the Mutex held sleeps in the kernel until the holder unlocks it", "[kernel][mutex]") {
  KernelFixture f;
  sim::Tick unlocked_at = 0, locked_at = 0;
  std::uint32_t word_while_waiting = 0;
  std::size_t waiters_while_waiting = 0;
  bool try_lock_while_held = true, try_lock_after = false;
  std::uint32_t word_at_end = 9;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      const mmu::VirtAddr word = map_page(self);
      user::Mutex mutex(word);
      mutex.lock(self);
      self.spawn_thread([&](user::Process& thread) {
        try_lock_while_held = mutex.try_lock(thread);
        mutex.lock(thread);
        locked_at = thread.now();
        mutex.unlock(thread);
        return 0;
      });
      self.nanosleep(5 * kMs);
      word_while_waiting = self.load<std::uint32_t>(word);
      waiters_while_waiting = f.core().futexes().waiter_count(*f.core().find_task(self.gettid()), word, true);
      unlocked_at = self.now();
      mutex.unlock(self);
      self.nanosleep(kMs);
      try_lock_after = mutex.try_lock(self);
      mutex.unlock(self);
      word_at_end = self.load<std::uint32_t>(word);
      return 0;
    });
    return 0;
  });
  CHECK_FALSE(try_lock_while_held);
  CHECK(word_while_waiting == 2);  // locked, with a waiter
  CHECK(waiters_while_waiting == 1);
  CHECK(unlocked_at >= 5 * kMs);
  CHECK(locked_at >= unlocked_at);
  CHECK(try_lock_after);
  CHECK(word_at_end == 0);
  CHECK(f.core().futexes().queue_count() == 0);
}

TEST_CASE("a process-shared Mutex in MAP_SHARED anonymous memory serialises a parent and its forked child",
          "[kernel][mutex]") {
  KernelFixture f(2);
  std::uint64_t total = 0;
  int status = -1;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& parent) {
      const mmu::VirtAddr page = map_page(parent, sys::kMapShared | sys::kMapAnonymous);
      const user::Mutex mutex(page + 8, true);
      const auto work = [&](user::Process& self) {
        user::Mutex lock = mutex;
        for (int i = 0; i < kIncrements; ++i) {
          lock.lock(self);
          increment(self, page);
          lock.unlock(self);
          self.compute(kOutsideCycles);
        }
      };
      const sys::pid_t child = parent.fork([&](user::Process& self) {
        self.sched_setaffinity(0, 0b10);
        work(self);
        return 0;
      });
      parent.sched_setaffinity(0, 0b01);
      work(parent);
      parent.waitpid(child, &status);
      total = parent.load<std::uint64_t>(page);
      return 0;
    });
    return 0;
  });
  CHECK(status == 0);
  CHECK(total == 2 * kIncrements);
  CHECK(f.core().futexes().queue_count() == 0);
}
