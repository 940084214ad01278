#pragma once

// Lottery scheduling (Waldspurger and Weihl, 1994; OSTEP chapter 9). Each task holds
// tickets (se.params.tickets, 100 unless set through sched_attr.sched_tickets); each time
// a CPU picks a task it draws a winning ticket uniformly among the tickets of the tasks
// queued on it, and the holder runs for one quantum (config.quantum, enforced exactly by
// the hrtick). Over many quanta each task gets a share of the CPU close to its share of
// the tickets; over few, the luck of the draw shows.
//
// Conventions:
//   - Each CPU draws from its own random stream, engine.random_stream("sched.lottery.cpu<N>"),
//     so a run is reproduced exactly by its seed, and one CPU's draws do not depend on
//     another's.
//   - The draw covers the queued tasks, the one that just ran included (it is put back
//     first). The winning ticket w in [0, total) goes to the task whose range of tickets
//     holds it, the ranges laid out in queue order (the order tasks joined the queue). A
//     queue of one task is not drawn for (no number is used).
//   - After its quantum, or when it yields, blocks or is preempted by a higher class, the
//     task goes back to the queue's tail and the next pick draws again. A waking or new
//     task never preempts: it waits for the next draw.
//   - A task with 0 tickets counts as holding 1.
//   - Nice and declared lengths are ignored.
//
// CPU selection for a waking or new task: Scheduler::idle_or_least_loaded_cpu.
//
// Per-task state in SchedEntity::policy_data:
//   [0] the tickets the task holds in its run queue's total (its tickets when queued);
//   [1], [2], [3] unused.
// Picking is O(queued tasks); everything else is O(1).

#include <cstdint>
#include <vector>

#include <boost/intrusive/list.hpp>

#include "ossim/kernel/scheduler_config.hpp"
#include "ossim/sim/random.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

class Scheduler;

class LotteryClass final : public SchedClass {
 public:
  LotteryClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config);

  std::string_view name() const override { return "lottery"; }
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

  /// One CPU's lottery.
  struct LotteryRq {
    explicit LotteryRq(sim::RandomStream stream) : random(stream) {}
    Queue queue;                  // the queued tasks but the running one
    std::uint64_t tickets = 0;    // their tickets
    sim::RandomStream random;     // this CPU's draws
  };

  void add(LotteryRq& lottery, Task& task);
  void remove(LotteryRq& lottery, Task& task);

  Scheduler& core_;
  sim::Tick quantum_;
  std::vector<LotteryRq> rqs_;
};

}  // namespace ossim::kernel
