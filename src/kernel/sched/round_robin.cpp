#include "kernel/sched/round_robin.hpp"

#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

RoundRobinClass::RoundRobinClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config)
    : core_(core), quantum_(config.quantum), queues_(cpus) {}

void RoundRobinClass::enqueue(RunQueue& rq, Task& task, EnqueueReason) {
  queues_[rq.cpu].push_back(task);
}

void RoundRobinClass::dequeue(RunQueue& rq, Task& task, DequeueReason) {
  // The running task is not in the queue (pick_next took it out).
  if (task.run_list.is_linked()) queues_[rq.cpu].erase(queues_[rq.cpu].iterator_to(task));
}

std::size_t RoundRobinClass::peek_upcoming(const RunQueue& rq, const Task** upcoming, std::size_t max) const {
  return first_tasks(queues_[rq.cpu], upcoming, max);
}

Task* RoundRobinClass::pick_next(RunQueue& rq) {
  Queue& queue = queues_[rq.cpu];
  if (queue.empty()) return nullptr;
  Task& next = queue.front();
  queue.pop_front();
  return &next;
}

void RoundRobinClass::put_prev(RunQueue& rq, Task& prev) {
  if (prev.se.on_rq && !prev.run_list.is_linked()) queues_[rq.cpu].push_back(prev);
}

void RoundRobinClass::task_tick(RunQueue& rq, Task& curr) {
  if (curr.se.slice_runtime >= quantum_) core_.resched(rq, curr.ctx().cpu().now(), &curr.ctx().cpu());
}

void RoundRobinClass::check_preempt(RunQueue&, Task&) {
  // Round robin never preempts for a wakeup: the woken task waits its turn.
}

unsigned RoundRobinClass::select_cpu(Task& task, unsigned prev_cpu) {
  return core_.idle_or_least_loaded_cpu(task, prev_cpu);
}

void RoundRobinClass::yield(RunQueue&, Task& curr) {
  curr.need_resched = true;  // put_prev sends it to the tail
}

sim::Tick RoundRobinClass::slice_end(RunQueue&, Task& curr) {
  return sim::tick_add(curr.se.slice_start, quantum_ > curr.se.slice_runtime ? quantum_ - curr.se.slice_runtime : 0);
}

void RoundRobinClass::params_changed(RunQueue&, Task&, const SchedParams&) {}

void RoundRobinClass::set_curr(RunQueue& rq, Task& task) {
  if (task.run_list.is_linked()) queues_[rq.cpu].erase(queues_[rq.cpu].iterator_to(task));
}

}  // namespace ossim::kernel
