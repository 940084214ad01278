#pragma once

// The real-time class (Linux's kernel/sched/rt.c): SCHED_FIFO and SCHED_RR, priorities
// 1-99, the higher number first. Each CPU has one FIFO list per priority and a bitmap of
// the non-empty lists, so that pick_next is O(1): the head of the highest non-empty list.
//
// Where a task goes in its priority's list (POSIX's rules, as Linux keeps them):
//   - a task that wakes, is created, migrates in or joins the class: the tail;
//   - a task preempted by a higher-priority task (or by a higher class): the head, so that
//     it resumes before the others of its priority;
//   - sched_yield: the tail;
//   - SCHED_RR, when its time slice (SchedulerConfig::quantum) is used up: the tail, with
//     a new slice. The slice is enforced exactly (slice_end, the hrtick). A preempted RR
//     task keeps what is left of its slice (POSIX: it "completes the unexpired portion");
//   - a priority change (sched_setparam...) of a queued or running task: the tail of the
//     new list if the priority was raised, the head if it was lowered, no move if it is
//     unchanged (POSIX's pthread_setschedprio rules, which Linux's __sched_setscheduler
//     follows with ENQUEUE_HEAD). A running task whose priority is raised takes its
//     tail place when it next stops running.
// A waking task preempts the running real-time task at once if its priority is higher
// (equal: it waits its turn). SCHED_FIFO has no slice: it runs until it blocks, yields or
// is preempted.
//
// CPU selection for a waking or new task (Linux's find_lowest_rq): among the CPUs the task may run on, an idle one (its previous CPU first), else
// the one whose highest-priority work is the lowest (a CPU running or holding only fair
// tasks before one running a real-time task of a lower priority...; deadline tasks count
// above every real-time priority), its previous CPU on a tie. The core pushes and pulls
// queued tasks between CPUs by priority (prefers(); Scheduler::pull_realtime). There is
// no RT throttling (Linux's sched_rt_runtime_us 95 %): a real-time hog starves the fair
// tasks of its CPU, as on Linux with throttling off.
//
// pick_next passes over a queued task that may no longer run on its CPU (its affinity
// changed while it ran): picking it again would keep the core from switching away, which
// is when the core migrates it.
//
// Per-task state: what an RR task has left of its slice, kept by the class and dropped in
// detach() (policy_data is left alone, so a task that goes back to the fair slot finds its
// words intact).

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <boost/intrusive/list.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "ossim/sys/sched.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class RtClass final : public SchedClass {
 public:
  static constexpr int kPriorityLevels = sys::kRtPriorityMax + 1;  // 0 unused

  RtClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);

  std::string_view name() const override { return "rt"; }
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
  void detach(Task& task) override;
  /// The higher real-time priority first.
  bool prefers(const Task& a, const Task& b) const override {
    return a.se.params.rt_priority > b.se.params.rt_priority;
  }

  /// The highest priority queued (not running) on `cpu`'s run queue, or 0 if none.
  int highest_queued_priority(unsigned cpu) const;

 private:
  using List = TaskRunList;

  /// Which priorities have a non-empty list: two words, bit p for priority p.
  class PriorityBitmap {
   public:
    void set(int priority) { words_[priority / 64] |= std::uint64_t{1} << (priority % 64); }
    void clear(int priority) { words_[priority / 64] &= ~(std::uint64_t{1} << (priority % 64)); }
    /// The highest priority set, or 0 if none (Linux's sched_find_first_bit).
    int highest() const;

   private:
    std::array<std::uint64_t, 2> words_{};
  };

  /// One CPU's real-time run queue (Linux's rt_rq).
  struct RtRq {
    PriorityBitmap bitmap;
    std::array<List, kPriorityLevels> lists;  // the queued tasks but the running one
    Task* curr = nullptr;                     // the picked task, out of the lists while it runs
    bool curr_to_tail = false;                // put_prev sends curr to the tail, not the head
    sim::Tick curr_picked_runtime = 0;        // curr's total_runtime when it was picked
  };

  void insert(RtRq& rt, Task& task, bool at_head);
  void remove(RtRq& rt, Task& task, int priority);
  /// The RR slice `task` has left (a full quantum unless it was preempted in one).
  sim::Tick slice_left(const Task& task) const;
  /// Charges curr's runtime since it was picked (or last charged) to its RR slice.
  void charge_slice(RtRq& rt, Task& curr);
  /// Whether `task` (queued here, not running) should take the CPU from rq.curr.
  bool preempts(const RunQueue& rq, const Task& task) const;
  /// How much a CPU's current and queued work outranks a real-time task: -1 idle, 0 fair
  /// only, 1-99 a real-time priority, 100 a deadline task.
  int cpu_level(unsigned cpu) const;

  Scheduler& core_;
  sim::Tick quantum_;
  std::vector<RtRq> rqs_;
  /// What RR tasks that were preempted mid-slice have left of it (absent: a full quantum).
  std::unordered_map<const Task*, sim::Tick> slice_left_;
};

}  // namespace ossim::kernel
