#include "kernel/sched/deadline.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "kernel/kernel_core.hpp"
#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

DeadlineClass::Entity::Entity(Task& owner, DeadlineClass& owner_class)
    : task(owner), replenish_timer([&owner_class, this] { owner_class.on_replenish(*this); }, "sched.dl_replenish") {}

bool DeadlineClass::ByDeadline::operator()(const Entity& a, const Entity& b) const {
  if (a.deadline != b.deadline) return a.deadline < b.deadline;
  return a.task.tid < b.task.tid;
}

DeadlineClass::DeadlineClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config)
    : core_(core),
      capacity_(static_cast<std::uint64_t>(std::llround(std::max(0.0, config.deadline_bandwidth) * kOneCpu)) * cpus),
      rqs_(cpus) {}

DeadlineClass::~DeadlineClass() {
  // The trees link entities the map owns: empty them before the entities go.
  for (DlRq& dl : rqs_) dl.tree.clear();
}

std::uint64_t DeadlineClass::to_ratio(sim::Tick period, sim::Tick runtime) {
  if (period == 0) return 0;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(runtime) << kBandwidthShift) / period);
}

DeadlineClass::Entity* DeadlineClass::find_entity(const Task& task) const {
  const auto it = entities_.find(&task);
  return it == entities_.end() ? nullptr : it->second.get();
}

DeadlineClass::Entity& DeadlineClass::entity(const Task& task) const {
  Entity* found = find_entity(task);
  // Every way into the class goes through attach() (fork of a deadline task fails with
  // EAGAIN unless it resets the child's policy), so there is always one.
  assert(found != nullptr);
  return *found;
}

bool DeadlineClass::prefers(const Task& a, const Task& b) const {
  const Entity* first = find_entity(a);
  const Entity* second = find_entity(b);
  if (first == nullptr || second == nullptr || first->throttled) return false;
  if (second->throttled) return true;
  return first->deadline < second->deadline;
}

sim::Tick DeadlineClass::absolute_deadline(const Task& task) const {
  const Entity* found = find_entity(task);
  return found == nullptr ? sim::kTickNever : found->deadline;
}

std::int64_t DeadlineClass::remaining_runtime(const Task& task) const {
  const Entity* found = find_entity(task);
  return found == nullptr ? 0 : found->runtime;
}

bool DeadlineClass::throttled(const Task& task) const {
  const Entity* found = find_entity(task);
  return found != nullptr && found->throttled;
}

sim::Tick DeadlineClass::now() {
  KernelCore& kernel = core_.kernel();
  return kernel.now(kernel.running_cpu());
}

void DeadlineClass::charge(Entity& entity) {
  const sim::Tick delta = entity.task.se.total_runtime - entity.charged;
  entity.charged = entity.task.se.total_runtime;
  entity.runtime -= static_cast<std::int64_t>(delta);
}

void DeadlineClass::start_period(Entity& entity, sim::Tick now) {
  const SchedParams& params = entity.task.se.params;
  entity.deadline = now + params.dl_deadline;
  entity.runtime = static_cast<std::int64_t>(params.dl_runtime);
}

void DeadlineClass::update_on_wakeup(Entity& entity, sim::Tick now) {
  if (entity.deadline <= now) {
    start_period(entity, now);
    return;
  }
  // dl_entity_overflow: runtime / (deadline - now) > Q / D, cross-multiplied exactly.
  const SchedParams& params = entity.task.se.params;
  if (entity.runtime <= 0) return;
  const auto left = static_cast<unsigned __int128>(entity.runtime) * params.dl_deadline;
  const auto right = static_cast<unsigned __int128>(entity.deadline - now) * params.dl_runtime;
  if (left > right) start_period(entity, now);
}

void DeadlineClass::replenish(Entity& entity, sim::Tick now) {
  const SchedParams& params = entity.task.se.params;
  const auto runtime = static_cast<std::int64_t>(std::max<sim::Tick>(params.dl_runtime, 1));
  while (entity.runtime <= 0) {
    entity.deadline += params.dl_period;
    entity.runtime += runtime;
  }
  // Still behind (it slept or overran through whole periods): start afresh from now.
  if (entity.deadline < now) start_period(entity, now);
  entity.throttled = false;
}

sim::Tick DeadlineClass::next_period(const Entity& entity) {
  // deadline - D + P; P >= D, so this cannot wrap.
  const SchedParams& params = entity.task.se.params;
  return entity.deadline + params.dl_period - params.dl_deadline;
}

