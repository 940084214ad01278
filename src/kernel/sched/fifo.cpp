#include "kernel/sched/fifo.hpp"

#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

FifoClass::FifoClass(Scheduler& core, unsigned cpus, const SchedulerConfig&) : core_(core), rqs_(cpus) {}

void FifoClass::enqueue(RunQueue& rq, Task& task, EnqueueReason) { rqs_[rq.cpu].queue.push_back(task); }

void FifoClass::dequeue(RunQueue& rq, Task& task, DequeueReason) {
  FifoRq& fifo = rqs_[rq.cpu];
  // The running task is not in the queue (pick_next took it out).
  if (task.run_list.is_linked()) fifo.queue.erase(fifo.queue.iterator_to(task));
  if (fifo.yielded == &task) fifo.yielded = nullptr;
}

std::size_t FifoClass::peek_upcoming(const RunQueue& rq, const Task** upcoming, std::size_t max) const {
  return first_tasks(rqs_[rq.cpu].queue, upcoming, max);
}

Task* FifoClass::pick_next(RunQueue& rq) {
  Queue& queue = rqs_[rq.cpu].queue;
  if (queue.empty()) return nullptr;
  Task& next = queue.front();
  queue.pop_front();
  return &next;
}

void FifoClass::put_prev(RunQueue& rq, Task& prev) {
  FifoRq& fifo = rqs_[rq.cpu];
  const bool yielded = fifo.yielded == &prev;
  fifo.yielded = nullptr;
  if (!prev.se.on_rq || prev.run_list.is_linked()) return;
  if (yielded) {
    fifo.queue.push_back(prev);
  } else {
    fifo.queue.push_front(prev);  // taken off by a higher class: its turn goes on
  }
}

void FifoClass::task_tick(RunQueue&, Task&) {
  // No slice: a task runs until it blocks, yields or exits.
}

void FifoClass::check_preempt(RunQueue&, Task&) {
  // Never preempts: the woken task waits for everyone ahead of it.
}

unsigned FifoClass::select_cpu(Task& task, unsigned prev_cpu) { return core_.idle_or_least_loaded_cpu(task, prev_cpu); }

void FifoClass::yield(RunQueue& rq, Task& curr) {
  rqs_[rq.cpu].yielded = &curr;
  curr.need_resched = true;
}

sim::Tick FifoClass::slice_end(RunQueue&, Task&) { return sim::kTickNever; }

void FifoClass::params_changed(RunQueue&, Task&, const SchedParams&) {
  // Nothing FIFO orders by can change: the queue is in arrival order.
}

void FifoClass::set_curr(RunQueue& rq, Task& task) {
  Queue& queue = rqs_[rq.cpu].queue;
  if (task.run_list.is_linked()) queue.erase(queue.iterator_to(task));
}

}  // namespace ossim::kernel
