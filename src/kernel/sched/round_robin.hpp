#pragma once

// Round robin: one FIFO queue of runnable tasks per CPU; the task at the head runs for at
// most one quantum, then goes to the tail. A task that blocks, yields or is preempted also
// goes to the tail when it is runnable again. The quantum is enforced exactly (hrtick),
// not at the next timer tick.
//
// CPU selection for a waking or new task: its previous CPU if idle, else the idle CPU
// with the lowest number, else the CPU with the fewest runnable tasks (the previous CPU
// on a tie).
//
// Nice values do not change the order or the quantum.

#include <vector>

#include <boost/intrusive/list.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class RoundRobinClass final : public SchedClass {
 public:
  RoundRobinClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);

  std::string_view name() const override { return "rr"; }
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
  Scheduler& core_;
  sim::Tick quantum_;
  std::vector<Queue> queues_;
};

}  // namespace ossim::kernel
