#include "kernel/sched/stride.hpp"

#include <algorithm>

#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

namespace {

std::uint64_t& pass_of(Task& task) { return task.se.policy_data[0]; }
std::uint64_t& pass_cpu_of(Task& task) { return task.se.policy_data[1]; }
std::uint64_t& remainder_of(Task& task) { return task.se.policy_data[2]; }

}  // namespace

StrideClass::StrideClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config)
    : core_(core), quantum_(std::max<sim::Tick>(1, config.quantum)), rqs_(cpus) {}

std::uint64_t StrideClass::stride_of(std::uint32_t tickets) { return kStride1 / std::max<std::uint32_t>(1, tickets); }

bool StrideClass::ByPass::operator()(const Task& a, const Task& b) const {
  if (pass(a) != pass(b)) return pass(a) < pass(b);
  return a.tid < b.tid;
}

void StrideClass::charge(StrideRq& stride, Task& curr, std::uint32_t tickets) {
  const sim::Tick delta = curr.se.total_runtime - stride.charged;
  stride.charged = curr.se.total_runtime;
  const unsigned __int128 scaled =
      static_cast<unsigned __int128>(stride_of(tickets)) * delta + remainder_of(curr);
  pass_of(curr) += static_cast<std::uint64_t>(scaled / quantum_);
  remainder_of(curr) = static_cast<std::uint64_t>(scaled % quantum_);
  update_min_pass(stride);
}

void StrideClass::update_min_pass(StrideRq& stride) {
  bool any = false;
  std::uint64_t lowest = 0;
  if (stride.curr != nullptr) {
    lowest = pass(*stride.curr);
    any = true;
  }
  if (!stride.tree.empty()) {
    const std::uint64_t leftmost = pass(*stride.tree.begin());
    lowest = any ? std::min(lowest, leftmost) : leftmost;
    any = true;
  }
  if (any) stride.min_pass = std::max(stride.min_pass, lowest);
}

void StrideClass::enqueue(RunQueue& rq, Task& task, EnqueueReason reason) {
  StrideRq& stride = rqs_[rq.cpu];
  if (reason == EnqueueReason::kNew || reason == EnqueueReason::kRequeue) {
    // policy_data may hold a parent's or another class's words.
    pass_of(task) = stride.min_pass;
    remainder_of(task) = 0;
  } else {
    const std::uint64_t from = pass_cpu_of(task);
    if (from != rq.cpu && from < rqs_.size()) {
      // Keep its distance to the minimum pass of the CPU it comes from (none if behind).
      const auto lead = static_cast<std::int64_t>(pass_of(task) - rqs_[from].min_pass);
      pass_of(task) = stride.min_pass + static_cast<std::uint64_t>(std::max<std::int64_t>(lead, 0));
    }
    pass_of(task) = std::max(pass_of(task), stride.min_pass);
  }
  pass_cpu_of(task) = rq.cpu;
  stride.tree.insert(task);
  update_min_pass(stride);
}

void StrideClass::dequeue(RunQueue& rq, Task& task, DequeueReason) {
  StrideRq& stride = rqs_[rq.cpu];
  if (&task == stride.curr) {
    charge(stride, task, task.se.params.tickets);  // the core has brought its runtime up to date
    stride.curr = nullptr;  // put_prev finds it no longer queued
  } else if (task.tree_node.is_linked()) {
    stride.tree.erase(stride.tree.iterator_to(task));
  }
  update_min_pass(stride);
}

Task* StrideClass::pick_next(RunQueue& rq) {
  StrideRq& stride = rqs_[rq.cpu];
  if (stride.tree.empty()) return nullptr;
  Task& next = *stride.tree.begin();
  stride.tree.erase(stride.tree.begin());
  stride.curr = &next;
  stride.charged = next.se.total_runtime;
  return &next;
}

void StrideClass::put_prev(RunQueue& rq, Task& prev) {
  StrideRq& stride = rqs_[rq.cpu];
  if (&prev != stride.curr) return;  // dequeued already (it blocked or left)
  charge(stride, prev, prev.se.params.tickets);
  stride.curr = nullptr;
  if (prev.se.on_rq && !prev.tree_node.is_linked()) stride.tree.insert(prev);
  update_min_pass(stride);
}

void StrideClass::task_tick(RunQueue& rq, Task& curr) {
  if (curr.se.slice_runtime >= quantum_) core_.resched(rq, curr.ctx().cpu().now(), &curr.ctx().cpu());
}

void StrideClass::check_preempt(RunQueue&, Task&) {
  // A woken task waits for the running task's quantum to end.
}

unsigned StrideClass::select_cpu(Task& task, unsigned prev_cpu) { return core_.idle_or_least_loaded_cpu(task, prev_cpu); }

void StrideClass::yield(RunQueue&, Task& curr) {
  curr.need_resched = true;  // put_prev charges it and re-sorts it by pass
}

sim::Tick StrideClass::slice_end(RunQueue&, Task& curr) {
  return sim::tick_add(curr.se.slice_start, quantum_ > curr.se.slice_runtime ? quantum_ - curr.se.slice_runtime : 0);
}

void StrideClass::params_changed(RunQueue& rq, Task& task, const SchedParams& old) {
  if (task.se.params.tickets == old.tickets) return;
  StrideRq& stride = rqs_[rq.cpu];
  // The pass does not depend on the tickets, so a queued task keeps its place; the
  // running one is charged for its time so far at its old stride.
  if (&task == stride.curr && &task == rq.curr) {
    core_.update_curr(rq, task.ctx().cpu().now());
    charge(stride, task, old.tickets);
  }
}

void StrideClass::set_curr(RunQueue& rq, Task& task) {
  StrideRq& stride = rqs_[rq.cpu];
  if (task.tree_node.is_linked()) stride.tree.erase(stride.tree.iterator_to(task));
  stride.curr = &task;
  stride.charged = task.se.total_runtime;
}

}  // namespace ossim::kernel
