#include "kernel/sched/realtime.hpp"

#include <algorithm>
#include <bit>

#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

int RtClass::PriorityBitmap::highest() const {
  if (words_[1] != 0) return 64 + std::bit_width(words_[1]) - 1;
  if (words_[0] != 0) return std::bit_width(words_[0]) - 1;
  return 0;
}

RtClass::RtClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config)
    : core_(core), quantum_(config.quantum), rqs_(cpus) {}

int RtClass::highest_queued_priority(unsigned cpu) const { return rqs_[cpu].bitmap.highest(); }

void RtClass::insert(RtRq& rt, Task& task, bool at_head) {
  const int priority = std::clamp(task.se.params.rt_priority, sys::kRtPriorityMin, sys::kRtPriorityMax);
  List& list = rt.lists[static_cast<std::size_t>(priority)];
  if (at_head) {
    list.push_front(task);
  } else {
    list.push_back(task);
  }
  rt.bitmap.set(priority);
}

void RtClass::remove(RtRq& rt, Task& task, int priority) {
  priority = std::clamp(priority, sys::kRtPriorityMin, sys::kRtPriorityMax);
  List& list = rt.lists[static_cast<std::size_t>(priority)];
  list.erase(list.iterator_to(task));
  if (list.empty()) rt.bitmap.clear(priority);
}

sim::Tick RtClass::slice_left(const Task& task) const {
  const auto it = slice_left_.find(&task);
  return it == slice_left_.end() ? quantum_ : it->second;
}

void RtClass::charge_slice(RtRq& rt, Task& curr) {
  const sim::Tick used = curr.se.total_runtime - rt.curr_picked_runtime;
  rt.curr_picked_runtime = curr.se.total_runtime;
  if (curr.se.params.policy != sys::kSchedRr || used == 0) return;
  const sim::Tick left = slice_left(curr);
  slice_left_[&curr] = used >= left ? 0 : left - used;
}

bool RtClass::preempts(const RunQueue& rq, const Task& task) const {
  const Task* curr = rq.curr;
  if (curr == &task) return false;
  if (curr == rq.idle) return true;
  const std::size_t mine = core_.rank_of(this);
  const std::size_t theirs = core_.rank_of(curr->se.sched_class);
  if (theirs != mine) return theirs > mine;
  return task.se.params.rt_priority > curr->se.params.rt_priority;
}

int RtClass::cpu_level(unsigned cpu) const {
  const RunQueue& rq = core_.rq(cpu);
  int level = rq.nr_running > 0 ? 0 : -1;
  const Task* curr = rq.curr;
  if (curr != rq.idle) {
    const std::size_t mine = core_.rank_of(this);
    const std::size_t theirs = core_.rank_of(curr->se.sched_class);
    if (theirs < mine) return sys::kRtPriorityMax + 1;
    if (theirs == mine) level = std::max(level, curr->se.params.rt_priority);
  }
  return std::max(level, highest_queued_priority(cpu));
}

void RtClass::enqueue(RunQueue& rq, Task& task, EnqueueReason) {
  // Woken, new, migrated or joining: the tail of its priority's list.
  insert(rqs_[rq.cpu], task, false);
}

void RtClass::dequeue(RunQueue& rq, Task& task, DequeueReason) {
  RtRq& rt = rqs_[rq.cpu];
  if (&task == rt.curr) {
    // The running task blocks, exits or leaves the class: what it used of an RR slice
    // stays used (Linux keeps rt.time_slice across sleeps).
    charge_slice(rt, task);
    rt.curr = nullptr;  // put_prev finds it no longer queued
  } else if (task.run_list.is_linked()) {
    remove(rt, task, task.se.params.rt_priority);
  }
}

Task* RtClass::pick_next(RunQueue& rq) {
  RtRq& rt = rqs_[rq.cpu];
  // The head of the highest list, passing over a task that may no longer run here
  // (sched_setaffinity while it ran): the CPU then switches away and the core moves it.
  // Only that transient case walks further than one task.
  for (int priority = rt.bitmap.highest(); priority > 0; --priority) {
    for (Task& next : rt.lists[static_cast<std::size_t>(priority)]) {
      if ((next.se.params.cpus_allowed >> rq.cpu & 1) == 0) continue;
      remove(rt, next, priority);
      rt.curr = &next;
      rt.curr_to_tail = false;
      rt.curr_picked_runtime = next.se.total_runtime;
      return &next;
    }
  }
  return nullptr;
}

