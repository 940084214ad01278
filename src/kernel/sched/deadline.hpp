#pragma once

// The deadline class (Linux's kernel/sched/deadline.c): SCHED_DEADLINE, earliest deadline
// first with the constant bandwidth server. A task has a runtime Q, a relative deadline D
// and a period P (se.params.dl_*, Q <= D <= P), and, while it is in the class, a current
// absolute deadline and a remaining runtime (its entity, Linux's sched_dl_entity).
//
//   - EDF: each CPU runs its queued task with the earliest absolute deadline (a red-black
//     tree, ties by tid). A task that becomes runnable with an earlier deadline than the
//     running deadline task preempts it; equal deadlines do not preempt.
//   - CBS, at wakeup and when the task first becomes runnable in the class: if its
//     deadline has passed, or its remaining runtime cannot be used by the deadline
//     without exceeding its bandwidth (remaining / (deadline - now) > Q / D: Linux's
//     dl_entity_overflow), a new period starts: deadline = now + D, remaining = Q.
//     Otherwise it keeps both (a task cannot gain bandwidth by sleeping).
//   - Consumption: the remaining runtime falls with the task's CPU time, and the core
//     preempts the task when it reaches 0 (slice_end is exact). A task that stops running
//     with none left (remaining <= 0) is throttled: out of the EDF tree and not counted in
//     its run queue's nr_running (Linux's sub_running_nr) until its replenishment at
//     deadline - D + P (the start of its next period): deadline += P and remaining += Q,
//     repeated while remaining <= 0 (an overrun, possible with kernel costs, is paid
//     back). If the deadline is still in the past then, the task starts afresh from now
//     (Linux's replenish_dl_entity). It is then runnable again and may preempt. A task
//     that blocks with no runtime left stays throttled through its sleep until that
//     replenishment. A call made at the very instant the runtime runs out (reporting a
//     job, sleeping until the next one) happens before the preemption: the CPU lets
//     zero-time operations go before events due at its clock. sched_yield gives up the
//     rest of the current runtime (Linux's dl_yielded): the task waits for its next
//     period.
//   - A parameter change (sched_setattr on a deadline task) keeps the current deadline and
//     remaining runtime while the deadline lies ahead (a new period if it has passed), as
//     Linux's ENQUEUE_RESTORE does; the next period uses the new Q, D, P.
//
// Admission control (attach): the bandwidths Q/P of all deadline tasks, in fixed point
// with 20 fraction bits (Linux's to_ratio, rounded down), must add up to at most
// SchedulerConfig::deadline_bandwidth x the number of CPUs; otherwise the caller gets
// EBUSY. detach() gives the task's bandwidth back at once when it leaves the class or
// exits (Linux waits for its 0-lag time).
//
// CPU selection for a waking or new task: an idle CPU it may run on (its previous CPU
// first), else one running a task of a lower class, else the one whose running deadline
// task has the latest deadline (its previous CPU on a tie). The core's push and pull
// (Scheduler) then move queued deadline tasks between CPUs by deadline, as Linux does, so
// that on m CPUs the m earliest-deadline runnable tasks run: global EDF. Global EDF does
// not guarantee the deadlines of every set admission lets in on several CPUs (Dhall's
// effect); on one CPU it does, for tasks with D = P.
//
// As in the real-time class, pick_next passes over a task that may no longer run on its
// CPU, so that the core can switch away and migrate it; policy_data is left alone.
//
// Each deadline task's entity holds its replenishment timer (a sim::CallbackEvent), made
// in attach() and destroyed in detach(), so a task that has exited leaves no event behind.

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <boost/intrusive/set.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "ossim/sim/event.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class DeadlineClass final : public SchedClass {
 public:
  /// Bandwidths are fractions of one CPU with this many fraction bits (Linux's BW_SHIFT).
  static constexpr unsigned kBandwidthShift = 20;
  static constexpr std::uint64_t kOneCpu = std::uint64_t{1} << kBandwidthShift;

  DeadlineClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);
  ~DeadlineClass() override;

  /// runtime / period in fixed point (Linux's to_ratio), rounded down.
  static std::uint64_t to_ratio(sim::Tick period, sim::Tick runtime);

  /// The sum of the admitted tasks' bandwidths, and what admission allows in all.
  std::uint64_t total_bandwidth() const { return total_bandwidth_; }
  std::uint64_t bandwidth_capacity() const { return capacity_; }
  /// A deadline task's current absolute deadline and remaining runtime (tests, traces);
  /// kTickNever and 0 for a task not in the class.
  sim::Tick absolute_deadline(const Task& task) const;
  std::int64_t remaining_runtime(const Task& task) const;
  bool throttled(const Task& task) const;

  std::string_view name() const override { return "deadline"; }
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
  bool attach(Task& task, const SchedParams& params) override;
  void detach(Task& task) override;
  /// The earlier absolute deadline first (EDF across CPUs: push and pull make it global).
  bool prefers(const Task& a, const Task& b) const override;
  /// A throttled task waits for its replenishment, wherever it is.
  bool pickable(const Task& task) const override { return !throttled(task); }

 private:
  /// A deadline task's state in the class (Linux's sched_dl_entity).
  struct Entity {
    Entity(Task& owner, DeadlineClass& owner_class);

    Task& task;
    sim::Tick deadline = 0;           // absolute; 0 until its first period starts
    std::int64_t runtime = 0;         // remaining in the current period; < 0 after an overrun
    sim::Tick charged = 0;            // the task's total_runtime already taken from `runtime`
    std::uint64_t bandwidth = 0;      // Q / P, fixed point, as admitted
    bool throttled = false;           // out of runtime, waiting for the replenishment timer
    boost::intrusive::set_member_hook<> node;  // in its CPU's EDF tree while queued
    sim::CallbackEvent replenish_timer;
  };
  /// EDF order: the earlier absolute deadline first, then the lower tid.
  struct ByDeadline {
    bool operator()(const Entity& a, const Entity& b) const;
  };
  using Tree = boost::intrusive::multiset<
      Entity, boost::intrusive::member_hook<Entity, boost::intrusive::set_member_hook<>, &Entity::node>,
      boost::intrusive::compare<ByDeadline>>;

  /// One CPU's deadline run queue (Linux's dl_rq).
  struct DlRq {
    Tree tree;               // the queued, unthrottled entities but the running one
    Entity* curr = nullptr;  // the picked entity, out of the tree while it runs
  };

  Entity& entity(const Task& task) const;
  Entity* find_entity(const Task& task) const;
  /// Now, on the CPU running this code (or the engine's time on the host).
  sim::Tick now();
  /// Takes the running entity's CPU time since the last charge from its runtime.
  void charge(Entity& entity);
  /// The CBS wakeup rule (Linux's update_dl_entity).
  void update_on_wakeup(Entity& entity, sim::Tick now);
  /// A new period from `now`: deadline = now + D, runtime = Q.
  void start_period(Entity& entity, sim::Tick now);
  /// When the entity's next period begins: deadline - D + P.
  static sim::Tick next_period(const Entity& entity);
  /// The budget is used up: arms the replenishment timer and marks the entity throttled,
  /// or replenishes at once when its next period has already begun. Returns whether it
  /// is throttled.
  bool throttle(Entity& entity, sim::Tick now);
  /// Linux's replenish_dl_entity: periods forward until the runtime is positive.
  void replenish(Entity& entity, sim::Tick now);
  /// The replenishment timer fired: the entity is runnable again if its task is queued.
  void on_replenish(Entity& entity);
  /// Whether `entity` (queued on rq, not running) should take the CPU from rq.curr.
  bool preempts(const RunQueue& rq, const Entity& entity) const;

  Scheduler& core_;
  std::uint64_t capacity_;
  std::uint64_t total_bandwidth_ = 0;
  std::vector<DlRq> rqs_;
  std::unordered_map<const Task*, std::unique_ptr<Entity>> entities_;
};

}  // namespace ossim::kernel
