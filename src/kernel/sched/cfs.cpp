#include "kernel/sched/cfs.hpp"

#include <algorithm>
#include <array>
#include <iterator>

#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

namespace {

// Linux's sched_prio_to_weight: nice -20..19; each step is about 10% of CPU time
// between two tasks (a factor of ~1.25 in weight).
constexpr std::array<std::uint64_t, 40> kPrioToWeight = {
    /* -20 */ 88761, 71755, 56483, 46273, 36291,
    /* -15 */ 29154, 23254, 18705, 14949, 11916,
    /* -10 */ 9548,  7620,  6100,  4904,  3906,
    /*  -5 */ 3121,  2501,  1991,  1586,  1277,
    /*   0 */ 1024,  820,   655,   526,   423,
    /*   5 */ 335,   272,   215,   172,   137,
    /*  10 */ 110,   87,    70,    56,    45,
    /*  15 */ 36,    29,    23,    18,    15,
};

// vruntimes are compared through their signed difference, as Linux does, so that the
// order survives a wrap of the 64-bit counter.
bool vruntime_before(std::uint64_t a, std::uint64_t b) { return static_cast<std::int64_t>(a - b) < 0; }
std::uint64_t max_vruntime(std::uint64_t a, std::uint64_t b) { return vruntime_before(a, b) ? b : a; }
std::uint64_t min_vruntime(std::uint64_t a, std::uint64_t b) { return vruntime_before(a, b) ? a : b; }

std::uint64_t weight_of(const Task& task) { return CfsClass::weight_of_nice(task.se.params.nice); }

/// `delta` scaled by a / b without overflow.
std::uint64_t scale(std::uint64_t delta, std::uint64_t a, std::uint64_t b) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(delta) * a / b);
}

/// Real time `delta` of `task` in virtual time (Linux's calc_delta_fair).
std::uint64_t to_virtual(sim::Tick delta, const Task& task) {
  return scale(delta, CfsClass::kNiceZeroWeight, weight_of(task));
}

std::uint64_t& vruntime_of(Task& task) { return task.se.policy_data[0]; }
std::uint64_t& charged_runtime_of(Task& task) { return task.se.policy_data[1]; }
std::uint64_t& vruntime_cpu_of(Task& task) { return task.se.policy_data[2]; }

}  // namespace

CfsClass::CfsClass(Scheduler& core, unsigned cpus, const SchedulerConfig& config)
    : core_(core), tunables_(config.cfs), rqs_(cpus) {}

std::uint64_t CfsClass::weight_of_nice(int nice) { return kPrioToWeight[std::clamp(nice, -20, 19) + 20]; }

bool CfsClass::ByVruntime::operator()(const Task& a, const Task& b) const {
  if (vruntime(a) != vruntime(b)) return vruntime_before(vruntime(a), vruntime(b));
  return a.tid < b.tid;
}

void CfsClass::charge(CfsRq& cfs, Task& task) {
  const sim::Tick delta = task.se.total_runtime - charged_runtime_of(task);
  charged_runtime_of(task) = task.se.total_runtime;
  vruntime_of(task) += to_virtual(delta, task);
  update_min_vruntime(cfs);
}

void CfsClass::update_curr(RunQueue& rq) {
  CfsRq& cfs = rqs_[rq.cpu];
  if (cfs.curr == nullptr) return;
  if (cfs.curr == rq.curr) core_.update_curr(rq, rq.curr->ctx().cpu().now());
  charge(cfs, *cfs.curr);
}

void CfsClass::update_min_vruntime(CfsRq& cfs) {
  std::uint64_t lowest = cfs.min_vruntime;
  bool any = false;
  if (cfs.curr != nullptr) {
    lowest = vruntime(*cfs.curr);
    any = true;
  }
  if (!cfs.tree.empty()) {
    const std::uint64_t leftmost = vruntime(*cfs.tree.begin());
    lowest = any ? min_vruntime(lowest, leftmost) : leftmost;
    any = true;
  }
  if (any) cfs.min_vruntime = max_vruntime(cfs.min_vruntime, lowest);
}

sim::Tick CfsClass::sched_slice(const CfsRq& cfs, const Task& task, bool queued) const {
  const std::uint64_t weight = weight_of(task);
  const std::uint64_t nr_running = cfs.nr_running + (queued ? 0 : 1);
  const std::uint64_t load = cfs.load + (queued ? 0 : weight);
  const sim::Tick period = std::max(tunables_.sched_latency, nr_running * tunables_.min_granularity);
  return scale(period, weight, load);
}

void CfsClass::enqueue(RunQueue& rq, Task& task, EnqueueReason reason) {
  CfsRq& cfs = rqs_[rq.cpu];
  update_curr(rq);
  std::uint64_t& vruntime = vruntime_of(task);
  // A vruntime from another CPU (a new task's is its parent's) keeps its distance to that
  // CPU's min_vruntime.
  const std::uint64_t from = vruntime_cpu_of(task);
  if (from != rq.cpu && from < rqs_.size()) {
    vruntime = vruntime - rqs_[from].min_vruntime + cfs.min_vruntime;
  }
  if (reason == EnqueueReason::kNew) {
    vruntime = max_vruntime(vruntime, cfs.min_vruntime + to_virtual(sched_slice(cfs, task, false), task));
  } else if (reason == EnqueueReason::kWakeup || reason == EnqueueReason::kRequeue) {
    vruntime = max_vruntime(vruntime, cfs.min_vruntime - tunables_.sched_latency / 2);
  }
  vruntime_cpu_of(task) = rq.cpu;
  charged_runtime_of(task) = task.se.total_runtime;
  cfs.load += weight_of(task);
  ++cfs.nr_running;
  cfs.tree.insert(task);
}

