#pragma once

/// @file
/// Running a scenario: builds the engine, the machine and the kernel it describes,
/// registers its workloads' programs, boots with an init that starts each workload entry
/// at its arrival time (`count` forks that exec the workload), and runs until the machine
/// powers off (init has reaped everything) or run.end.
///
///     scenario::Scenario s = scenario::load_scenario_file("my.json");
///     scenario::RunResult result = scenario::run_scenario(s);
///     scenario::write_run_outputs(s, result, "out");
///
/// The outputs, all deterministic (same scenario and seed, same bytes):
///   trace.json           Chrome Trace Event JSON (ui.perfetto.dev), if outputs.trace
///   events.jsonl         the same records as JSON Lines, if outputs.trace
///   metrics.json         per task, per CPU and totals (times in integer picoseconds)
///   console.txt          everything the simulated programs wrote to the console
///   effective_config.json  the scenario with every default filled in
///   manifest.json        ossim version, seed, scenario source, overrides, file list

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ossim/scenario/scenario.hpp"
#include "ossim/sim/tick.hpp"
#include "ossim/sim/trace.hpp"

namespace ossim::scenario {

struct RunResult {
  /// True if init exited (and the machine powered off) before run.end.
  bool halted = false;
  /// Simulated time at the end: the power-off, or run.end.
  sim::Tick end_time = 0;
  /// Init's wait status, once halted.
  int init_status = 0;
  /// Everything written to the console.
  std::string console;
  /// What metrics.json holds.
  nlohmann::ordered_json metrics;
  /// The recorded trace (every open slice closed at end_time); null if outputs.trace is off.
  std::unique_ptr<sim::Trace> trace;
};

/// Runs `scenario` to power-off or run.end. Throws ScenarioError if a workload's
/// parameters do not load, std::invalid_argument if the kernel refuses the configuration.
RunResult run_scenario(const Scenario& scenario);

/// Writes the run's files into `directory` (created if missing). Returns the names of the
/// files written, in the order the manifest lists them. Throws std::runtime_error if a
/// file cannot be written.
std::vector<std::string> write_run_outputs(const Scenario& scenario, const RunResult& result,
                                           const std::filesystem::path& directory);

}  // namespace ossim::scenario
