#pragma once

/// @file
/// Writes a Trace as Chrome Trace Event Format JSON (`trace.json`), which opens in
/// ui.perfetto.dev and chrome://tracing.
///
/// Layout: a "CPUs" process whose threads are the CPU tracks (run slices), one process
/// per thread group whose threads are its task tracks (state slices, instants), and a
/// "Counters" process holding the counter tracks. Process and thread names come first,
/// as "M" (metadata) events, with sort indices that put the CPUs on top. Slices are "X"
/// (complete) or "B"/"E" events, instants "i" with thread scope, counters "C", and each
/// flow an "s"/"f" pair sharing an id, its end bound to the slice enclosing it ("bp":"e").
///
/// Timestamps are microseconds with three decimals (nanosecond resolution), printed by
/// integer arithmetic; a slice's duration is the difference of its printed end points,
/// so nested slices stay nested. Same records, same bytes: the output never depends on
/// hash order, pointer values or the locale.

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ossim/sim/trace.hpp"

namespace ossim::sim {

/// The pid of the "CPUs" process; CPU n is its thread kCpuProcessId + n. Both lie far
/// above any simulated pid, so they never collide with a task's.
inline constexpr int kChromeCpuProcessId = 1'000'000'000;
/// The pid (and tid) of the "Counters" process.
inline constexpr int kChromeCounterProcessId = 2'000'000'000;

struct ChromeTraceOptions {
  /// Written as string members of "otherData", in this order (e.g. version, seed).
  std::vector<std::pair<std::string, std::string>> other_data;
};

/// Writes `trace` to `out` as one JSON object {"traceEvents":[...], "displayTimeUnit":"ns",
/// "otherData":{...}}, one event per line.
void write_chrome_trace(const Trace& trace, std::ostream& out, const ChromeTraceOptions& options = {});

}  // namespace ossim::sim
