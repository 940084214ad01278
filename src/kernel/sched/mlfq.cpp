#include "kernel/sched/mlfq.hpp"

#include <algorithm>

#include "ossim/cpu/cpu.hpp"
#include "ossim/sim/engine.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

namespace {

std::uint64_t& level_word(Task& task) { return task.se.policy_data[0]; }
std::uint64_t& allotment_used_word(Task& task) { return task.se.policy_data[1]; }
std::uint64_t& turn_used_word(Task& task) { return task.se.policy_data[2]; }
std::uint64_t& boost_period_word(Task& task) { return task.se.policy_data[3]; }

/// One value per level from a configured list: its last value repeats, `fallback` when it
/// is empty; never zero (a zero quantum would end every turn before it starts).
std::vector<sim::Tick> per_level(const std::vector<sim::Tick>& configured, unsigned levels,
                                 const std::vector<sim::Tick>& fallback) {
  const std::vector<sim::Tick>& source = configured.empty() ? fallback : configured;
  std::vector<sim::Tick> values(levels);
  for (unsigned level = 0; level < levels; ++level) {
    values[level] = std::max<sim::Tick>(1, source[std::min<std::size_t>(level, source.size() - 1)]);
  }
  return values;
}

}  // namespace

MlfqClass::MlfqClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config)
    : core_(core),
      levels_(std::max(1U, config.mlfq.levels)),
      quantum_(per_level(config.mlfq.quantum, levels_, {config.quantum})),
      allotment_(per_level(config.mlfq.allotment, levels_, quantum_)),
      boost_(config.mlfq.boost),
      rqs_(cpus),
      boost_event_([this] { boost(); }, "sched.mlfq.boost") {
  for (MlfqRq& mlfq : rqs_) mlfq.levels.resize(levels_);
}

void MlfqClass::reset_to_top(Task& task, std::uint64_t period) const {
  level_word(task) = 0;
  allotment_used_word(task) = 0;
  turn_used_word(task) = 0;
  boost_period_word(task) = period;
}

void MlfqClass::charge(MlfqRq& mlfq, Task& curr) {
  const sim::Tick delta = curr.se.total_runtime - mlfq.charged;
  mlfq.charged = curr.se.total_runtime;
  allotment_used_word(curr) += delta;
  turn_used_word(curr) += delta;
  const unsigned level = level_of(curr);
  if (!is_lowest(level) && allotment_used(curr) >= allotment_[level]) {
    level_word(curr) = level + 1;  // rule 4
    allotment_used_word(curr) = 0;
    turn_used_word(curr) = 0;
    mlfq.turn_over = true;
  } else if (turn_used_word(curr) >= quantum_[level]) {
    mlfq.turn_over = true;
  }
}

void MlfqClass::update_curr(RunQueue& rq) {
  MlfqRq& mlfq = rqs_[rq.cpu];
  if (mlfq.curr == nullptr) return;
  if (mlfq.curr == rq.curr) core_.update_curr(rq, rq.curr->ctx().cpu().now());
  charge(mlfq, *mlfq.curr);
}

void MlfqClass::member_joined(sim::Tick now) {
  ++members_;
  if (boost_ == 0 || levels_ == 1 || boost_event_.scheduled()) return;
  core_.kernel().engine().schedule(boost_event_, sim::tick_add((now / boost_) * boost_, boost_));
}

void MlfqClass::member_left() {
  --members_;
  if (members_ == 0 && boost_event_.scheduled()) core_.kernel().engine().cancel(boost_event_);
}

void MlfqClass::boost() {
  sim::Engine& engine = core_.kernel().engine();
  const sim::Tick now = engine.now();
  const std::uint64_t period = boost_period(now);
  for (MlfqRq& mlfq : rqs_) {
    RunQueue& rq = core_.rq(static_cast<unsigned>(&mlfq - rqs_.data()));
    if (Task* curr = mlfq.curr) {
      update_curr(rq);  // its runtime before the boost counts at its old level
      reset_to_top(*curr, period);
      mlfq.turn_over = false;  // its turn restarts now
      if (curr == rq.curr) core_.arm_hrtick(rq, *curr, now);
    }
    Queue& top = mlfq.levels.front();
    for (unsigned level = 1; level < levels_; ++level) top.splice(top.end(), mlfq.levels[level]);
    for (Task& task : top) reset_to_top(task, period);
  }
  if (members_ > 0) engine.schedule(boost_event_, sim::tick_add(period * boost_, boost_));
}

