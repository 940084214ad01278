// Random periodic task sets: UUniFast(-Discard) utilisations, log-uniform periods.

#include "ossim/workloads/task_set.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace ossim::workloads {

std::vector<double> uunifast(sim::RandomStream& random, unsigned n, double total) {
  // Draw the sum of the last n-1-i utilisations as remaining * r^(1/(n-1-i)): the
  // distribution of the largest-so-far partial sum of uniform points, which makes the
  // vector uniform over the simplex.
  std::vector<double> utilisations;
  utilisations.reserve(n);
  double remaining = total;
  for (unsigned i = 1; i < n; ++i) {
    const double next = remaining * std::pow(random.uniform_unit(), 1.0 / static_cast<double>(n - i));
    utilisations.push_back(remaining - next);
    remaining = next;
  }
  utilisations.push_back(remaining);
  return utilisations;
}

std::vector<double> uunifast_discard(sim::RandomStream& random, unsigned n, double total, unsigned max_attempts) {
  if (total > static_cast<double>(n)) {
    throw std::invalid_argument(fmt::format("utilisation {} is more than {} tasks can have", total, n));
  }
  for (unsigned attempt = 0; attempt < max_attempts; ++attempt) {
    std::vector<double> utilisations = uunifast(random, n, total);
    if (std::all_of(utilisations.begin(), utilisations.end(), [](double u) { return u <= 1.0; })) return utilisations;
  }
  throw std::invalid_argument(
      fmt::format("no set of {} tasks with utilisation {} and none above 1 in {} draws", n, total, max_attempts));
}

std::vector<PeriodicTaskSpec> generate_task_set(const TaskSetRequest& request, sim::RandomStream& random) {
  if (request.tasks == 0) throw std::invalid_argument("a task set needs at least one task");
  if (!(request.utilisation > 0)) throw std::invalid_argument("the utilisation must be positive");
  if (request.period_granularity == 0 || request.wcet_granularity == 0) {
    throw std::invalid_argument("granularities must be positive");
  }
  if (request.period_min < request.period_granularity || request.period_max < request.period_min) {
    throw std::invalid_argument("periods need period_granularity <= period_min <= period_max");
  }
  const std::vector<double> utilisations = uunifast_discard(random, request.tasks, request.utilisation);
  const double log_min = std::log(static_cast<double>(request.period_min));
  const double log_max = std::log(static_cast<double>(request.period_max));
  std::vector<PeriodicTaskSpec> tasks;
  tasks.reserve(request.tasks);
  for (double utilisation : utilisations) {
    // Log-uniform: every decade of periods is equally likely, as in real task sets.
    const double drawn = std::exp(log_min + random.uniform_unit() * (log_max - log_min));
    const auto period = std::clamp(static_cast<sim::Tick>(drawn) / request.period_granularity * request.period_granularity,
                                   request.period_granularity, request.period_max);
    const auto exact_wcet = static_cast<sim::Tick>(utilisation * static_cast<double>(period));
    const sim::Tick wcet = std::clamp(exact_wcet / request.wcet_granularity * request.wcet_granularity,
                                      request.wcet_granularity, period);
    tasks.push_back({.period = period,
                     .wcet = wcet,
                     .deadline = period,
                     .utilisation = static_cast<double>(wcet) / static_cast<double>(period)});
  }
  return tasks;
}

}  // namespace ossim::workloads
