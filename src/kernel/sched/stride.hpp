#pragma once

// Stride scheduling (Waldspurger, 1995; OSTEP chapter 9): lottery's proportional share
// without the luck. Each task has a stride, inversely proportional to its tickets,
//
//     stride = kStride1 / tickets          (kStride1 = 2^20)
//
// and a pass, which grows by its stride for every quantum of CPU time it uses, in
// proportion for part of a quantum (pass += stride x runtime / quantum, the remainder of
// the division carried to the next charge, so that nothing is lost to rounding). Each CPU
// runs the queued task with the smallest pass for one quantum (config.quantum, enforced
// exactly by the hrtick); over any stretch of time each task's CPU time is proportional
// to its tickets within about one quantum.
//
// Conventions:
//   - Ties of pass go to the lower tid.
//   - A task joining a run queue cannot monopolise the CPU with a pass far behind the
//     others': a new task, or one joining from another class, starts at the queue's
//     minimum pass; a waking or migrated task gets max(its pass, the queue's minimum
//     pass), its pass first moved to the new CPU's scale if it comes from another CPU
//     (it keeps its distance to the minimum pass, as CFS's vruntime does). The minimum
//     pass of a run queue is the smallest pass of its queued and running tasks, never
//     decreasing.
//   - A waking or new task never preempts: it waits for the running task's quantum to
//     end. sched_yield() ends the caller's quantum (it is charged for the time it used)
//     and it is picked again if its pass is still the smallest.
//   - New tickets (params_changed) change the stride from then on; the running task's
//     time so far is charged at its old stride.
//   - A task with 0 tickets counts as holding 1. Nice and declared lengths are ignored.
//
// CPU selection for a waking or new task: Scheduler::idle_or_least_loaded_cpu.
//
// Per-task state in SchedEntity::policy_data:
//   [0] pass;
//   [1] the CPU whose minimum pass [0] is measured against;
//   [2] the remainder of the last charge's division (in stride x picoseconds);
//   [3] unused.

#include <cstdint>
#include <vector>

#include <boost/intrusive/set.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class StrideClass final : public SchedClass {
 public:
  static constexpr std::uint64_t kStride1 = std::uint64_t{1} << 20;

  StrideClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);

  /// The stride of a task holding `tickets`.
  static std::uint64_t stride_of(std::uint32_t tickets);
  /// A task's pass (policy_data[0]).
  static std::uint64_t pass(const Task& task) { return task.se.policy_data[0]; }

  std::string_view name() const override { return "stride"; }
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
  /// Orders the tree by pass, then tid.
  struct ByPass {
    bool operator()(const Task& a, const Task& b) const;
  };
  using Tree = TaskTree<ByPass>;

  /// One CPU's queue.
  struct StrideRq {
    Tree tree;                    // the queued tasks but the running one
    Task* curr = nullptr;         // the picked task, out of the tree while it runs
    sim::Tick charged = 0;        // curr's se.total_runtime at its last charge
    std::uint64_t min_pass = 0;   // monotonic
  };

  /// Advances curr's pass by its runtime since the last charge, at `tickets`' stride.
  void charge(StrideRq& stride, Task& curr, std::uint32_t tickets);
  /// Moves min_pass up to the smallest pass of the queued and running tasks.
  static void update_min_pass(StrideRq& stride);

  Scheduler& core_;
  sim::Tick quantum_;
  std::vector<StrideRq> rqs_;
};

}  // namespace ossim::kernel
