#pragma once

// The multi-level feedback queue (OSTEP chapter 8). Each CPU has `levels` round-robin
// queues, level 0 the highest priority; each level has a quantum (the longest turn a task
// gets at once) and an allotment (the CPU time a task may use at that level, over any
// number of turns, before it moves down). The rules:
//
//   1, 2. The highest non-empty level runs; tasks of one level take turns (round robin),
//         each turn lasting at most the level's quantum.
//   3.    A task entering the class (new, or changing class) starts at the top level.
//   4.    Once a task has used its level's allotment (all the CPU time it had at that
//         level, however it was split between turns: giving up the CPU just before the
//         quantum ends does not reset it) it moves one level down with a fresh allotment.
//         The lowest level's allotment is never used up.
//   5.    Every `boost` of simulated time (at exactly k x boost; 0 = never) every task
//         moves to the top level with a fresh allotment.
//
// A turn ends when the task has run for its level's quantum or used the rest of its
// allotment, whichever comes first; the core preempts it at that exact time (slice_end,
// the hrtick). A waking or new task at a higher level than the running one preempts it
// (check_preempt); within a level nobody preempts.
//
// Conventions:
//   - Where a task goes when it is runnable again:
//       * its turn ended (quantum used, or allotment used and it moved down): the tail of
//         its (new) level, with a fresh quantum;
//       * it yielded: the tail of its level, with a fresh quantum, allotment use kept;
//       * it blocked (I/O) and woke: the tail of its level, with a fresh quantum; it keeps
//         its level and its allotment use (unless a boost happened while it slept);
//       * it was preempted (by a higher level or a higher class): the head of its level,
//         keeping the rest of its quantum, so that a task preempted over and over cannot
//         lose its turn to its level's other tasks;
//       * it is new or joins from another class: the tail of the top level;
//       * it was migrated to another CPU: the tail of its level there, everything kept.
//     Tasks that become runnable at the same time queue in the order the core enqueues
//     them.
//   - A boost at time t = k x boost (a timer event of the class): on each CPU the running
//     task's runtime is charged up to t, then every task of the class, running, queued or
//     asleep, is at the top level with a fresh allotment. The queued tasks keep their
//     relative order: the top level's queue first, then level 1's, and so on down. The
//     running task keeps the CPU (it is not preempted) and its turn restarts at t: it may
//     run a full top-level quantum from t. Sleeping tasks are boosted when they wake (each
//     task records the boost period, floor(time / boost), it was last brought up to
//     date in; waking in a later period means a boost happened while it slept), which is
//     the same as boosting them at t since a sleeping task uses no CPU.
//   - The boost event is armed only while some task of the class is queued or running
//     (every such task has an allotment that the boost must refresh), so that the engine
//     runs out of events once every task has exited or sleeps; it is never armed with
//     one level.
//   - Nice, tickets and declared lengths are ignored.
//   - The per-level lists of the configuration are read with their last value repeated
//     if they are shorter than `levels` (an empty allotment list means "the quanta").
//
// CPU selection for a waking or new task: Scheduler::idle_or_least_loaded_cpu.
//
// Per-task state in SchedEntity::policy_data:
//   [0] level (0 = top);
//   [1] CPU time used at that level (the allotment used), as of the last charge;
//   [2] CPU time used in the current turn (the quantum used), as of the last charge;
//   [3] the boost period the task's state was last brought up to date in.
// The running task's runtime since the last charge is se.total_runtime minus the run
// queue's `charged` mark.

#include <cstdint>
#include <vector>

#include <boost/intrusive/list.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "ossim/sim/event.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class MlfqClass final : public SchedClass {
 public:
  MlfqClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);

  /// The level `task` is at (0 = top), as of its last charge.
  static unsigned level_of(const Task& task) { return static_cast<unsigned>(task.se.policy_data[0]); }
  /// The allotment `task` has used at its level, as of its last charge.
  static sim::Tick allotment_used(const Task& task) { return task.se.policy_data[1]; }

  std::string_view name() const override { return "mlfq"; }
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

 private:
  using Queue = TaskRunList;

  /// One CPU's queues.
  struct MlfqRq {
    std::vector<Queue> levels;   // the queued tasks but the running one, per level
    Task* curr = nullptr;        // the picked task, out of the queues while it runs
    sim::Tick charged = 0;       // curr's se.total_runtime at its last charge
    bool turn_over = false;      // curr has used its quantum or moved down
    bool yielded = false;        // curr called sched_yield()
  };

  bool is_lowest(unsigned level) const { return level + 1 == levels_; }
  /// Charges curr's runtime since the last charge to its allotment and its turn; moves it
  /// down if its allotment is used up, and notes when its turn is over.
  void charge(MlfqRq& mlfq, Task& curr);
  /// Brings the core's accounting of rq's running task up to its CPU's clock, then
  /// charges it.
  void update_curr(RunQueue& rq);
  /// Sets `task` to the top level with a fresh allotment and turn, as of boost period
  /// `period`.
  void reset_to_top(Task& task, std::uint64_t period) const;
  std::uint64_t boost_period(sim::Tick when) const { return boost_ == 0 ? 0 : when / boost_; }
  /// A task joined or left the class's queued-or-running set: arms or cancels the boost.
  void member_joined(sim::Tick now);
  void member_left();
  /// Rule 5, run by boost_event_ at k x boost.
  void boost();

  Scheduler& core_;
  unsigned levels_;
  std::vector<sim::Tick> quantum_;
  std::vector<sim::Tick> allotment_;
  sim::Tick boost_;
  std::vector<MlfqRq> rqs_;
  std::uint64_t members_ = 0;  // tasks of the class queued or running, on all CPUs
  sim::CallbackEvent boost_event_;
};

}  // namespace ossim::kernel
