#pragma once

/// @file
/// Random periodic task sets for real-time scheduling studies, as the literature draws
/// them: per-task utilisations by UUniFast (Bini and Buttazzo, "Measuring the performance
/// of schedulability tests", 2005), which is uniform over the simplex of n utilisations
/// summing to U; UUniFast-Discard (Davis and Burns, 2009) when U > 1 (multiprocessor
/// sets), redrawing any set with a task above 1; periods log-uniform between two bounds
/// (Emberson, Stafford and Davis, 2010); WCET = utilisation x period; implicit deadlines.
///
///     sim::RandomStream random(seed, "taskset");
///     auto set = workloads::generate_task_set({.tasks = 5, .utilisation = 0.8}, random);

#include <cstdint>
#include <vector>

#include "ossim/sim/random.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::workloads {

/// n utilisations summing to `total` (up to rounding), each in [0, total], uniformly
/// distributed over that simplex. Preconditions: n >= 1, total > 0.
std::vector<double> uunifast(sim::RandomStream& random, unsigned n, double total);

/// uunifast() redrawn until every utilisation is at most 1 (a task cannot use more than
/// one CPU). Throws std::invalid_argument when total > n (impossible) or no set is found
/// in `max_attempts` draws (total very close to n).
std::vector<double> uunifast_discard(sim::RandomStream& random, unsigned n, double total,
                                     unsigned max_attempts = 100'000);

struct TaskSetRequest {
  unsigned tasks = 5;
  /// The total utilisation sum(C_i / T_i); above 1 the set is for several CPUs.
  double utilisation = 0.5;
  /// Periods are log-uniform in [period_min, period_max], rounded down to a multiple of
  /// period_granularity (never below it).
  sim::Tick period_min = 10 * sim::kMillisecond;
  sim::Tick period_max = 100 * sim::kMillisecond;
  sim::Tick period_granularity = sim::kMillisecond;
  /// WCETs are rounded down to a multiple of this (never below it), so the set's real
  /// utilisation is within tasks x wcet_granularity / period_min of the requested one.
  sim::Tick wcet_granularity = sim::kMicrosecond;
};

struct PeriodicTaskSpec {
  sim::Tick period = 0;
  sim::Tick wcet = 0;
  /// Relative deadline; the period (implicit deadlines).
  sim::Tick deadline = 0;
  /// wcet / period after rounding.
  double utilisation = 0;
};

/// A task set for `request`, drawn from `random`. Throws std::invalid_argument for an
/// unusable request (no tasks, utilisation not positive or above the task count, bad
/// period bounds).
std::vector<PeriodicTaskSpec> generate_task_set(const TaskSetRequest& request, sim::RandomStream& random);

}  // namespace ossim::workloads