void CfsClass::dequeue(RunQueue& rq, Task& task, DequeueReason) {
  CfsRq& cfs = rqs_[rq.cpu];
  update_curr(rq);
  if (&task == cfs.curr) {
    cfs.curr = nullptr;  // put_prev finds it no longer queued
  } else if (task.tree_node.is_linked()) {
    cfs.tree.erase(cfs.tree.iterator_to(task));
  }
  if (cfs.skip == &task) cfs.skip = nullptr;
  cfs.load -= weight_of(task);
  --cfs.nr_running;
  update_min_vruntime(cfs);
}

Task* CfsClass::pick_next(RunQueue& rq) {
  CfsRq& cfs = rqs_[rq.cpu];
  if (cfs.tree.empty()) return nullptr;
  auto it = cfs.tree.begin();
  if (&*it == cfs.skip && std::next(it) != cfs.tree.end()) ++it;
  cfs.skip = nullptr;
  Task& next = *it;
  cfs.tree.erase(it);
  cfs.curr = &next;
  charged_runtime_of(next) = next.se.total_runtime;
  return &next;
}

std::size_t CfsClass::peek_upcoming(const RunQueue& rq, const Task** upcoming, std::size_t max) const {
  // The leftmost tasks by vruntime (a buddy skip is ignored: this is only a hint).
  return first_tasks(rqs_[rq.cpu].tree, upcoming, max);
}

void CfsClass::put_prev(RunQueue& rq, Task& prev) {
  CfsRq& cfs = rqs_[rq.cpu];
  if (&prev == cfs.curr) {
    charge(cfs, prev);
    cfs.curr = nullptr;
  }
  if (prev.se.on_rq && !prev.tree_node.is_linked()) cfs.tree.insert(prev);
}

void CfsClass::resched_curr(RunQueue& rq) {
  cpu::Cpu& cpu = rq.curr->ctx().cpu();
  core_.resched(rq, cpu.now(), &cpu);
}

void CfsClass::task_tick(RunQueue& rq, Task& curr) {
  CfsRq& cfs = rqs_[rq.cpu];
  if (&curr != cfs.curr) return;
  charge(cfs, curr);
  // Linux's check_preempt_tick: the slice is used up, or (after the minimum granularity)
  // the leftmost task is behind by more than a slice.
  const sim::Tick ideal = sched_slice(cfs, curr, true);
  if (curr.se.slice_runtime >= ideal) {
    resched_curr(rq);
    return;
  }
  if (curr.se.slice_runtime < tunables_.min_granularity || cfs.tree.empty()) return;
  const auto lead = static_cast<std::int64_t>(vruntime(curr) - vruntime(*cfs.tree.begin()));
  if (lead > static_cast<std::int64_t>(ideal)) resched_curr(rq);
}

void CfsClass::check_preempt(RunQueue& rq, Task& woken) {
  CfsRq& cfs = rqs_[rq.cpu];
  if (cfs.curr == nullptr || cfs.curr != rq.curr || cfs.curr == &woken) return;
  update_curr(rq);
  // Linux's wakeup_preempt_entity: preempt only for a lead worth more than the wakeup
  // granularity, so that wakeups do not switch on every small difference.
  const auto lead = static_cast<std::int64_t>(vruntime(*cfs.curr) - vruntime(woken));
  if (lead > static_cast<std::int64_t>(to_virtual(tunables_.wakeup_granularity, woken))) rq.curr->need_resched = true;
}

unsigned CfsClass::select_cpu(Task& task, unsigned prev_cpu) { return core_.idle_or_least_loaded_cpu(task, prev_cpu); }

void CfsClass::yield(RunQueue& rq, Task& curr) {
  CfsRq& cfs = rqs_[rq.cpu];
  update_curr(rq);
  if (!cfs.tree.empty()) cfs.skip = &curr;
  curr.need_resched = true;
}

sim::Tick CfsClass::slice_end(RunQueue& rq, Task& curr) {
  const sim::Tick slice = sched_slice(rqs_[rq.cpu], curr, curr.se.on_rq);
  return sim::tick_add(curr.se.slice_start, slice > curr.se.slice_runtime ? slice - curr.se.slice_runtime : 0);
}

void CfsClass::params_changed(RunQueue& rq, Task& task, const SchedParams& old) {
  if (task.se.params.nice == old.nice || !task.se.on_rq) return;
  CfsRq& cfs = rqs_[rq.cpu];
  const bool running = &task == cfs.curr;
  // The runtime so far is charged at the old weight.
  if (running) {
    const int new_nice = task.se.params.nice;
    task.se.params.nice = old.nice;
    update_curr(rq);
    task.se.params.nice = new_nice;
  }
  // The tree is ordered by vruntime, which a weight change leaves alone: a queued task
  // keeps its place, and only its share of the run queue's load moves to the new weight.
  cfs.load -= weight_of_nice(old.nice);
  cfs.load += weight_of(task);
  if (running) {
    if (task.se.params.nice > old.nice && &task == rq.curr) task.need_resched = true;  // a smaller share: re-pick
  } else {
    check_preempt(rq, task);
  }
}

void CfsClass::set_curr(RunQueue& rq, Task& task) {
  CfsRq& cfs = rqs_[rq.cpu];
  if (task.tree_node.is_linked()) cfs.tree.erase(cfs.tree.iterator_to(task));
  cfs.curr = &task;
  charged_runtime_of(task) = task.se.total_runtime;
}

}  // namespace ossim::kernel
