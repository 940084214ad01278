#include "kernel/sched/scheduler.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>

#include "ossim/cpu/cpu.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/trace_points.hpp"
#include "ossim/sim/prefetch.hpp"
#include "ossim/sys/sched.hpp"

namespace ossim::kernel {

Scheduler::Scheduler(KernelCore& kernel, unsigned cpus) : kernel_(kernel), rqs_(cpus) {
  for (unsigned i = 0; i < cpus; ++i) {
    RunQueue& rq = rqs_[i];
    rq.cpu = i;
    rq.hrtick = std::make_unique<sim::CallbackEvent>([this, &rq] { on_hrtick(rq); }, "sched.hrtick");
  }
}

Scheduler::~Scheduler() = default;

void Scheduler::set_class(ClassRank rank, std::unique_ptr<SchedClass> sched_class) {
  sched_class->rank_ = static_cast<std::size_t>(rank);
  classes_[static_cast<std::size_t>(rank)] = std::move(sched_class);
}

SchedClass* Scheduler::class_for(int policy) const {
  if (policy == sys::kSchedDeadline) return classes_[static_cast<std::size_t>(ClassRank::kDeadline)].get();
  if (is_rt_policy(policy)) return classes_[static_cast<std::size_t>(ClassRank::kRealtime)].get();
  if (is_fair_policy(policy)) return classes_[static_cast<std::size_t>(ClassRank::kFair)].get();
  return nullptr;
}

void Scheduler::detach(Task& task) {
  if (task.se.sched_class != nullptr) task.se.sched_class->detach(task);
}

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
  if (is_realtime_rank(task)) count_realtime(rq, +1);
  rq.tasks.push_back(task);
  task.se.sched_class->enqueue(rq, task, reason);
  if (kernel_.trace() != nullptr) trace::runqueue_length(kernel_, rq, now);
}

void Scheduler::dequeue(RunQueue& rq, Task& task, DequeueReason reason, sim::Tick now) {
  task.se.sched_class->dequeue(rq, task, reason);
  task.se.on_rq = false;
  --rq.nr_running;
  if (is_realtime_rank(task)) count_realtime(rq, -1);
  rq.tasks.erase(rq.tasks.iterator_to(task));
  if (kernel_.trace() != nullptr) trace::runqueue_length(kernel_, rq, now);
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
  task.se.woken_at = now;
  if (kernel_.trace() != nullptr) trace::task_woken(kernel_, task, now, waker_cpu);
  if (task.se.on_rq) return true;  // it had not switched away yet: still queued
  // A task still current on its CPU (between its state change and the switch) goes back
  // on that CPU's queue; anything else may move.
  const unsigned target = task.se.on_cpu ? task.se.cpu : task.se.sched_class->select_cpu(task, task.se.cpu);
  RunQueue& rq = rqs_[target];
  enqueue(rq, task, EnqueueReason::kWakeup, now);
  check_preempt(rq, task, now, waker_cpu);
  return true;
}

void Scheduler::wake_up_new(Task& task, sim::Tick now, const cpu::Cpu* waker_cpu) {
  task.state = TaskState::kRunning;
  const unsigned target = task.se.sched_class->select_cpu(task, task.se.cpu);
  RunQueue& rq = rqs_[target];
  enqueue(rq, task, EnqueueReason::kNew, now);
  trace::task_created(kernel_, task, now);
  check_preempt(rq, task, now, waker_cpu);
}

void Scheduler::check_preempt(RunQueue& rq, Task& task, sim::Tick now, const cpu::Cpu* from) {
  if (rq.curr == &task) return;
  if (rq.curr == rq.idle) {
    resched(rq, now, from);
    return;
  }
  const std::size_t task_rank = rank_of(task.se.sched_class);
  const std::size_t curr_rank = rank_of(rq.curr->se.sched_class);
  if (task_rank < curr_rank) {
    // A higher class wins at once, unless the task cannot run yet (a throttled deadline
    // task waits for its replenishment, which checks again).
    if (task.se.sched_class->pickable(task)) resched(rq, now, from);
  } else if (task_rank == curr_rank) {
    const bool already = rq.curr->need_resched;
    task.se.sched_class->check_preempt(rq, task);
    if (!already && rq.curr->need_resched) {
      rq.curr->need_resched = false;  // let resched() deliver the kick
      resched(rq, now, from);
    }
  }
}

