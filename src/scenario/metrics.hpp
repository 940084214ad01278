#pragma once

// The metrics of a finished run (metrics.json): per task, per CPU, and totals, read from
// the kernel's task accounting and counters and from the CPUs' and MMUs' counters.
//
// Every time is an integer number of picoseconds (the simulator's tick), stated once in
// the document as "time_unit": "ps"; a time that never happened (a task still running at
// the end has no completion) is null. Ratios are doubles.

#include <cstdint>

#include <nlohmann/json.hpp>

#include "ossim/kernel/kernel.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::scenario {

struct RunEnd {
  std::uint64_t seed = 0;
  /// True if the machine powered off (init exited) before the run's end limit.
  bool halted = false;
  sim::Tick end_time = 0;
};

/// The metrics document of a run of `kernel` that ended as `end` says.
nlohmann::ordered_json collect_metrics(kernel::Kernel& kernel, const RunEnd& end);

}  // namespace ossim::scenario