bool DeadlineClass::throttle(Entity& entity, sim::Tick now) {
  const sim::Tick replenish_at = next_period(entity);
  if (replenish_at <= now) {
    replenish(entity, now);
    return false;
  }
  entity.throttled = true;
  core_.kernel().engine().reschedule(entity.replenish_timer, replenish_at);
  return true;
}

void DeadlineClass::on_replenish(Entity& entity) {
  const sim::Tick t = now();
  replenish(entity, t);
  Task& task = entity.task;
  if (!task.se.on_rq) return;  // asleep: its wakeup applies the CBS rule to the new period
  RunQueue& rq = core_.rq(task.se.cpu);
  ++rq.nr_running;  // runnable for the class again (Linux's add_running_nr)
  rqs_[rq.cpu].tree.insert(entity);
  if (preempts(rq, entity)) core_.resched(rq, t, core_.kernel().running_cpu());
}

bool DeadlineClass::preempts(const RunQueue& rq, const Entity& entity) const {
  const Task* curr = rq.curr;
  if (curr == &entity.task) return false;
  if (curr == rq.idle) return true;
  const std::size_t mine = core_.rank_of(this);
  const std::size_t theirs = core_.rank_of(curr->se.sched_class);
  if (theirs != mine) return theirs > mine;
  return entity.deadline < this->entity(*curr).deadline;
}

bool DeadlineClass::attach(Task& task, const SchedParams& params) {
  const std::uint64_t wanted = to_ratio(params.dl_period, params.dl_runtime);
  Entity* existing = find_entity(task);
  const std::uint64_t old = existing != nullptr ? existing->bandwidth : 0;
  // Linux's __dl_overflow, in exact integers.
  if (total_bandwidth_ - old + wanted > capacity_) return false;
  total_bandwidth_ = total_bandwidth_ - old + wanted;
  if (existing == nullptr) {
    existing = entities_.emplace(&task, std::make_unique<Entity>(task, *this)).first->second.get();
  }
  existing->bandwidth = wanted;
  return true;
}

void DeadlineClass::detach(Task& task) {
  const auto it = entities_.find(&task);
  if (it == entities_.end()) return;
  Entity& entity = *it->second;
  total_bandwidth_ -= entity.bandwidth;
  for (DlRq& dl : rqs_) {
    if (dl.curr == &entity) dl.curr = nullptr;
  }
  if (entity.node.is_linked()) rqs_[task.se.cpu].tree.erase(rqs_[task.se.cpu].tree.iterator_to(entity));
  entities_.erase(it);  // and its timer with it
}

void DeadlineClass::enqueue(RunQueue& rq, Task& task, EnqueueReason reason) {
  Entity& e = entity(task);
  // A migrating task keeps its deadline and runtime; anything becoming runnable gets the
  // CBS rule (a task that is new to the class has deadline 0: a new period).
  if (reason != EnqueueReason::kMigrate && !e.throttled) update_on_wakeup(e, now());
  if (e.throttled) {
    // Woken (or moved) while waiting for its replenishment: not runnable for the class
    // until then, and not counted (the core has just counted it).
    --rq.nr_running;
    return;
  }
  rqs_[rq.cpu].tree.insert(e);
}

void DeadlineClass::dequeue(RunQueue& rq, Task& task, DequeueReason reason) {
  Entity& e = entity(task);
  DlRq& dl = rqs_[rq.cpu];
  if (&e == dl.curr) {
    charge(e);
    dl.curr = nullptr;  // put_prev finds it no longer queued
    // Blocking out of runtime: it stays throttled through its sleep until the
    // replenishment (so sleeping cannot buy runtime back early).
    if (reason == DequeueReason::kSleep && e.runtime <= 0) throttle(e, now());
  } else if (e.node.is_linked()) {
    dl.tree.erase(dl.tree.iterator_to(e));
  } else if (e.throttled) {
    ++rq.nr_running;  // back on the count the core now takes it off (or keeps it on)
  }
}

Task* DeadlineClass::pick_next(RunQueue& rq) {
  DlRq& dl = rqs_[rq.cpu];
  // The earliest deadline, passing over a task that may no longer run here
  // (sched_setaffinity while it ran): the CPU then switches away and the core moves it.
  auto it = dl.tree.begin();
  while (it != dl.tree.end() && (it->task.se.params.cpus_allowed >> rq.cpu & 1) == 0) ++it;
  if (it == dl.tree.end()) return nullptr;
  Entity& next = *it;
  dl.tree.erase(it);
  dl.curr = &next;
  next.charged = next.task.se.total_runtime;
  return &next.task;
}

