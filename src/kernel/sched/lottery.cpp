#include "kernel/sched/lottery.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ossim/cpu/cpu.hpp"
#include "ossim/sim/engine.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

namespace {

std::uint64_t& held_tickets_of(Task& task) { return task.se.policy_data[0]; }

std::uint64_t tickets_of(const Task& task) { return std::max<std::uint64_t>(1, task.se.params.tickets); }

}  // namespace

LotteryClass::LotteryClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config)
    : core_(core), quantum_(config.quantum) {
  rqs_.reserve(cpus);
  for (unsigned cpu = 0; cpu < cpus; ++cpu) {
    rqs_.emplace_back(core.kernel().engine().random_stream(fmt::format("sched.lottery.cpu{}", cpu)));
  }
}

void LotteryClass::add(LotteryRq& lottery, Task& task) {
  held_tickets_of(task) = tickets_of(task);
  lottery.tickets += held_tickets_of(task);
  lottery.queue.push_back(task);
}

void LotteryClass::remove(LotteryRq& lottery, Task& task) {
  lottery.tickets -= held_tickets_of(task);
  lottery.queue.erase(lottery.queue.iterator_to(task));
}

void LotteryClass::enqueue(RunQueue& rq, Task& task, EnqueueReason) { add(rqs_[rq.cpu], task); }

void LotteryClass::dequeue(RunQueue& rq, Task& task, DequeueReason) {
  // The running task is not in the queue (pick_next took it out).
  if (task.run_list.is_linked()) remove(rqs_[rq.cpu], task);
}

Task* LotteryClass::pick_next(RunQueue& rq) {
  LotteryRq& lottery = rqs_[rq.cpu];
  if (lottery.queue.empty()) return nullptr;
  Task* winner = &lottery.queue.front();
  if (std::next(lottery.queue.begin()) != lottery.queue.end()) {
    std::uint64_t ticket = lottery.random.uniform_below(lottery.tickets);
    for (Task& task : lottery.queue) {
      if (ticket < held_tickets_of(task)) {
        winner = &task;
        break;
      }
      ticket -= held_tickets_of(task);
    }
  }
  remove(lottery, *winner);
  return winner;
}

void LotteryClass::put_prev(RunQueue& rq, Task& prev) {
  if (prev.se.on_rq && !prev.run_list.is_linked()) add(rqs_[rq.cpu], prev);
}

void LotteryClass::task_tick(RunQueue& rq, Task& curr) {
  if (curr.se.slice_runtime >= quantum_) core_.resched(rq, curr.ctx().cpu().now(), &curr.ctx().cpu());
}

void LotteryClass::check_preempt(RunQueue&, Task&) {
  // A woken task waits for the next draw.
}

unsigned LotteryClass::select_cpu(Task& task, unsigned prev_cpu) {
  return core_.idle_or_least_loaded_cpu(task, prev_cpu);
}

void LotteryClass::yield(RunQueue&, Task& curr) {
  curr.need_resched = true;  // put_prev sends it to the tail; the pick draws again
}

sim::Tick LotteryClass::slice_end(RunQueue&, Task& curr) {
  return sim::tick_add(curr.se.slice_start, quantum_ > curr.se.slice_runtime ? quantum_ - curr.se.slice_runtime : 0);
}

void LotteryClass::params_changed(RunQueue& rq, Task& task, const SchedParams& old) {
  if (task.se.params.tickets == old.tickets || !task.run_list.is_linked()) return;
  // A queued task's tickets count from now on; the running one's from its next queueing.
  LotteryRq& lottery = rqs_[rq.cpu];
  lottery.tickets -= held_tickets_of(task);
  held_tickets_of(task) = tickets_of(task);
  lottery.tickets += held_tickets_of(task);
}

void LotteryClass::set_curr(RunQueue& rq, Task& task) {
  if (task.run_list.is_linked()) remove(rqs_[rq.cpu], task);
}

}  // namespace ossim::kernel
