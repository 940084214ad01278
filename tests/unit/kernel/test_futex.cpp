// futex(2): WAIT sleeps only while the word holds the expected value, WAKE wakes waiters
// oldest first and counts them, timeouts end waits at their simulated time, bitsets and
// requeues pick waiters, bad arguments fail as on Linux, a waiter that dies leaves its
// queue, and shared futexes are keyed by the shared object, private ones by address space.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ossim/sys/futex.hpp"
#include "kernel_fixture.hpp"
#include "kernel/mm/address_space.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

using testing::errno_of;
constexpr int kPrivate = sys::kFutexPrivateFlag;
constexpr sim::Tick kMs = sim::kMillisecond;

mmu::VirtAddr map_page(user::Process& self, int flags = sys::kMapPrivate | sys::kMapAnonymous) {
  return static_cast<mmu::VirtAddr>(self.mmap(0, 4096, sys::kProtRead | sys::kProtWrite, flags));
}

/// The number of tasks waiting on the private futex at `address` of the caller's process.
std::size_t waiters(KernelFixture& f, user::Process& self, mmu::VirtAddr address, bool private_key = true) {
  return f.core().futexes().waiter_count(*f.core().find_task(self.gettid()), address, private_key);
}

}  // namespace

TEST_CASE("FUTEX_WAIT on a word that does not hold the expected value returns EAGAIN at once", "[kernel][futex]") {
  KernelFixture f;
  std::int64_t result = 0;
  sim::Tick waited = 1;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr word = map_page(init);
    init.store<std::uint32_t>(word, 5);
    const sim::Tick before = init.now();
    result = init.futex_wait(word, 4);
    waited = init.now() - before;
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEAGAIN));
  CHECK(waited == 0);
  CHECK(f.core().futexes().queue_count() == 0);
}

TEST_CASE("FUTEX_WAKE returns how many it woke and wakes the waiters in the order they began to wait",
          "[kernel][futex]") {
  KernelFixture f;
  std::vector<int> woken_order;
  std::vector<std::int64_t> wait_results;
  std::int64_t first_wake = -1, second_wake = -1, third_wake = -1;
  std::size_t queued = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      const mmu::VirtAddr word = map_page(self);
      for (int i = 0; i < 3; ++i) {
        self.spawn_thread([&, i](user::Process& thread) {
          thread.nanosleep((i + 1) * kMs);  // thread i waits i-th
          wait_results.push_back(thread.futex_wait(word, 0));
          woken_order.push_back(i);
          return 0;
        });
      }
      self.nanosleep(10 * kMs);
      queued = waiters(f, self, word);
      first_wake = self.futex_wake(word, 2);
      self.nanosleep(kMs);
      second_wake = self.futex_wake(word, 5);
      self.nanosleep(kMs);
      third_wake = self.futex_wake(word, 1);
      return 0;
    });
    return 0;
  });
  CHECK(queued == 3);
  CHECK(first_wake == 2);
  CHECK(second_wake == 1);
  CHECK(third_wake == 0);
  // The first wake took the two oldest waiters (they then run in the scheduler's order).
  REQUIRE(woken_order.size() == 3);
  CHECK(std::min(woken_order[0], woken_order[1]) == 0);
  CHECK(std::max(woken_order[0], woken_order[1]) == 1);
  CHECK(woken_order[2] == 2);
  CHECK(wait_results == std::vector<std::int64_t>{0, 0, 0});
  CHECK(f.core().futexes().queue_count() == 0);
}

TEST_CASE("FUTEX_WAIT with a timeout returns ETIMEDOUT when the relative time has passed", "[kernel][futex]") {
  KernelFixture f;
  std::int64_t result = 0;
  sim::Tick before = 0, after = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr word = map_page(init);
    before = init.now();
    result = init.futex_wait(word, 0, 3 * kMs + 500 * sim::kMicrosecond);
    after = init.now();
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kETIMEDOUT));
  CHECK(after - before >= 3 * kMs + 500 * sim::kMicrosecond);
  CHECK(after - before <= 3 * kMs + 510 * sim::kMicrosecond);
  CHECK(f.core().futexes().queue_count() == 0);
}