Task& Scheduler::pick_next(RunQueue& rq, sim::Tick now) {
  // About to go idle: pull work from a busier CPU first (newidle balance).
  if (rt_overloaded_ != 0) pull_realtime(rq, now);
  if (rq.nr_running == 0 && !pull_one(rq, 2, now)) return *rq.idle;
  // With no real-time or deadline task queued here only the fair class can have one to
  // run (Linux's fast path in __pick_next_task).
  for (std::size_t rank = rq.rt_queued == 0 ? kFairRank : 0; rank < kClassCount; ++rank) {
    if (classes_[rank] == nullptr) continue;
    if (Task* next = classes_[rank]->pick_next(rq)) return *next;
  }
  return *rq.idle;
}

void Scheduler::schedule(Task& prev) {
  // The wait for this CPU's TLB shootdowns is the task's, and comes before it leaves.
  cpu::Cpu& cpu = kernel_.tlb_shootdown().complete(prev.ctx().cpu());
  RunQueue& rq = rqs_[cpu.id()];
  assert(rq.curr == &prev);
  const sim::Tick now = cpu.now();
  update_curr(rq, now);
  prev.need_resched = false;
  const bool blocking = prev.state != TaskState::kRunning && &prev != rq.idle;
  if (&prev != rq.idle) {
    if (blocking && prev.se.on_rq) dequeue(rq, prev, DequeueReason::kSleep, now);
    // Runnable but no longer allowed here (sched_setaffinity): out of this queue, into
    // an allowed CPU's once it is off this one (finish_switch).
    if (!blocking && prev.se.on_rq && (prev.se.params.cpus_allowed >> rq.cpu & 1) == 0) {
      dequeue(rq, prev, DequeueReason::kMigrate, now);
      prev.se.evicted = true;
    }
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
      if (!prev.se.yielding) ++prev.acct.preemptions;
    }
  }
  prefetch_upcoming(rq, next);
  context_switch(rq, prev, next, now);
  // Back on prev, on whichever CPU picked it: finish that CPU's switch.
  RunQueue& now_rq = rqs_[prev.ctx().cpu().id()];
  finish_switch(now_rq, prev);
}

void Scheduler::prefetch_upcoming(const RunQueue& rq, const Task& next) const {
  // Switching to a task and running it to its next system call touches its task_struct,
  // its context and fiber, the top of its stack, its address space and the page walk of
  // its user stack: some 45 cache lines that, with many tasks, are all cold. They are
  // fetched for the tasks that run after `next`, in stages a switch apart, so that no
  // stage waits on memory: each follows only pointers that an earlier stage brought in
  // (the page walk takes a stage per level). Only the host's caches see any of this.
  if (&next == rq.idle || next.se.sched_class == nullptr) return;
  constexpr std::size_t kStages = 8;
  const Task* upcoming[kStages];
  const std::size_t count = next.se.sched_class->peek_upcoming(rq, upcoming, kStages);
  // The page walk of the stack page its registers point to (where the user wrappers keep
  // their arguments): the first stage fetches the root table's entry, each later one the
  // entry below, the last the data.
  const auto start_stack_walk = [](const Task& task) {
    if (task.mm) {
      task.stack_walk_prefetch = task.mm->page_table().start_prefetch_walk(task.context->registers().rsp);
    }
  };
  const auto step_stack_walk = [](const Task& task) {
    if (task.mm) task.mm->page_table().step_prefetch_walk(task.context->registers().rsp, task.stack_walk_prefetch);
  };
  switch (count) {
    case 8: sim::prefetch_object(upcoming[7]); [[fallthrough]];
    case 7:
      sim::prefetch_object(upcoming[6]->context.get());
      if (upcoming[6]->mm) sim::prefetch_object(upcoming[6]->mm.get());
      [[fallthrough]];
    case 6:
      sim::prefetch_object(&upcoming[5]->context->fiber());
      if (upcoming[5]->mm) sim::prefetch_object(&upcoming[5]->mm->page_table());
      [[fallthrough]];
    case 5: start_stack_walk(*upcoming[4]); [[fallthrough]];
    case 4: step_stack_walk(*upcoming[3]); [[fallthrough]];
    case 3: step_stack_walk(*upcoming[2]); [[fallthrough]];
    case 2:
      step_stack_walk(*upcoming[1]);
      upcoming[1]->context->fiber().prefetch_resume_frames();
      [[fallthrough]];
    case 1: step_stack_walk(*upcoming[0]); break;
    default: break;
  }
}

