#pragma once

/// @file
/// How the kernel schedules: the scenario's policy and the tunables of each policy.
///
/// The kernel has Linux's stack of scheduling classes, highest first: deadline
/// (SCHED_DEADLINE: EDF with CBS), real-time (SCHED_FIFO, SCHED_RR: priorities 1-99),
/// the fair slot (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE), idle. The fair slot holds one
/// general-purpose policy for the whole run: CFS as on Linux, or a textbook one.
///
/// `policy` names the scenario's policy: what the tasks a scenario starts get.
///   - A fair-slot policy ("fifo", "sjf", "stcf", "rr", "mlfq", "lottery", "stride",
///     "cfs") fills the fair slot; workload tasks are SCHED_OTHER.
///   - "rt_fifo" and "rt_rr" make workload tasks SCHED_FIFO or SCHED_RR (with their
///     declared priority); "edf" makes periodic tasks SCHED_DEADLINE (runtime = WCET,
///     deadline, period); "rm" makes periodic tasks SCHED_FIFO with rate-monotonic
///     priorities (the shorter the period, the higher). The fair slot then holds `fair`.
/// Tasks started from code choose their own policy (sched_setattr and friends).

#include <string>
#include <string_view>
#include <vector>

#include "ossim/sim/tick.hpp"

namespace ossim::kernel {

/// The multi-level feedback queue's shape (OSTEP chapter 8). Lists are highest priority
/// first and hold one value per level.
struct MlfqConfig {
  unsigned levels = 3;
  std::vector<sim::Tick> quantum = {10 * sim::kMillisecond, 20 * sim::kMillisecond, 40 * sim::kMillisecond};
  /// The CPU time a task may use at a level, over any number of runs, before it moves
  /// down (rule 4). The lowest level's allotment is never used up.
  std::vector<sim::Tick> allotment = {10 * sim::kMillisecond, 20 * sim::kMillisecond, 40 * sim::kMillisecond};
  /// Every `boost` all tasks move to the top level (rule 5); 0 = never.
  sim::Tick boost = 1 * sim::kSecond;
};

/// CFS's tunables (Linux's defaults, unscaled: Linux multiplies them by 1 + log2(cpus)).
struct CfsTunables {
  sim::Tick sched_latency = 6 * sim::kMillisecond;
  sim::Tick min_granularity = 750 * sim::kMicrosecond;
  sim::Tick wakeup_granularity = 1 * sim::kMillisecond;
};

struct SchedulerConfig {
  /// The scenario's policy (see above); scheduling_policy_names() lists them.
  std::string policy = "rr";
  /// The fair slot's policy when `policy` is a real-time one.
  std::string fair = "cfs";
  /// The quantum of round robin, SCHED_RR, lottery and stride.
  sim::Tick quantum = 10 * sim::kMillisecond;
  MlfqConfig mlfq;
  CfsTunables cfs;
  /// Admission control of SCHED_DEADLINE: the utilisation (runtime / period) all deadline
  /// tasks of the machine may reserve, per CPU. Linux reserves 95 % (sched_rt_runtime_us);
  /// 1.0 lets a set with total utilisation 1 in, as EDF's theory allows.
  double deadline_bandwidth = 1.0;
  /// How often a busy CPU balances its run queue against the others (an idle one does at
  /// every tick and whenever it is about to go idle).
  sim::Tick balance_interval = 4 * sim::kMillisecond;
};

/// Every policy name `SchedulerConfig::policy` accepts, in a fixed order.
std::vector<std::string_view> scheduling_policy_names();
/// Whether `name` is a policy that can fill the fair slot.
bool is_fair_slot_policy(std::string_view name);

}  // namespace ossim::kernel