TEST_CASE("FUTEX_WAIT_BITSET's timeout is an absolute time on CLOCK_MONOTONIC or, with the flag, CLOCK_REALTIME",
          "[kernel][futex]") {
  KernelFixture f;
  const bool realtime = GENERATE(false, true);
  std::int64_t result = 0, in_the_past = 0;
  sim::Tick deadline = 0, woke = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr page = map_page(init);
    const mmu::VirtAddr word = page, timeout = page + 64;
    sys::timespec now{};
    init.clock_gettime(realtime ? sys::kClockRealtime : sys::kClockMonotonic, now);
    deadline = init.now() + 2 * kMs;
    const std::int64_t nanoseconds = now.tv_nsec + 2'000'000;
    init.store(timeout, sys::timespec{now.tv_sec + nanoseconds / 1'000'000'000, nanoseconds % 1'000'000'000});
    const int op = sys::kFutexWaitBitset | kPrivate | (realtime ? sys::kFutexClockRealtime : 0);
    result = init.futex(word, op, 0, timeout, 0, sys::kFutexBitsetMatchAny);
    woke = init.now();
    init.store(timeout, sys::timespec{0, 0});  // long past, on either clock
    in_the_past = init.futex(word, op, 0, timeout, 0, sys::kFutexBitsetMatchAny);
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kETIMEDOUT));
  CHECK(woke >= deadline);
  CHECK(woke <= deadline + 10 * sim::kMicrosecond);
  CHECK(in_the_past == errno_of(sys::Errno::kETIMEDOUT));
}

TEST_CASE("a misaligned futex address is EINVAL, an unmapped one EFAULT and an unknown operation ENOSYS",
          "[kernel][futex]") {
  KernelFixture f;
  std::int64_t misaligned_wait = 0, misaligned_wake = 0, unmapped_wait = 0, unmapped_shared_wake = 0;
  std::int64_t unmapped_private_wake = -1, kernel_address = 0, unknown = 0, realtime_wake = 0, bad_timeout = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr page = map_page(init);
    const mmu::VirtAddr unmapped = 0x5000'0000;
    misaligned_wait = init.futex(page + 2, sys::kFutexWait | kPrivate, 0);
    misaligned_wake = init.futex(page + 1, sys::kFutexWake, 1);
    unmapped_wait = init.futex(unmapped, sys::kFutexWait | kPrivate, 0);
    unmapped_shared_wake = init.futex(unmapped, sys::kFutexWake, 1);
    // A private wake never looks at the mapping: no waiters, no error (as on Linux).
    unmapped_private_wake = init.futex(unmapped, sys::kFutexWake | kPrivate, 1);
    kernel_address = init.futex(0xffff'8000'0000'0000, sys::kFutexWait, 0);
    unknown = init.futex(page, 12345, 0);
    realtime_wake = init.futex(page, sys::kFutexWake | sys::kFutexClockRealtime, 1);
    init.store(page + 64, sys::timespec{0, 1'000'000'000});
    bad_timeout = init.futex(page, sys::kFutexWait | kPrivate, 0, page + 64);
    return 0;
  });
  CHECK(misaligned_wait == errno_of(sys::Errno::kEINVAL));
  CHECK(misaligned_wake == errno_of(sys::Errno::kEINVAL));
  CHECK(unmapped_wait == errno_of(sys::Errno::kEFAULT));
  CHECK(unmapped_shared_wake == errno_of(sys::Errno::kEFAULT));
  CHECK(unmapped_private_wake == 0);
  CHECK(kernel_address == errno_of(sys::Errno::kEFAULT));
  CHECK(unknown == errno_of(sys::Errno::kENOSYS));
  CHECK(realtime_wake == errno_of(sys::Errno::kENOSYS));
  CHECK(bad_timeout == errno_of(sys::Errno::kEINVAL));
}

TEST_CASE("FUTEX_WAKE_BITSET wakes only the waiters whose bitset it meets, a zero bitset is EINVAL",
          "[kernel][futex]") {
  KernelFixture f;
  std::vector<int> woken_order;
  std::int64_t zero_wait = 0, zero_wake = 0, wake_high = -1, wake_low = -1, wake_none = -1;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      const mmu::VirtAddr word = map_page(self);
      const std::uint32_t bitsets[2] = {0b01, 0b10};
      for (int i = 0; i < 2; ++i) {
        self.spawn_thread([&, i](user::Process& thread) {
          thread.nanosleep((i + 1) * kMs);
          if (thread.futex(word, sys::kFutexWaitBitset | kPrivate, 0, 0, 0, bitsets[i]) == 0) woken_order.push_back(i);
          return 0;
        });
      }
      zero_wait = self.futex(word, sys::kFutexWaitBitset | kPrivate, 0, 0, 0, 0);
      self.nanosleep(10 * kMs);
      zero_wake = self.futex(word, sys::kFutexWakeBitset | kPrivate, 5, 0, 0, 0);
      wake_high = self.futex(word, sys::kFutexWakeBitset | kPrivate, 5, 0, 0, 0b110);
      self.nanosleep(kMs);
      wake_none = self.futex(word, sys::kFutexWakeBitset | kPrivate, 5, 0, 0, 0b100);
      wake_low = self.futex(word, sys::kFutexWake | kPrivate, 5);  // FUTEX_WAKE matches any bitset
      self.nanosleep(kMs);
      return 0;
    });
    return 0;
  });
  CHECK(zero_wait == errno_of(sys::Errno::kEINVAL));
  CHECK(zero_wake == errno_of(sys::Errno::kEINVAL));
  CHECK(wake_high == 1);
  CHECK(wake_none == 0);
  CHECK(wake_low == 1);
  CHECK(woken_order == std::vector<int>{1, 0});
}

