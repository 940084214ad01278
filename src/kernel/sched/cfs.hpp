#pragma once

// The Completely Fair Scheduler (Linux's kernel/sched/fair.c, before EEVDF, without group
// scheduling or load balancing). Each task has a virtual runtime: the CPU time it has
// had, scaled by 1024 / its weight (nice 0 weighs 1024, each nice step about 1.25x). Each
// CPU runs the runnable task with the smallest virtual runtime, kept in a red-black tree,
// for a slice of the scheduling period proportional to its weight:
//
//     period = max(sched_latency, nr_running x min_granularity)
//     slice  = period x weight / total weight of the run queue
//
// so over time the CPU is shared in proportion to the weights. A per-CPU min_vruntime
// (monotonic) is the reference a task joining the queue is placed against:
//   - a new task starts at max(its parent's vruntime, min_vruntime + its slice in
//     vruntime) (START_DEBIT: it cannot cut in front of the tasks already sharing the
//     period; fork copies policy_data);
//   - a waking task at max(its vruntime, min_vruntime - sched_latency / 2)
//     (GENTLE_FAIR_SLEEPERS: a sleeper gets a bounded credit, not its whole sleep).
// A waking task preempts the running one if the running one's vruntime is ahead of its
// own by more than wakeup_granularity (in the woken task's vruntime scale). sched_yield
// marks the caller to be passed over at the next pick (the skip buddy).
//
// CPU selection for a waking or new task is round robin's
// (Scheduler::idle_or_least_loaded_cpu); there is no periodic load balancing, so a task
// changes CPU only when it wakes.
//
// Per-task state lives in SchedEntity::policy_data:
//   [0] vruntime, in picoseconds of virtual time;
//   [1] the se.total_runtime already charged to vruntime (the next charge is the rest);
//   [2] the CPU whose min_vruntime [0] is measured against (a task moved to another CPU
//       keeps its distance to min_vruntime, as Linux's migrate does);
//   [3] unused.
// The weight is always the one of se.params.nice: nice changes go through
// params_changed(), which moves the task's weight in the run-queue load from the old
// value to the new.

#include <cstdint>
#include <vector>

#include <boost/intrusive/set.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class CfsClass final : public SchedClass {
 public:
  static constexpr std::uint64_t kNiceZeroWeight = 1024;

  CfsClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);

  /// Linux's sched_prio_to_weight: the load weight of `nice` (clamped to -20..19).
  static std::uint64_t weight_of_nice(int nice);
  /// A task's virtual runtime (policy_data[0]).
  static std::uint64_t vruntime(const Task& task) { return task.se.policy_data[0]; }

  std::string_view name() const override { return "cfs"; }
  void enqueue(RunQueue& rq, Task& task, EnqueueReason reason) override;
  void dequeue(RunQueue& rq, Task& task, DequeueReason reason) override;
  Task* pick_next(RunQueue& rq) override;
  std::size_t peek_upcoming(const RunQueue& rq, const Task** upcoming, std::size_t max) const override;
  void put_prev(RunQueue& rq, Task& prev) override;
  void task_tick(RunQueue& rq, Task& curr) override;
  void check_preempt(RunQueue& rq, Task& woken) override;
  unsigned select_cpu(Task& task, unsigned prev_cpu) override;
  void yield(RunQueue& rq, Task& curr) override;
  sim::Tick slice_end(RunQueue& rq, Task& curr) override;
  void params_changed(RunQueue& rq, Task& task, const SchedParams& old) override;
  void set_curr(RunQueue& rq, Task& task) override;

 private:
  /// Orders the tree by vruntime, then tid, so that equal vruntimes pick deterministically.
  struct ByVruntime {
    bool operator()(const Task& a, const Task& b) const;
  };
  using Tree = TaskTree<ByVruntime>;

  /// One CPU's fair run queue (Linux's cfs_rq).
  struct CfsRq {
    Tree tree;                       // the queued tasks but the running one
    Task* curr = nullptr;            // the picked task, out of the tree while it runs
    Task* skip = nullptr;            // passed over at the next pick (sched_yield)
    std::uint64_t min_vruntime = 0;  // monotonic
    std::uint64_t load = 0;          // weights of the queued tasks, curr included
    std::uint64_t nr_running = 0;    // queued tasks, curr included
  };

  /// Charges curr's runtime since the last charge to its vruntime, first bringing the
  /// core's accounting up to the CPU's clock when curr is on the CPU.
  void update_curr(RunQueue& rq);
  /// Charges `task`'s runtime since the last charge to its vruntime.
  void charge(CfsRq& cfs, Task& task);
  /// Moves min_vruntime up to the smallest vruntime of the runnable tasks.
  void update_min_vruntime(CfsRq& cfs);
  /// The task's slice of the period; `queued` says whether it is already in the load.
  sim::Tick sched_slice(const CfsRq& cfs, const Task& task, bool queued) const;
  void resched_curr(RunQueue& rq);

  Scheduler& core_;
  CfsTunables tunables_;
  std::vector<CfsRq> rqs_;
};

}  // namespace ossim::kernel
