#pragma once

// Futexes, the kernel half of user-space locks (Linux's kernel/futex/). A futex is a
// 32-bit word in user memory; user code changes it with atomic instructions and enters
// the kernel only to sleep until the word changes (FUTEX_WAIT) or to wake sleepers
// (FUTEX_WAKE). The kernel keeps no state for a word that nobody waits on.
//
//   key     which futex a user address names, as Linux's get_futex_key():
//             private (kFutexPrivateFlag, or a word in a private mapping):
//               (address space, virtual address), so threads sharing an address space
//               share it and nobody else does;
//             shared (a word in a MAP_SHARED mapping, without kFutexPrivateFlag):
//               (backing object, byte offset in it), where the object is the mapping's
//               SharedMemory or Inode, so processes mapping one object at different
//               addresses share it.
//   queue   the waiters on one key: a WaitQueue in arrival order, made on the first wait
//           and dropped when its last waiter leaves (woken, timed out, interrupted,
//           killed, or unwound at teardown). A queue pins its backing object, so a key's
//           address cannot be reused by another object while anyone waits on it.
//   waiter  one sleeping task, on its own kernel stack for the duration of the wait,
//           with the bitset it waits for. A waker takes it off its queue before waking
//           it, so a wake counts each waiter once and a woken waiter returns 0 even if a
//           timeout or signal comes at the same time.
//
// Atomicity: kernel code runs without interleaving with other CPUs except at its own
// memory accesses (docs/architecture.md, "Kernel code is atomic in simulated time"). A
// waiter reads the word with its last instruction boundary before it is queued, so a
// waker that stores to the word and then calls FUTEX_WAKE ran either before that read
// (and the waiter sees the new value: EAGAIN) or after the waiter is queued (and wakes
// it). That is what Linux's hash-bucket lock guarantees; no wakeup is lost.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "ossim/mmu/address.hpp"
#include "ossim/sim/tick.hpp"
#include "kernel/result.hpp"
#include "kernel/task/wait_queue.hpp"

namespace ossim::cpu {
class Cpu;
}

namespace ossim::kernel {

class Task;

/// Which futex a user address names: the object it lives in (an AddressSpace for a
/// private futex, a SharedMemory or an Inode for a shared one) and its offset there (the
/// virtual address, or the byte offset in the object).
struct FutexKey {
  const void* object = nullptr;
  std::uint64_t offset = 0;
  friend bool operator==(const FutexKey&, const FutexKey&) = default;
};

/// The futexes of one kernel: the queues of the words someone waits on.
class FutexTable {
 public:
  FutexTable() = default;
  FutexTable(const FutexTable&) = delete;
  FutexTable& operator=(const FutexTable&) = delete;

  /// FUTEX_WAIT(_BITSET): if the word at `address` holds `expected`, sleeps until a wake
  /// whose bitset meets `bitset` (0: woken), until `deadline` (ETIMEDOUT; kTickNever:
  /// none) or until a signal is pending (EINTR). EAGAIN if the word holds another value,
  /// EINVAL for a zero bitset or a misaligned address, EFAULT for one not mapped.
  /// Returns on the task's (possibly new) CPU.
  Result<std::int64_t> wait(Task& task, mmu::VirtAddr address, bool private_key, std::uint32_t expected,
                            std::uint32_t bitset, sim::Tick deadline);
  /// FUTEX_WAKE(_BITSET): wakes up to `count` waiters whose bitsets meet `bitset`, oldest
  /// first; returns how many. As on Linux, a count of 0 or less wakes one.
  Result<std::int64_t> wake(Task& task, mmu::VirtAddr address, bool private_key, int count, std::uint32_t bitset);
  /// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes up to `wake_count` waiters of `from`, oldest
  /// first, and moves up to `requeue_count` of the others to `to`'s queue, where they wait
  /// as if they had called FUTEX_WAIT on it. With `expected`, first checks that the word at
  /// `from` holds it (EAGAIN otherwise). Returns the number woken plus the number moved
  /// (what Linux returns for both operations). EINVAL for a negative count.
  Result<std::int64_t> requeue(Task& task, mmu::VirtAddr from, mmu::VirtAddr to, bool private_key, int wake_count,
                               int requeue_count, std::optional<std::uint32_t> expected);

  /// How many futex words have waiters (each has a queue; none is kept empty).
  std::size_t queue_count() const { return queues_.size(); }
  /// How many tasks wait on the futex `address` names for `task` (0 for a bad address).
  std::size_t waiter_count(Task& task, mmu::VirtAddr address, bool private_key);

 private:
  struct Queue {
    FutexKey key;
    std::shared_ptr<const void> pin;  // the backing object, alive while anyone waits
    WaitQueue waiters;                // holds only Waiters
  };
  struct Waiter;
  /// A resolved futex address: its key and the object to pin while a queue uses it.
  struct Target {
    FutexKey key;
    std::shared_ptr<const void> pin;
  };
  struct KeyHash {
    std::size_t operator()(const FutexKey& key) const;
  };

  /// The key of the futex at `address` (already checked for alignment and range).
  static Result<Target> locate(Task& task, mmu::VirtAddr address, bool private_key);
  Queue* find(const FutexKey& key);
  Queue& obtain(const Target& target);
  /// Takes `waiter` off its queue (which may then be dropped).
  void leave(Waiter& waiter);
  void drop_if_empty(Queue& queue);
  /// Takes `waiter` off its queue without dropping the queue, marks it woken and makes
  /// its task runnable.
  static void wake_waiter(Waiter& waiter, sim::Tick now, const cpu::Cpu& waker);

  std::unordered_map<FutexKey, Queue, KeyHash> queues_;
};

}  // namespace ossim::kernel