TEST_CASE("FUTEX_CMP_REQUEUE wakes the first waiters and moves the next to the second futex, or fails with EAGAIN",
          "[kernel][futex]") {
  KernelFixture f;
  std::vector<int> woken_order;
  std::int64_t changed = 0, requeued = -1, wake_second = -1, wake_first = -1, negative = 0, plain = -1;
  std::size_t first_after = 9, second_after = 9;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      const mmu::VirtAddr page = map_page(self);
      const mmu::VirtAddr first = page, second = page + 4;
      for (int i = 0; i < 4; ++i) {
        self.spawn_thread([&, i](user::Process& thread) {
          thread.nanosleep((i + 1) * kMs);
          if (thread.futex_wait(first, 0) == 0) woken_order.push_back(i);
          return 0;
        });
      }
      self.nanosleep(10 * kMs);
      // The word must still hold val3: it holds 0, not 7.
      changed = self.futex(first, sys::kFutexCmpRequeue | kPrivate, 1, 1, second, 7);
      negative = self.futex(first, sys::kFutexCmpRequeue | kPrivate, 1, static_cast<std::uint32_t>(-1), second, 0);
      // Wake thread 0, move thread 1; threads 2 and 3 stay.
      requeued = self.futex(first, sys::kFutexCmpRequeue | kPrivate, 1, 1, second, 0);
      first_after = waiters(f, self, first);
      second_after = waiters(f, self, second);
      self.nanosleep(kMs);
      wake_second = self.futex_wake(second, 5);
      self.nanosleep(kMs);
      // FUTEX_REQUEUE (no compare), waking none and moving one: thread 2 moves, 3 stays.
      plain = self.futex(first, sys::kFutexRequeue | kPrivate, 0, 1, second);
      self.nanosleep(kMs);
      wake_first = self.futex_wake(first, 5);
      self.nanosleep(kMs);
      self.futex_wake(second, 5);
      self.nanosleep(kMs);
      return 0;
    });
    return 0;
  });
  CHECK(changed == errno_of(sys::Errno::kEAGAIN));
  CHECK(negative == errno_of(sys::Errno::kEINVAL));
  CHECK(requeued == 2);
  CHECK(first_after == 2);
  CHECK(second_after == 1);
  CHECK(wake_second == 1);
  CHECK(plain == 1);
  CHECK(wake_first == 1);
  CHECK(woken_order == std::vector<int>{0, 1, 3, 2});
  CHECK(f.core().futexes().queue_count() == 0);
}

