#include "kernel/sched/scheduler.hpp"

#include <cassert>

#include "ossim/cpu/cpu.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/trace_points.hpp"

namespace ossim::kernel {

Scheduler::Scheduler(KernelCore& kernel, unsigned cpus) : kernel_(kernel), rqs_(cpus) {
  for (unsigned i = 0; i < cpus; ++i) {
    RunQueue& rq = rqs_[i];
    rq.cpu = i;
    rq.hrtick = std::make_unique<sim::CallbackEvent>([this, &rq] { on_hrtick(rq); }, "sched.hrtick");
  }
}

Scheduler::~Scheduler() = default;

void Scheduler::init_idle(unsigned cpu, Task& idle, sim::Tick now) {
  RunQueue& rq = rqs_[cpu];
  rq.idle = &idle;
  rq.curr = &idle;
  rq.idle_since = now;
  idle.se.cpu = cpu;
  idle.se.on_cpu = true;
  idle.se.slice_start = now;
}

void Scheduler::update_curr(RunQueue& rq, sim::Tick now) {
  Task& curr = *rq.curr;
  if (now <= curr.se.slice_start) return;
  const sim::Tick delta = now - curr.se.slice_start;
  curr.se.slice_start = now;
  if (&curr == rq.idle) return;
  curr.se.slice_runtime += delta;
  curr.se.total_runtime += delta;
}

void Scheduler::enqueue(RunQueue& rq, Task& task, EnqueueReason reason, sim::Tick now) {
  task.se.cpu = rq.cpu;
  task.se.on_rq = true;
  task.se.enqueued_at = now;
  ++rq.nr_running;
  task.se.sched_class->enqueue(rq, task, reason);
  trace::runqueue_length(kernel_, rq, now);
}

void Scheduler::dequeue(RunQueue& rq, Task& task, DequeueReason reason, sim::Tick now) {
  task.se.sched_class->dequeue(rq, task, reason);
  task.se.on_rq = false;
  --rq.nr_running;
  trace::runqueue_length(kernel_, rq, now);
}

void Scheduler::resched(RunQueue& rq, sim::Tick now, const cpu::Cpu* from) {
  Task& curr = *rq.curr;
  if (curr.need_resched) return;
  curr.need_resched = true;
  if (from != nullptr && from->id() == rq.cpu) return;  // noticed on the way out of the kernel
  dev::InterruptController& interrupts = kernel_.machine().interrupts();
  if (from != nullptr) {
    interrupts.send_ipi(now, from->id(), rq.cpu, kRescheduleVector);
  } else {
    interrupts.local_apic(rq.cpu).request(kRescheduleVector);
  }
}

bool Scheduler::wake_up(Task& task, sim::Tick now, const cpu::Cpu* waker_cpu) {
  if (task.state != TaskState::kInterruptible && task.state != TaskState::kUninterruptible) return false;
  task.state = TaskState::kRunning;
  trace::task_woken(kernel_, task, now, waker_cpu);
  if (task.se.on_rq) return true;  // it had not switched away yet: still queued
  // A task still current on its CPU (between its state change and the switch) goes back
  // on that CPU's queue; anything else may move.
  const unsigned target = task.se.on_cpu ? task.se.cpu : task.se.sched_class->select_cpu(task, task.se.cpu);
  RunQueue& rq = rqs_[target];
  enqueue(rq, task, EnqueueReason::kWakeup, now);
  if (rq.curr == rq.idle) {
    resched(rq, now, waker_cpu);
  } else if (rq.curr != &task) {
    task.se.sched_class->check_preempt(rq, task);
    if (rq.curr->need_resched) {
      rq.curr->need_resched = false;  // let resched() deliver the kick
      resched(rq, now, waker_cpu);
    }
  }
  return true;
}

void Scheduler::wake_up_new(Task& task, sim::Tick now, const cpu::Cpu* waker_cpu) {
  task.state = TaskState::kRunning;
  const unsigned target = task.se.sched_class->select_cpu(task, task.se.cpu);
  RunQueue& rq = rqs_[target];
  enqueue(rq, task, EnqueueReason::kNew, now);
  trace::task_created(kernel_, task, now);
  if (rq.curr == rq.idle) {
    resched(rq, now, waker_cpu);
  } else {
    task.se.sched_class->check_preempt(rq, task);
    if (rq.curr->need_resched) {
      rq.curr->need_resched = false;
      resched(rq, now, waker_cpu);
    }
  }
}

Task& Scheduler::pick_next(RunQueue& rq, sim::Tick now) {
  Task* next = rq.nr_running > 0 ? fair_->pick_next(rq) : nullptr;
  if (next == nullptr) return *rq.idle;
  (void)now;
  return *next;
}

void Scheduler::schedule(Task& prev) {
  cpu::Cpu& cpu = prev.ctx().cpu();
  RunQueue& rq = rqs_[cpu.id()];
  assert(rq.curr == &prev);
  const sim::Tick now = cpu.now();
  update_curr(rq, now);
  prev.need_resched = false;
  const bool blocking = prev.state != TaskState::kRunning && &prev != rq.idle;
  if (&prev != rq.idle) {
    if (blocking && prev.se.on_rq) dequeue(rq, prev, DequeueReason::kSleep, now);
    prev.se.sched_class->put_prev(rq, prev);
    if (!blocking) prev.se.enqueued_at = now;
  }
  Task& next = pick_next(rq, now);
  if (&next == &prev) {
    // Still the best choice (its slice ended with no one else runnable, or it yielded
    // alone): it runs on with a fresh slice.
    prev.se.slice_start = now;
    prev.se.slice_runtime = 0;
    arm_hrtick(rq, next, now);
    return;
  }
  if (&prev != rq.idle) {
    if (blocking) {
      ++prev.acct.voluntary_switches;
    } else {
      ++prev.acct.involuntary_switches;
    }
  }
  context_switch(rq, prev, next, now);
  // Back on prev, on whichever CPU picked it: finish that CPU's switch.
  RunQueue& now_rq = rqs_[prev.ctx().cpu().id()];
  finish_switch(now_rq, prev);
}

void Scheduler::prepare_switch(RunQueue& rq, Task& prev, Task& next, sim::Tick now) {
  cpu::Cpu& cpu = prev.ctx().cpu();
  ++rq.switches;
  ++kernel_.stats().context_switches;
  cpu.stall(kernel_.costs().context_switch);
  const sim::Tick start = cpu.now();
  // Accounting: prev's time so far is in update_curr; next's waiting ends now.
  if (&next != rq.idle) {
    next.acct.wait_time += start - next.se.enqueued_at;
    ++next.acct.slices;
    if (next.acct.first_run == sim::kTickNever) next.acct.first_run = start;
  }
  if (&prev == rq.idle) rq.idle_time += now - rq.idle_since;
  if (&next == rq.idle) rq.idle_since = start;
  // User and system time accrue only on a CPU: prev's stint (in the kernel: it is in
  // schedule()) ends now, next's resumes where it left off, in the same mode.
  kernel_.stop_mode_clock(prev, now);
  next.mode_since = start;
  next.se.slice_start = start;
  next.se.slice_runtime = 0;
  next.se.cpu = rq.cpu;
  next.se.on_cpu = true;
  rq.curr = &next;
  rq.switched_from = &prev;
  trace::context_switch(kernel_, rq, prev, next, start);
  arm_hrtick(rq, next, start);
}

void Scheduler::context_switch(RunQueue& rq, Task& prev, Task& next, sim::Tick now) {
  prepare_switch(rq, prev, next, now);
  prev.ctx().cpu().switch_to(next.ctx(), switch_mm(rq, prev, next));
}

std::optional<std::uint64_t> Scheduler::switch_mm(RunQueue& rq, Task& prev, Task& next) {
  // Kernel threads and idle tasks borrow whatever is loaded (lazy TLB), as on Linux; a
  // user task loads its own page table unless it is already loaded.
  if (!next.mm) return std::nullopt;
  if (next.mm == prev.mm && rq.loaded_mm == next.mm.get()) return std::nullopt;
  rq.loaded_mm = next.mm.get();
  next.mm->note_loaded_on(rq.cpu);
  return next.mm->cr3_value(kernel_.config().pcid);
}

void Scheduler::finish_switch(RunQueue& rq, Task& self) {
  (void)self;
  Task* prev = rq.switched_from;
  if (prev == nullptr) return;
  rq.switched_from = nullptr;
  prev->se.on_cpu = false;
  // A task that exited without a zombie stage (a thread, or a child of a parent that
  // ignores kSigChld) is freed now that its fiber has ended (put_task_struct).
  if (prev->state == TaskState::kDead) kernel_.release_task(*prev);
}

void Scheduler::finish_first_switch(Task& self) { finish_switch(rqs_[self.ctx().cpu().id()], self); }

void Scheduler::switch_from_dead(Task& dead) {
  cpu::Cpu& cpu = dead.ctx().cpu();
  RunQueue& rq = rqs_[cpu.id()];
  const sim::Tick now = cpu.now();
  update_curr(rq, now);
  if (dead.se.on_rq) dequeue(rq, dead, DequeueReason::kExit, now);
  dead.se.sched_class->put_prev(rq, dead);
  Task& next = pick_next(rq, now);
  prepare_switch(rq, dead, next, now);
  cpu.exit_to(next.ctx(), switch_mm(rq, dead, next));
}

void Scheduler::arm_hrtick(RunQueue& rq, Task& next, sim::Tick now) {
  (void)now;
  const sim::Tick end = &next == rq.idle ? sim::kTickNever : next.se.sched_class->slice_end(rq, next);
  rq.hrtick_task = end == sim::kTickNever ? nullptr : &next;
  rq.hrtick_deadline = end;
  if (end == sim::kTickNever) return;  // a pending hrtick finds nothing to do and stops
  // Lazy: an hrtick already due no later than the new deadline stays; when it fires it
  // re-arms itself for the real deadline. Most switches then touch no event at all.
  if (rq.hrtick->scheduled() && rq.hrtick->when() <= end) return;
  kernel_.engine().reschedule(*rq.hrtick, end);
}

void Scheduler::on_hrtick(RunQueue& rq) {
  if (rq.hrtick_task == nullptr || rq.hrtick_task != rq.curr || rq.curr == rq.idle) return;
  const sim::Tick now = kernel_.engine().now();
  if (now < rq.hrtick_deadline) {
    kernel_.engine().schedule(*rq.hrtick, rq.hrtick_deadline);
    return;
  }
  rq.hrtick_task = nullptr;
  resched(rq, now, nullptr);
}

void Scheduler::tick(cpu::Cpu& cpu) {
  RunQueue& rq = rqs_[cpu.id()];
  update_curr(rq, cpu.now());
  if (rq.curr == rq.idle) return;
  rq.curr->se.sched_class->task_tick(rq, *rq.curr);
}

void Scheduler::set_nice(Task& task, int nice, sim::Tick now, const cpu::Cpu* from) {
  RunQueue& rq = rqs_[task.se.cpu];
  const bool already = rq.curr->need_resched;
  task.se.sched_class->reweight(rq, task, nice);
  if (!already && rq.curr->need_resched) {
    rq.curr->need_resched = false;  // let resched() deliver the kick
    resched(rq, now, from);
  }
}

unsigned Scheduler::idle_or_least_loaded_cpu(unsigned prev_cpu) const {
  const unsigned cpus = cpu_count();
  if (prev_cpu >= cpus) prev_cpu = 0;
  const auto idle = [&](unsigned cpu) {
    const RunQueue& rq = rqs_[cpu];
    return rq.curr == rq.idle && rq.nr_running == 0;
  };
  if (idle(prev_cpu)) return prev_cpu;
  for (unsigned cpu = 0; cpu < cpus; ++cpu) {
    if (idle(cpu)) return cpu;
  }
  unsigned best = prev_cpu;
  for (unsigned cpu = 0; cpu < cpus; ++cpu) {
    if (rqs_[cpu].nr_running < rqs_[best].nr_running) best = cpu;
  }
  return best;
}

void Scheduler::yield(Task& curr) {
  RunQueue& rq = rqs_[curr.ctx().cpu().id()];
  update_curr(rq, curr.ctx().cpu().now());
  curr.se.sched_class->yield(rq, curr);
  schedule(curr);
}

}  // namespace ossim::kernel
