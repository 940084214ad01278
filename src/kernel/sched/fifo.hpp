#pragma once

// First in, first out (OSTEP chapter 7's FIFO, also called first come, first served): one
// queue of runnable tasks per CPU; the task at the head runs until it blocks, yields or
// exits. There is no slice (slice_end() is kTickNever) and no preemption by a task of
// this class: a long job that arrives first makes every later job wait (the convoy
// effect).
//
// Conventions:
//   - a new, woken or migrated task goes to the tail (a task that blocks for I/O queues
//     again behind everyone that arrived meanwhile);
//   - sched_yield() sends the caller to the tail;
//   - a task taken off the CPU by a higher class (real-time, deadline) while still
//     runnable goes back to the head: it has not finished its turn;
//   - tasks that become runnable at the same time queue in the order the core enqueues
//     them (for spawned jobs, the order of their arrival events);
//   - nice, tickets and declared lengths are ignored.
//
// CPU selection for a waking or new task: Scheduler::idle_or_least_loaded_cpu.

#include <vector>

#include <boost/intrusive/list.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class FifoClass final : public SchedClass {
 public:
  FifoClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);

  std::string_view name() const override { return "fifo"; }
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
  using Queue = TaskRunList;

  /// One CPU's queue: the runnable tasks but the running one, in turn order.
  struct FifoRq {
    Queue queue;
    /// The running task called sched_yield(): put_prev sends it to the tail, not the head.
    Task* yielded = nullptr;
  };

  Scheduler& core_;
  std::vector<FifoRq> rqs_;
};

}  // namespace ossim::kernel