TEST_CASE("a futex waiter killed by a signal leaves the futex's queue", "[kernel][futex]") {
  KernelFixture f;
  std::size_t queues_while_waiting = 0, queues_after = 9;
  bool returned_from_wait = false;
  int status = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.futex_wait(map_page(self), 0);
      returned_from_wait = true;
      return 0;
    });
    init.nanosleep(kMs);
    queues_while_waiting = f.core().futexes().queue_count();
    init.syscall(sys::nr::kill, static_cast<std::uint64_t>(child), sys::kSigKill);
    init.waitpid(child, &status);
    queues_after = f.core().futexes().queue_count();
    return 0;
  });
  CHECK(queues_while_waiting == 1);
  CHECK(queues_after == 0);
  CHECK_FALSE(returned_from_wait);
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigKill);
}

TEST_CASE("a thread waiting on a futex when its process exits leaves the futex's queue", "[kernel][futex]") {
  KernelFixture f;
  std::size_t waiting = 0, queues_after = 9;
  int status = -1;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      const mmu::VirtAddr word = map_page(self);
      self.spawn_thread([&](user::Process& thread) {
        thread.futex_wait(word, 0);
        return 1;
      });
      self.nanosleep(kMs);
      waiting = waiters(f, self, word);
      return 3;  // exit_group: the waiting thread goes too
    });
    init.waitpid(child, &status);
    queues_after = f.core().futexes().queue_count();
    return 0;
  });
  CHECK(waiting == 1);
  CHECK(queues_after == 0);
  CHECK(sys::exited_normally(status));
  CHECK(sys::exit_code(status) == 3);
}

TEST_CASE("a futex in MAP_SHARED memory is shared by a parent and its forked child unless private",
          "[kernel][futex]") {
  KernelFixture f;
  const bool private_flag = GENERATE(false, true);
  std::int64_t woke = -1, child_wait = -1;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr word = map_page(init, sys::kMapShared | sys::kMapAnonymous);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      child_wait = self.futex_wait(word, 0, 5 * kMs, private_flag);
      return 0;
    });
    init.nanosleep(kMs);
    woke = init.futex_wake(word, 1, private_flag);
    init.waitpid(child, nullptr);
    return 0;
  });
  if (private_flag) {
    // Private keys are (address space, address): the child's is not the parent's.
    CHECK(woke == 0);
    CHECK(child_wait == errno_of(sys::Errno::kETIMEDOUT));
  } else {
    CHECK(woke == 1);
    CHECK(child_wait == 0);
  }
}

TEST_CASE("a shared futex is keyed by the shared object and offset, so two addresses of one page are one futex",
          "[kernel][futex]") {
  KernelFixture f;
  std::int64_t woke = -1, child_wait = -1;
  bool aliased = false;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr page = map_page(init, sys::kMapShared | sys::kMapAnonymous);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      // Map the same shared object a second time, elsewhere in the child (what a second
      // mmap of one shm file would do).
      kernel::AddressSpace& mm = *f.core().find_task(self.gettid())->mm;
      kernel::Vma alias = *mm.find_vma(page);
      const auto free = mm.find_free_area(alias.length());
      if (!free) return 1;
      alias.shared_offset += page - alias.start;
      alias.start = free.value();
      alias.end = alias.start + 4096;
      aliased = mm.insert_vma(alias).ok();
      self.store<std::uint32_t>(alias.start + 8, 1);  // the waiter's view of word (page + 8)
      child_wait = self.futex_wait(alias.start + 8, 1, 5 * kMs, false);
      return 0;
    });
    init.nanosleep(kMs);
    const bool seen = init.load<std::uint32_t>(page + 8) == 1;
    woke = seen ? init.futex_wake(page + 8, 1, false) : -100;
    init.waitpid(child, nullptr);
    return 0;
  });
  REQUIRE(aliased);
  CHECK(woke == 1);
  CHECK(child_wait == 0);
}

TEST_CASE("a kernel torn down while a task waits on a futex unwinds the waiter cleanly", "[kernel][futex]") {
  std::size_t queues_at_end = 0;
  {
    KernelFixture f;
    f.run(
        [&](user::Process& init) {
          init.fork([&](user::Process& self) { return self.futex_wait(map_page(self), 0) == 0 ? 0 : 1; });
          return 0;
        },
        5 * kMs);  // init reaps children until none is left: the run ends at the limit
    queues_at_end = f.core().futexes().queue_count();
  }  // ~Kernel unwinds the waiting task's fiber; its waiter leaves the table as it goes
  CHECK(queues_at_end == 1);
}
