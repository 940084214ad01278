#pragma once

// Wait queues: the one way a task blocks. A task that must wait for something puts itself
// on the queue of that something (a pipe's readers, a parent's children, a sleep timer),
// sets its state to INTERRUPTIBLE or UNINTERRUPTIBLE and calls schedule(); whoever makes
// the condition true calls wake_up on the queue, which makes the waiters runnable again.
// Waiters re-check their condition when they run (wakeups may be spurious), as in
// Linux's wait_event().

#include <boost/intrusive/list.hpp>

namespace ossim::kernel {

class Task;

/// One task waiting on one queue; lives on the waiting task's stack for the wait.
struct WaitQueueEntry : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
  explicit WaitQueueEntry(Task& waiter) : task(&waiter) {}
  Task* task;
};

class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;

  bool empty() const { return waiters_.empty(); }
  void add(WaitQueueEntry& entry) { waiters_.push_back(entry); }
  static void remove(WaitQueueEntry& entry) {
    if (entry.is_linked()) entry.unlink();
  }
  template <typename Fn>
  void for_each(Fn&& fn) {
    // Waking may unlink entries (the woken task removes its own entry when it runs, not
    // now), so iterate over a stable list.
    for (auto& entry : waiters_) fn(*entry.task);
  }
  Task* first() { return waiters_.empty() ? nullptr : waiters_.front().task; }
  /// Calls `fn(entry)` on the entries, oldest first, while it returns true. `fn` may
  /// remove the entry it is given (futexes take their waiters off the queue as they wake
  /// or requeue them), but no other.
  template <typename Fn>
  void for_each_entry(Fn&& fn) {
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      WaitQueueEntry& entry = *it++;
      if (!fn(entry)) return;
    }
  }

 private:
  boost::intrusive::list<WaitQueueEntry, boost::intrusive::constant_time_size<false>> waiters_;
};

}  // namespace ossim::kernel