void RtClass::put_prev(RunQueue& rq, Task& prev) {
  RtRq& rt = rqs_[rq.cpu];
  bool to_tail = true;
  if (&prev == rt.curr) {
    charge_slice(rt, prev);
    rt.curr = nullptr;
    // Preempted: the head, unless it yielded, used up its RR slice or had its priority
    // raised while it ran.
    to_tail = rt.curr_to_tail;
    if (prev.se.params.policy == sys::kSchedRr && slice_left(prev) == 0) {
      slice_left_.erase(&prev);  // a new slice
      to_tail = true;
    }
  }
  if (prev.se.on_rq && !prev.run_list.is_linked()) insert(rt, prev, !to_tail);
}

void RtClass::task_tick(RunQueue& rq, Task& curr) {
  RtRq& rt = rqs_[rq.cpu];
  if (&curr != rt.curr || curr.se.params.policy != sys::kSchedRr) return;
  // The hrtick ends the slice exactly; the tick is the fallback.
  charge_slice(rt, curr);
  if (slice_left(curr) == 0) core_.resched(rq, curr.ctx().cpu().now(), &curr.ctx().cpu());
}

void RtClass::check_preempt(RunQueue& rq, Task& woken) {
  if (preempts(rq, woken)) rq.curr->need_resched = true;
}

unsigned RtClass::select_cpu(Task& task, unsigned prev_cpu) {
  const unsigned cpus = core_.cpu_count();
  const sys::cpu_mask_t allowed = task.se.params.cpus_allowed;
  const auto may_run = [&](unsigned cpu) { return (allowed >> cpu & 1) != 0; };
  unsigned best = prev_cpu;
  if (best >= cpus || !may_run(best)) {
    best = 0;
    while (best + 1 < cpus && !may_run(best)) ++best;
  }
  int best_level = cpu_level(best);
  for (unsigned cpu = 0; cpu < cpus && best_level >= 0; ++cpu) {
    if (!may_run(cpu)) continue;
    const int level = cpu_level(cpu);
    if (level < best_level) {
      best = cpu;
      best_level = level;
    }
  }
  return best;
}

void RtClass::yield(RunQueue& rq, Task& curr) {
  RtRq& rt = rqs_[rq.cpu];
  if (&curr == rt.curr) rt.curr_to_tail = true;
  curr.need_resched = true;
}

sim::Tick RtClass::slice_end(RunQueue& rq, Task& curr) {
  RtRq& rt = rqs_[rq.cpu];
  if (curr.se.params.policy != sys::kSchedRr || &curr != rt.curr) return sim::kTickNever;
  charge_slice(rt, curr);
  return sim::tick_add(curr.se.slice_start, slice_left(curr));
}

void RtClass::params_changed(RunQueue& rq, Task& task, const SchedParams& old) {
  RtRq& rt = rqs_[rq.cpu];
  const int priority = task.se.params.rt_priority;
  const bool policy_changed = task.se.params.policy != old.policy;
  if (policy_changed) slice_left_.erase(&task);  // FIFO <-> RR: a new slice (or none)
  if (&task == rt.curr) {
    if (priority > old.rt_priority) {
      rt.curr_to_tail = true;
    } else if (priority < old.rt_priority) {
      rt.curr_to_tail = false;
      if (rt.bitmap.highest() > priority) task.need_resched = true;
    }
    if (policy_changed) {
      // The slice starts now; a re-pick arms (or disarms) the hrtick for it.
      rt.curr_picked_runtime = task.se.total_runtime;
      task.need_resched = true;
    }
  } else if (task.run_list.is_linked()) {
    if (priority != old.rt_priority) {
      remove(rt, task, old.rt_priority);
      insert(rt, task, priority < old.rt_priority);
    }
    if (preempts(rq, task)) rq.curr->need_resched = true;
  }
}

void RtClass::set_curr(RunQueue& rq, Task& task) {
  RtRq& rt = rqs_[rq.cpu];
  if (task.run_list.is_linked()) remove(rt, task, task.se.params.rt_priority);
  rt.curr = &task;
  rt.curr_to_tail = false;
  rt.curr_picked_runtime = task.se.total_runtime;
}

void RtClass::detach(Task& task) { slice_left_.erase(&task); }

}  // namespace ossim::kernel