void MlfqClass::enqueue(RunQueue& rq, Task& task, EnqueueReason reason) {
  const sim::Tick now = task.se.enqueued_at;
  const std::uint64_t period = boost_period(now);
  if (reason == EnqueueReason::kNew || reason == EnqueueReason::kRequeue) {
    reset_to_top(task, period);  // rule 3 (policy_data may hold a parent's or another class's words)
  } else if (period > boost_period_word(task)) {
    reset_to_top(task, period);  // boosted while it slept
  } else if (reason == EnqueueReason::kWakeup) {
    turn_used_word(task) = 0;
  }
  rqs_[rq.cpu].levels[level_of(task)].push_back(task);
  member_joined(now);
}

void MlfqClass::dequeue(RunQueue& rq, Task& task, DequeueReason) {
  MlfqRq& mlfq = rqs_[rq.cpu];
  if (&task == mlfq.curr) {
    charge(mlfq, task);  // the core has brought its runtime up to date
    mlfq.curr = nullptr;  // put_prev finds it no longer queued
    mlfq.turn_over = mlfq.yielded = false;
  } else if (task.run_list.is_linked()) {
    Queue& queue = mlfq.levels[level_of(task)];
    queue.erase(queue.iterator_to(task));
  }
  member_left();
}

Task* MlfqClass::pick_next(RunQueue& rq) {
  MlfqRq& mlfq = rqs_[rq.cpu];
  for (Queue& queue : mlfq.levels) {
    if (queue.empty()) continue;
    Task& next = queue.front();
    queue.pop_front();
    mlfq.curr = &next;
    mlfq.charged = next.se.total_runtime;
    mlfq.turn_over = mlfq.yielded = false;
    return &next;
  }
  return nullptr;
}

void MlfqClass::put_prev(RunQueue& rq, Task& prev) {
  MlfqRq& mlfq = rqs_[rq.cpu];
  if (&prev != mlfq.curr) return;  // dequeued already (it blocked or left)
  charge(mlfq, prev);
  mlfq.curr = nullptr;
  const bool turn_ended = mlfq.turn_over || mlfq.yielded;
  mlfq.turn_over = mlfq.yielded = false;
  if (!prev.se.on_rq || prev.run_list.is_linked()) return;
  Queue& queue = mlfq.levels[level_of(prev)];
  if (turn_ended) {
    turn_used_word(prev) = 0;
    queue.push_back(prev);
  } else {
    queue.push_front(prev);  // preempted: the rest of its turn comes first
  }
}

void MlfqClass::task_tick(RunQueue& rq, Task& curr) {
  MlfqRq& mlfq = rqs_[rq.cpu];
  if (&curr != mlfq.curr) return;
  charge(mlfq, curr);
  if (mlfq.turn_over) core_.resched(rq, curr.ctx().cpu().now(), &curr.ctx().cpu());
}

void MlfqClass::check_preempt(RunQueue& rq, Task& woken) {
  Task* const curr = rqs_[rq.cpu].curr;
  if (curr == nullptr || curr != rq.curr || curr == &woken) return;
  if (level_of(woken) < level_of(*curr)) curr->need_resched = true;
}

unsigned MlfqClass::select_cpu(Task& task, unsigned prev_cpu) { return core_.idle_or_least_loaded_cpu(task, prev_cpu); }

void MlfqClass::yield(RunQueue& rq, Task& curr) {
  rqs_[rq.cpu].yielded = true;
  curr.need_resched = true;
}

sim::Tick MlfqClass::slice_end(RunQueue& rq, Task& curr) {
  const MlfqRq& mlfq = rqs_[rq.cpu];
  // se.total_runtime is accounted up to se.slice_start; what it has beyond the last
  // charge is used but not yet charged.
  const sim::Tick uncharged = &curr == mlfq.curr ? curr.se.total_runtime - mlfq.charged : 0;
  const unsigned level = level_of(curr);
  const sim::Tick turn_used = turn_used_word(curr) + uncharged;
  sim::Tick left = quantum_[level] > turn_used ? quantum_[level] - turn_used : 0;
  if (!is_lowest(level)) {
    const sim::Tick allotment_used_now = allotment_used(curr) + uncharged;
    left = std::min(left, allotment_[level] > allotment_used_now ? allotment_[level] - allotment_used_now : 0);
  }
  return sim::tick_add(curr.se.slice_start, left);
}

void MlfqClass::params_changed(RunQueue&, Task&, const SchedParams&) {
  // Nothing MLFQ orders by is a parameter: levels follow from CPU use alone.
}

void MlfqClass::set_curr(RunQueue& rq, Task& task) {
  MlfqRq& mlfq = rqs_[rq.cpu];
  if (task.run_list.is_linked()) {
    Queue& queue = mlfq.levels[level_of(task)];
    queue.erase(queue.iterator_to(task));
  }
  mlfq.curr = &task;
  mlfq.charged = task.se.total_runtime;
  mlfq.turn_over = mlfq.yielded = false;
}

}  // namespace ossim::kernel
