#include "kernel/sched/shortest_job.hpp"

#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

namespace {

std::uint64_t& sort_length_of(Task& task) { return task.se.policy_data[0]; }
std::uint64_t& sequence_of(Task& task) { return task.se.policy_data[1]; }
std::uint64_t sort_length(const Task& task) { return task.se.policy_data[0]; }
std::uint64_t sequence(const Task& task) { return task.se.policy_data[1]; }

}  // namespace

ShortestJobClass::ShortestJobClass(Scheduler& core, unsigned cpus, bool preemptive)
    : core_(core), preemptive_(preemptive), rqs_(cpus) {}

SjfClass::SjfClass(Scheduler& core, unsigned cpus, const SchedulerConfig&) : ShortestJobClass(core, cpus, false) {}

StcfClass::StcfClass(Scheduler& core, unsigned cpus, const SchedulerConfig&) : ShortestJobClass(core, cpus, true) {}

sim::Tick ShortestJobClass::remaining_length(const Task& task) {
  const sim::Tick declared = task.se.params.expected_runtime;
  if (declared == sim::kTickNever) return sim::kTickNever;
  return declared > task.se.total_runtime ? declared - task.se.total_runtime : 0;
}

bool ShortestJobClass::ByRemainingLength::operator()(const Task& a, const Task& b) const {
  if (sort_length(a) != sort_length(b)) return sort_length(a) < sort_length(b);
  if (sequence(a) != sequence(b)) return sequence(a) < sequence(b);
  return a.tid < b.tid;
}

void ShortestJobClass::insert(ShortestJobRq& queue, Task& task) {
  sort_length_of(task) = remaining_length(task);
  queue.tree.insert(task);
}

void ShortestJobClass::enqueue(RunQueue& rq, Task& task, EnqueueReason) {
  sequence_of(task) = next_sequence_++;
  insert(rqs_[rq.cpu], task);
}

void ShortestJobClass::dequeue(RunQueue& rq, Task& task, DequeueReason) {
  ShortestJobRq& queue = rqs_[rq.cpu];
  if (&task == queue.curr) {
    queue.curr = nullptr;  // put_prev finds it no longer queued
    queue.yielded = false;
  } else if (task.tree_node.is_linked()) {
    queue.tree.erase(queue.tree.iterator_to(task));
  }
}

Task* ShortestJobClass::pick_next(RunQueue& rq) {
  ShortestJobRq& queue = rqs_[rq.cpu];
  if (queue.tree.empty()) return nullptr;
  Task& next = *queue.tree.begin();
  queue.tree.erase(queue.tree.begin());
  queue.curr = &next;
  queue.yielded = false;
  return &next;
}

void ShortestJobClass::put_prev(RunQueue& rq, Task& prev) {
  ShortestJobRq& queue = rqs_[rq.cpu];
  if (&prev != queue.curr) return;  // dequeued already (it blocked or left)
  queue.curr = nullptr;
  if (!prev.se.on_rq || prev.tree_node.is_linked()) return;
  if (queue.yielded) sequence_of(prev) = next_sequence_++;
  queue.yielded = false;
  insert(queue, prev);
}

void ShortestJobClass::task_tick(RunQueue&, Task&) {
  // No slice: the running task's remaining length only shrinks, so the tick changes no
  // decision; arrivals are checked in check_preempt.
}

bool ShortestJobClass::shorter_than_running(RunQueue& rq, const Task& candidate) {
  Task* const curr = rqs_[rq.cpu].curr;
  if (curr == nullptr || curr != rq.curr || curr == &candidate) return false;
  core_.update_curr(rq, curr->ctx().cpu().now());
  return remaining_length(candidate) < remaining_length(*curr);
}

void ShortestJobClass::check_preempt(RunQueue& rq, Task& woken) {
  if (preemptive_ && shorter_than_running(rq, woken)) rq.curr->need_resched = true;
}

unsigned ShortestJobClass::select_cpu(Task& task, unsigned prev_cpu) {
  return core_.idle_or_least_loaded_cpu(task, prev_cpu);
}

void ShortestJobClass::yield(RunQueue& rq, Task& curr) {
  rqs_[rq.cpu].yielded = true;
  curr.need_resched = true;
}

sim::Tick ShortestJobClass::slice_end(RunQueue&, Task&) { return sim::kTickNever; }

void ShortestJobClass::params_changed(RunQueue& rq, Task& task, const SchedParams& old) {
  if (task.se.params.expected_runtime == old.expected_runtime) return;
  ShortestJobRq& queue = rqs_[rq.cpu];
  if (task.tree_node.is_linked()) {
    // Erasing does not compare, so the tree survives the key having changed under it.
    queue.tree.erase(queue.tree.iterator_to(task));
    insert(queue, task);
    check_preempt(rq, task);
  } else if (&task == queue.curr && preemptive_ && !queue.tree.empty() && &task == rq.curr) {
    // The running task declared a longer job: a queued one may now be shorter.
    if (shorter_than_running(rq, *queue.tree.begin())) task.need_resched = true;
  }
}

void ShortestJobClass::set_curr(RunQueue& rq, Task& task) {
  ShortestJobRq& queue = rqs_[rq.cpu];
  if (task.tree_node.is_linked()) queue.tree.erase(queue.tree.iterator_to(task));
  queue.curr = &task;
  queue.yielded = false;
}

}  // namespace ossim::kernel