void Scheduler::prepare_switch(RunQueue& rq, Task& prev, Task& next, sim::Tick now) {
  assert(&prev != &next);
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
    if (next.se.woken_at != sim::kTickNever) {
      next.acct.wakeup_latency.record(start - std::min(start, next.se.woken_at));
      next.se.woken_at = sim::kTickNever;
    }
  }
  if (&prev == rq.idle) rq.idle_time += now - rq.idle_since;
  if (&next == rq.idle) rq.idle_since = start;
  // User and system time accrue only on a CPU: prev's stint (in the kernel: it is in
  // schedule()) ends now, next's resumes where it left off, in the same mode.
  kernel_.stop_mode_clock(prev, now);
  next.mode_since = start;
  next.tlb_at_switch_in.read(cpu.mmu());
  next.tlb_at_switch_in.charge_since(prev.tlb_at_switch_in, prev.acct);
  if (next.se.migration_debt != 0) {
    // Cold caches after a migration: time the task spends in the kernel's (its own) name.
    cpu.stall(next.se.migration_debt);
    next.se.migration_debt = 0;
  }
  next.se.slice_start = start;
  next.se.slice_runtime = 0;
  next.se.cpu = rq.cpu;
  next.se.on_cpu = true;
  rq.curr = &next;
  rq.switched_from = &prev;
  if (kernel_.trace() != nullptr) trace::context_switch(kernel_, rq, prev, next, start);
  arm_hrtick(rq, next, start);
}

void Scheduler::context_switch(RunQueue& rq, Task& prev, Task& next, sim::Tick now) {
  prepare_switch(rq, prev, next, now);
  prev.ctx().cpu().switch_to(next.ctx(), cr3_to_load(switch_mm(rq, prev, next)));
}

std::uint64_t Scheduler::switch_mm(RunQueue& rq, Task& prev, Task& next) {
  // Kernel threads and idle tasks borrow whatever is loaded (lazy TLB), as on Linux; a
  // user task loads its own page table unless it is already loaded.
  if (!next.mm) return kKeepCr3;
  if (next.mm == prev.mm && rq.loaded_mm == next.mm.get()) return kKeepCr3;
  rq.loaded_mm = next.mm.get();
  next.mm->note_loaded_on(rq.cpu);
  kernel_.tlb_shootdown().before_load(rq.cpu, *next.mm);
  return next.mm->cr3_value(kernel_.config().pcid);
}

void Scheduler::finish_switch(RunQueue& rq, Task& self) {
  Task* prev = rq.switched_from;
  if (prev == nullptr) return;
  rq.switched_from = nullptr;
  prev->se.on_cpu = false;
  // A task evicted by its affinity (schedule()) joins an allowed CPU's queue now that it
  // is off this one (the role of Linux's migration stopper).
  if (prev->se.evicted) {
    prev->se.evicted = false;
    const sim::Tick now = self.ctx().cpu().now();
    RunQueue& target = rqs_[prev->se.sched_class->select_cpu(*prev, rq.cpu)];
    enqueue(target, *prev, EnqueueReason::kMigrate, now);
    ++prev->acct.migrations;
    prev->se.migration_debt = kernel_.costs().migration;
    check_preempt(target, *prev, now, &self.ctx().cpu());
  } else if (prev->se.on_rq && prev != rq.idle && rank_of(prev->se.sched_class) < rank_of(&fair_class())) {
    // A preempted real-time or deadline task goes where it can run now (RT push).
    const unsigned target = push_target(*prev);
    if (target != rq.cpu) migrate(*prev, target, self.ctx().cpu().now(), &self.ctx().cpu());
  }
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
  dead.se.sched_class->detach(dead);
  Task& next = pick_next(rq, now);
  prepare_switch(rq, dead, next, now);
  cpu.exit_to(next.ctx(), cr3_to_load(switch_mm(rq, dead, next)));
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
  const sim::Tick now = cpu.now();
  update_curr(rq, now);
  // Periodic balance: an idle CPU looks for work at every tick, a busy one every
  // balance interval.
  const bool idle = rq.curr == rq.idle && rq.nr_running == 0;
  if (idle || now >= rq.next_balance) {
    rq.next_balance = now + kernel_.config().scheduler.balance_interval;
    if (pull_one(rq, 2, now) && rq.curr == rq.idle) resched(rq, now, &cpu);
  }
  if (rq.curr == rq.idle) return;
  rq.curr->se.sched_class->task_tick(rq, *rq.curr);
}