void DeadlineClass::put_prev(RunQueue& rq, Task& prev) {
  Entity& e = entity(prev);
  DlRq& dl = rqs_[rq.cpu];
  if (&e == dl.curr) {
    charge(e);
    dl.curr = nullptr;
  }
  if (!prev.se.on_rq || e.node.is_linked() || e.throttled) return;
  const sim::Tick t = now();
  if (e.runtime <= 0 && throttle(e, t)) {
    --rq.nr_running;  // Linux's sub_running_nr: a throttled task is not runnable
    return;
  }
  dl.tree.insert(e);
}

void DeadlineClass::task_tick(RunQueue& rq, Task& curr) {
  Entity& e = entity(curr);
  if (&e != rqs_[rq.cpu].curr) return;
  // The hrtick ends the budget exactly; the tick is the fallback.
  charge(e);
  if (e.runtime <= 0) core_.resched(rq, curr.ctx().cpu().now(), &curr.ctx().cpu());
}

void DeadlineClass::check_preempt(RunQueue& rq, Task& woken) {
  const Entity& e = entity(woken);
  if (e.node.is_linked() && preempts(rq, e)) rq.curr->need_resched = true;
}

unsigned DeadlineClass::select_cpu(Task& task, unsigned prev_cpu) {
  const unsigned cpus = core_.cpu_count();
  const sys::cpu_mask_t allowed = task.se.params.cpus_allowed;
  const auto may_run = [&](unsigned cpu) { return (allowed >> cpu & 1) != 0; };
  const std::size_t mine = core_.rank_of(this);
  // (how busy: 0 idle, 1 a lower class, 2 a deadline task; that task's deadline): the
  // smaller the busier-ness, then the later the deadline, the better.
  struct Load {
    int busy;
    sim::Tick deadline;
    bool better_than(const Load& other) const {
      if (busy != other.busy) return busy < other.busy;
      return busy == 2 && deadline > other.deadline;
    }
  };
  const auto load_of = [&](unsigned cpu) {
    const RunQueue& rq = core_.rq(cpu);
    if (rq.curr == rq.idle) return Load{rq.nr_running == 0 ? 0 : 1, 0};
    if (core_.rank_of(rq.curr->se.sched_class) != mine) return Load{1, 0};
    return Load{2, entity(*rq.curr).deadline};
  };
  unsigned best = prev_cpu;
  if (best >= cpus || !may_run(best)) {
    best = 0;
    while (best + 1 < cpus && !may_run(best)) ++best;
  }
  Load best_load = load_of(best);
  for (unsigned cpu = 0; cpu < cpus && best_load.busy > 0; ++cpu) {
    if (!may_run(cpu)) continue;
    const Load load = load_of(cpu);
    if (load.better_than(best_load)) {
      best = cpu;
      best_load = load;
    }
  }
  return best;
}

void DeadlineClass::yield(RunQueue& rq, Task& curr) {
  Entity& e = entity(curr);
  if (&e == rqs_[rq.cpu].curr) {
    // Linux's dl_yielded: the rest of this period's runtime is given up.
    charge(e);
    e.runtime = std::min<std::int64_t>(e.runtime, 0);
  }
  curr.need_resched = true;
}

sim::Tick DeadlineClass::slice_end(RunQueue& rq, Task& curr) {
  Entity& e = entity(curr);
  if (&e != rqs_[rq.cpu].curr) return sim::kTickNever;
  charge(e);
  return sim::tick_add(curr.se.slice_start, static_cast<sim::Tick>(std::max<std::int64_t>(e.runtime, 0)));
}

void DeadlineClass::params_changed(RunQueue& rq, Task& task, const SchedParams&) {
  Entity& e = entity(task);
  DlRq& dl = rqs_[rq.cpu];
  const bool running = &e == dl.curr;
  if (running) charge(e);
  if (e.throttled) return;  // its replenishment brings it back, with the new Q and P
  const sim::Tick t = now();
  bool new_budget = false;
  if (e.deadline <= t && (running || e.node.is_linked())) {
    const bool queued = e.node.is_linked();
    if (queued) dl.tree.erase(dl.tree.iterator_to(e));
    start_period(e, t);
    new_budget = true;
    if (queued) {
      dl.tree.insert(e);
      if (preempts(rq, e)) rq.curr->need_resched = true;
    }
  }
  // A running task's budget ends somewhere else now: a re-pick re-arms the hrtick (or
  // throttles it).
  if (running && (new_budget || e.runtime <= 0)) task.need_resched = true;
}

void DeadlineClass::set_curr(RunQueue& rq, Task& task) {
  Entity& e = entity(task);
  DlRq& dl = rqs_[rq.cpu];
  if (e.node.is_linked()) dl.tree.erase(dl.tree.iterator_to(e));
  dl.curr = &e;
  e.charged = task.se.total_runtime;
}

}  // namespace ossim::kernel
