#pragma once

// The metrics of a finished run (metrics.json): per task, per CPU, and totals, read from
// the kernel's task accounting and counters and from the CPUs' and MMUs' counters.
//
// Every time is an integer number of nanoseconds (the simulator's picoseconds, rounded
// down), its key ending in _ns; a time that never happened (a task still running at the
// end has no completion) is null. Ratios are doubles.
//
// "tasks" lists the workload tasks (those a scenario's entries spawned, by their entry's
// name), with the scheduling metrics of papers: arrival, first run, completion,
// turnaround, response, waiting (runnable but not running), CPU time, slices,
// preemptions, migrations, the wakeup-latency distribution, and for periodic tasks jobs,
// deadline misses and lateness. "all_tasks" lists every task that ran (init, children of
// workloads...). "totals" has throughput (workload tasks completed per second), the
// means, context switches, and Jain's fairness index over the workload tasks' CPU shares
// (each task's CPU time over its time in the system).

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
