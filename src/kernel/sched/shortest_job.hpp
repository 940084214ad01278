#pragma once

// Shortest job first (SJF) and shortest time-to-completion first (STCF, also called
// shortest remaining time first): OSTEP chapter 7's policies for jobs whose length is
// known in advance. Each task declares its job's CPU length (se.params.expected_runtime,
// set through sched_attr.sched_expected_runtime); its remaining length is
//
//     remaining = expected_runtime - se.total_runtime   (0 once it has run longer)
//
// and each CPU runs the queued task with the shortest remaining length. A task of unknown
// length (expected_runtime == kTickNever) counts as longer than every known one.
//
//   - SJF never preempts: the task picked runs until it blocks, yields or exits.
//   - STCF preempts the running task when a task is woken, created or migrated onto its
//     run queue (or gets a new declared length) whose remaining length is strictly
//     shorter than the running task's (brought up to date first). Equal lengths do not
//     preempt. There is no slice in either (slice_end() is kTickNever): the order of the
//     queue changes only when a task joins it.
//
// Conventions:
//   - Ties of remaining length go to the task that joined the run queue first (a sequence
//     number taken when it is enqueued: new, woken, migrated, changing class, and again
//     when it yields), then to the lower tid. A task put back after being preempted (by a
//     shorter task, or by a higher class) keeps its number, so it keeps its place among
//     equals.
//   - sched_yield() re-queues the caller behind the tasks of the same remaining length; it
//     runs again at once if it is still strictly the shortest.
//   - A queued task's remaining length is fixed while it waits (only the running task's
//     runtime grows), so the queue is a tree keyed by the remaining length the task had
//     when it was queued. A new declared length (params_changed) re-sorts the task.
//   - Nice and tickets are ignored.
//
// CPU selection for a waking or new task: Scheduler::idle_or_least_loaded_cpu.
//
// Per-task state in SchedEntity::policy_data:
//   [0] the remaining length the task is sorted by (kTickNever: unknown);
//   [1] its queue sequence number;
//   [2], [3] unused.

#include <cstdint>
#include <vector>

#include <boost/intrusive/set.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class ShortestJobClass : public SchedClass {
 public:
  /// The remaining declared length of `task`'s job as of its accounted runtime
  /// (kTickNever when it declared none).
  static sim::Tick remaining_length(const Task& task);

  void enqueue(RunQueue& rq, Task& task, EnqueueReason reason) override;
  void dequeue(RunQueue& rq, Task& task, DequeueReason reason) override;
  Task* pick_next(RunQueue& rq) override;
  void put_prev(RunQueue& rq, Task& prev) override;
  void task_tick(RunQueue& rq, Task& curr) override;
  void check_preempt(RunQueue& rq, Task& woken) override;
  unsigned select_cpu(Task& task, unsigned prev_cpu) override;
  void yield(RunQueue& rq, Task& curr) override;
  sim::Tick slice_end(RunQueue& rq, Task& curr) override;
  void params_changed(RunQueue& rq, Task& task, const SchedParams& old) override;
  void set_curr(RunQueue& rq, Task& task) override;

 protected:
  /// `preemptive`: STCF's check on wakeups; SJF's otherwise.
  ShortestJobClass(Scheduler& core, unsigned cpus, bool preemptive);

 private:
  /// Orders the tree by remaining length, then queue sequence, then tid.
  struct ByRemainingLength {
    bool operator()(const Task& a, const Task& b) const;
  };
  using Tree = TaskTree<ByRemainingLength>;

  /// One CPU's queue.
  struct ShortestJobRq {
    Tree tree;             // the queued tasks but the running one
    Task* curr = nullptr;  // the picked task, out of the tree while it runs
    bool yielded = false;  // curr called sched_yield(): it takes a new sequence number
  };

  /// Puts `task` in the tree under its current remaining length.
  void insert(ShortestJobRq& queue, Task& task);
  /// STCF: whether `candidate` should take the CPU from the running task of `rq`.
  bool shorter_than_running(RunQueue& rq, const Task& candidate);

  Scheduler& core_;
  bool preemptive_;
  std::uint64_t next_sequence_ = 0;
  std::vector<ShortestJobRq> rqs_;
};

/// SJF: shortest declared job first, never preempting.
class SjfClass final : public ShortestJobClass {
 public:
  SjfClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);
  std::string_view name() const override { return "sjf"; }
};

/// STCF: shortest remaining declared length first, preempting on arrival.
class StcfClass final : public ShortestJobClass {
 public:
  StcfClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);
  std::string_view name() const override { return "stcf"; }
};

}  // namespace ossim::kernel