bool Scheduler::set_params(Task& task, const SchedParams& params, sim::Tick now, const cpu::Cpu* from) {
  SchedClass* const old_class = task.se.sched_class;
  SchedClass* const new_class = class_for(params.policy);
  if (new_class == nullptr || !new_class->attach(task, params)) return false;
  const SchedParams old = task.se.params;
  RunQueue& rq = rqs_[task.se.cpu];
  const bool running = rq.curr == &task;
  if (running) update_curr(rq, now);
  if (new_class == old_class) {
    const bool already = rq.curr->need_resched;
    task.se.params = params;
    new_class->params_changed(rq, task, old);
    if (!already && rq.curr->need_resched) {
      rq.curr->need_resched = false;  // let resched() deliver the kick
      resched(rq, now, from);
    }
  } else {
    const bool queued = task.se.on_rq;
    if (queued) {
      // Out of the old class as if it blocked (on_rq false, so put_prev keeps it out).
      old_class->dequeue(rq, task, DequeueReason::kRequeue);
      task.se.on_rq = false;
      if (running) old_class->put_prev(rq, task);
    }
    old_class->detach(task);
    const bool was_realtime = is_realtime_rank(task);
    task.se.params = params;
    task.se.sched_class = new_class;
    if (queued) {
      count_realtime(rq, static_cast<int>(is_realtime_rank(task)) - static_cast<int>(was_realtime));
      task.se.on_rq = true;
      new_class->enqueue(rq, task, EnqueueReason::kRequeue);
      if (running) new_class->set_curr(rq, task);
    }
    if (running) {
      // In a lower class it may no longer be the best choice here; the pick decides.
      if (rank_of(new_class) > rank_of(old_class)) resched(rq, now, from);
      arm_hrtick(rq, task, now);
    } else if (queued) {
      check_preempt(rq, task, now, from);
    }
  }
  // A queued task on a CPU it may no longer use moves now; a running one when it leaves
  // the CPU (finish_switch), which a reschedule brings about.
  if ((params.cpus_allowed >> task.se.cpu & 1) == 0) {
    if (task.se.on_rq && !task.se.on_cpu) {
      migrate(task, task.se.sched_class->select_cpu(task, task.se.cpu), now, from);
    } else if (running) {
      resched(rq, now, from);
    }
  }
  return true;
}

void Scheduler::fork_params(Task& child, const Task& parent) {
  child.se.params = parent.se.params;
  SchedParams& params = child.se.params;
  if (params.reset_on_fork) {
    // sched_reset_on_fork: real-time and deadline children are SCHED_OTHER, and a
    // negative nice goes back to 0; the child does not keep the flag.
    if (!is_fair_policy(params.policy)) {
      params.policy = sys::kSchedOther;
      params.rt_priority = 0;
      params.dl_runtime = params.dl_deadline = params.dl_period = 0;
    }
    if (params.nice < 0) params.nice = 0;
    params.reset_on_fork = false;
  }
  child.se.sched_class = class_for(params.policy);
  // The class's own state too when the child stays in the parent's class (sched_fork
  // copies the parent's entity): CFS starts the child from its parent's vruntime.
  if (child.se.sched_class == parent.se.sched_class) {
    std::copy(std::begin(parent.se.policy_data), std::end(parent.se.policy_data), std::begin(child.se.policy_data));
  }
  child.se.cpu = parent.se.cpu;
}

void Scheduler::migrate(Task& task, unsigned dest, sim::Tick now, const cpu::Cpu* from) {
  if (dest == task.se.cpu) return;
  move_queued(task, dest, now);
  check_preempt(rqs_[dest], task, now, from);
}

void Scheduler::move_queued(Task& task, unsigned dest, sim::Tick now) {
  assert(task.se.on_rq && !task.se.on_cpu);
  dequeue(rqs_[task.se.cpu], task, DequeueReason::kMigrate, now);
  enqueue(rqs_[dest], task, EnqueueReason::kMigrate, now);
  ++task.acct.migrations;
  task.se.migration_debt = kernel_.costs().migration;
}

bool Scheduler::pull_one(RunQueue& rq, std::uint64_t min_surplus, sim::Tick now) {
  if (rqs_.size() < 2) return false;
  // The busiest other CPU (the lowest number on a tie).
  RunQueue* busiest = nullptr;
  for (RunQueue& other : rqs_) {
    if (&other == &rq || other.nr_running < rq.nr_running + min_surplus) continue;
    if (busiest == nullptr || other.nr_running > busiest->nr_running) busiest = &other;
  }
  if (busiest == nullptr) return false;
  // Its most recently queued movable task of the highest class. The walk stops at the
  // first task of the highest class queued there: with only fair tasks queued (the usual
  // case), at the first movable one, not after all of them.
  const std::size_t highest_queued = busiest->rt_queued == 0 ? kFairRank : 0;
  Task* candidate = nullptr;
  for (auto it = busiest->tasks.rbegin(); it != busiest->tasks.rend(); ++it) {
    Task& task = *it;
    if (task.se.on_cpu || (task.se.params.cpus_allowed >> rq.cpu & 1) == 0) continue;
    if (candidate == nullptr || rank_of(task.se.sched_class) < rank_of(candidate->se.sched_class)) candidate = &task;
    if (rank_of(candidate->se.sched_class) == highest_queued) break;
  }
  if (candidate == nullptr) return false;
  move_queued(*candidate, rq.cpu, now);
  return true;
}

