#pragma once

// The scheduling-class interface: what a policy implements (Linux's struct sched_class).
// The core (Scheduler) owns the per-CPU run queues, the states and the switch; a class
// only orders the runnable tasks of one run queue.
//
// Conventions the core keeps:
//   - enqueue() when a task becomes runnable on this run queue (new, woken, migrated in),
//     dequeue() when it stops being runnable here (blocks, exits, migrates out). The
//     running task counts as queued (on_rq) while it runs.
//   - pick_next() chooses the task to run next and takes it out of the class's ordering
//     while it runs; put_prev() is called when the running task stops running, whether it
//     is still queued (preempted, yielded: put it back) or not (it blocked and was
//     dequeued first).
//   - task_tick() runs on every timer tick for the running task; it may set
//     rq.curr->need_resched. check_preempt() runs when a task is woken or created on the
//     run queue and may preempt the running one the same way.
//   - slice_end() tells the core when the running task's slice ends, so that the core
//     can preempt it at that exact time (the hrtick); kTickNever means "only at ticks".
//   - params_changed() tells the class that a task of its own got new parameters (nice,
//     priority, tickets, declared length...; task.se.params holds the new ones, `old` the
//     previous ones), so that it can re-sort the task or move its weight; like
//     check_preempt() it may set rq.curr->need_resched.
//   - A task changing class: the old class dequeues it (if queued), the new one enqueues it
//     (EnqueueReason::kRequeue); if it is the running task the new class is then told so by
//     set_curr() (Linux's set_next_task: take it as picked).
//   - attach() is admission control, asked before a task joins the class or changes its
//     parameters in it (false: the caller gets EBUSY); detach() when it leaves the class or
//     dies. Both default to "nothing to track".
//   - select_cpu() must return a CPU in task.se.params.cpus_allowed.
//   - prefers() and pickable() let the core compare queued tasks of different CPUs (real-
//     time push and pull): whether one task of the class should run before another, and
//     whether a queued task could be picked at all. The fair-slot policies keep the
//     defaults: their tasks move by load balancing, not by priority.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ossim/sim/tick.hpp"
#include "kernel/sched/sched_params.hpp"

namespace ossim::kernel {

class Task;
struct RunQueue;

enum class EnqueueReason : std::uint8_t { kNew, kWakeup, kMigrate, kRequeue };
enum class DequeueReason : std::uint8_t { kSleep, kExit, kMigrate, kRequeue };

class SchedClass {
 public:
  virtual ~SchedClass() = default;
  virtual std::string_view name() const = 0;

  virtual void enqueue(RunQueue& rq, Task& task, EnqueueReason reason) = 0;
  virtual void dequeue(RunQueue& rq, Task& task, DequeueReason reason) = 0;
  /// The next task to run, or nullptr when this class has none runnable.
  virtual Task* pick_next(RunQueue& rq) = 0;
  virtual void put_prev(RunQueue& rq, Task& prev) = 0;
  virtual void task_tick(RunQueue& rq, Task& curr) = 0;
  virtual void check_preempt(RunQueue& rq, Task& woken) = 0;
  /// The CPU a waking or new task should run on (among `allowed`), given its last CPU.
  virtual unsigned select_cpu(Task& task, unsigned prev_cpu) = 0;
  /// sched_yield() by the running task.
  virtual void yield(RunQueue& rq, Task& curr) = 0;
  /// The time the running task's slice ends, or kTickNever.
  virtual sim::Tick slice_end(RunQueue& rq, Task& curr) = 0;
  /// `task` (of this class, on run queue `rq`, queued or not) has new parameters.
  virtual void params_changed(RunQueue& rq, Task& task, const SchedParams& old) = 0;
  /// The running task `task` has just joined this class: it is running, not in the queue.
  virtual void set_curr(RunQueue& rq, Task& task) = 0;
  /// Admission control for `task` joining the class or changing its parameters to `params`.
  virtual bool attach(Task& task, const SchedParams& params) {
    (void)task;
    (void)params;
    return true;
  }
  /// `task` leaves the class (a policy change, or its exit).
  virtual void detach(Task& task) { (void)task; }
  /// Whether `a` should run before `b`, both tasks of this class (on any CPUs).
  virtual bool prefers(const Task& a, const Task& b) const {
    (void)a;
    (void)b;
    return false;
  }
  /// Whether the queued task `task` of this class could be picked if it were on a CPU
  /// with nothing better (a throttled deadline task cannot).
  virtual bool pickable(const Task& task) const {
    (void)task;
    return true;
  }

  /// Up to `max` of the tasks pick_next() would return next from `rq`, in that order,
  /// without taking them: a hint, with which the core prefetches their state so that
  /// switching to them finds it in the host's caches. May give fewer; none by default.
  virtual std::size_t peek_upcoming(const RunQueue& rq, const Task** upcoming, std::size_t max) const {
    (void)rq;
    (void)upcoming;
    (void)max;
    return 0;
  }

  /// Position in the scheduler's stack of classes (lower runs first), set when the
  /// scheduler installs the class. Kept here because every wakeup compares ranks.
  std::size_t rank() const { return rank_; }

 private:
  friend class Scheduler;
  std::size_t rank_ = 0;
};

/// The first (up to `max`) tasks of `queue` in its order: peek_upcoming() for a class that
/// picks from the front of one queue.
template <typename Queue>
std::size_t first_tasks(const Queue& queue, const Task** upcoming, std::size_t max) {
  // No step past the last task taken: it reads that task's links, which are cold.
  if (max == 0) return 0;
  std::size_t count = 0;
  for (auto it = queue.begin(); it != queue.end(); ++it) {
    upcoming[count++] = &*it;
    if (count == max) break;
  }
  return count;
}

}  // namespace ossim::kernel