unsigned Scheduler::push_target(const Task& task) const {
  for (const RunQueue& rq : rqs_) {
    if (rq.cpu == task.se.cpu || (task.se.params.cpus_allowed >> rq.cpu & 1) == 0) continue;
    const bool would_run = rq.curr == rq.idle || outranks(task, *rq.curr);
    // Another task already waiting there would have to be beaten too: keep to CPUs that
    // have nothing queued beyond their current task.
    if (would_run && rq.nr_running <= 1) return rq.cpu;
  }
  return task.se.cpu;
}

bool Scheduler::outranks(const Task& a, const Task& b) const {
  const std::size_t rank_a = rank_of(a.se.sched_class);
  const std::size_t rank_b = rank_of(b.se.sched_class);
  if (rank_a != rank_b) return rank_a < rank_b;
  return a.se.sched_class != nullptr && a.se.sched_class->prefers(a, b);
}

void Scheduler::count_realtime(RunQueue& rq, int delta) {
  const bool was_overloaded = rq.rt_queued >= 2;
  rq.rt_queued = static_cast<std::uint64_t>(static_cast<std::int64_t>(rq.rt_queued) + delta);
  const bool overloaded = rq.rt_queued >= 2;
  if (overloaded != was_overloaded) rt_overloaded_ = overloaded ? rt_overloaded_ + 1 : rt_overloaded_ - 1;
}

bool Scheduler::pull_realtime(RunQueue& rq, sim::Tick now) {
  const auto pickable = [](const Task& task) { return task.se.sched_class->pickable(task); };
  // The best this CPU has of its own.
  const Task* own = nullptr;
  if (rq.rt_queued != 0) {
    for (const Task& task : rq.tasks) {
      if (is_realtime_rank(task) && pickable(task) && (own == nullptr || outranks(task, *own))) own = &task;
    }
  }
  Task* candidate = nullptr;
  for (RunQueue& other : rqs_) {
    if (&other == &rq || other.rt_queued < 2) continue;
    for (Task& task : other.tasks) {
      if (task.se.on_cpu || !is_realtime_rank(task) || !pickable(task)) continue;
      if ((task.se.params.cpus_allowed >> rq.cpu & 1) == 0) continue;
      // About to preempt its own CPU's task: it runs there.
      if (other.curr == other.idle || outranks(task, *other.curr)) continue;
      if (candidate == nullptr || outranks(task, *candidate)) candidate = &task;
    }
  }
  if (candidate == nullptr || (own != nullptr && !outranks(*candidate, *own))) return false;
  move_queued(*candidate, rq.cpu, now);
  return true;
}

unsigned Scheduler::idle_or_least_loaded_cpu(const Task& task, unsigned prev_cpu) const {
  const unsigned cpus = cpu_count();
  if (cpus == 1) return 0;  // what the search below finds on one CPU, whatever the mask
  const sys::cpu_mask_t allowed = task.se.params.cpus_allowed;
  const auto may_run = [&](unsigned cpu) { return (allowed >> cpu & 1) != 0; };
  if (prev_cpu >= cpus || !may_run(prev_cpu)) {
    prev_cpu = 0;
    while (prev_cpu + 1 < cpus && !may_run(prev_cpu)) ++prev_cpu;
  }
  const auto idle = [&](unsigned cpu) {
    const RunQueue& rq = rqs_[cpu];
    return rq.curr == rq.idle && rq.nr_running == 0;
  };
  if (idle(prev_cpu)) return prev_cpu;
  // One pass: the first idle CPU wins; failing one, the least loaded seen.
  unsigned least_loaded = prev_cpu;
  for (unsigned cpu = 0; cpu < cpus; ++cpu) {
    if (!may_run(cpu)) continue;
    if (idle(cpu)) return cpu;
    if (rqs_[cpu].nr_running < rqs_[least_loaded].nr_running) least_loaded = cpu;
  }
  return least_loaded;
}

void Scheduler::yield(Task& curr) {
  RunQueue& rq = rqs_[curr.ctx().cpu().id()];
  update_curr(rq, curr.ctx().cpu().now());
  curr.se.sched_class->yield(rq, curr);
  curr.se.yielding = true;
  schedule(curr);
  curr.se.yielding = false;
}

}  // namespace ossim::kernel
