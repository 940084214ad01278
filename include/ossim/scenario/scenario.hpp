#pragma once

/// @file
/// A scenario: everything one run needs, as a versioned JSON document.
///
///     {
///       "schema_version": 1,
///       "description": "what this scenario is for",
///       "machine":   {"cpus": 2, "memory": "256MiB", "cpu_frequency_hz": 3000000000,
///                     "tlb": {"itlb": {"entries": 64, "ways": 4}, "dtlb": {...}, "stlb": {...} | null}},
///       "kernel":    {"hz": 1000, "scheduler": "rr", "rr_quantum": "10ms", "pcid": true,
///                     "costs": "default" | "ideal" | {"syscall_entry": "100ns", ...}},
///       "workloads": [{"name": "cpu_hog", "count": 2, "arrival_ms": 0, "params": {...}}, ...],
///       "run":       {"seed": 1, "end": "60s"},
///       "outputs":   {"trace": true, "categories": "all" | "sched,task" | ["sched", "task"]}
///     }
///
/// Loading is strict: an unknown key or a bad value throws a ScenarioError whose message
/// names the key path ("workloads[1].params.depth: expected an integer from 0 to 12,
/// got 40"). Durations are strings with a unit ("10ms") or numbers in the unit the key
/// names (arrival_ms: milliseconds; *_us: microseconds; otherwise nanoseconds); sizes
/// are strings with a unit ("256MiB") or numbers of bytes. Every section and key is
/// optional except schema_version; to_json() writes the scenario back with every default
/// filled in, and loading that gives the same run.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/scenario/scenario_error.hpp"
#include "ossim/sim/tick.hpp"
#include "ossim/sim/trace.hpp"

namespace ossim::scenario {

/// The schema version this build reads and writes.
inline constexpr int kSchemaVersion = 1;

/// One entry of `workloads`: `count` instances of a canned workload, started by init at
/// `arrival` (simulated time since boot).
struct WorkloadEntry {
  std::string name;
  unsigned count = 1;
  sim::Tick arrival = 0;
  /// The workload's parameters, every default filled in.
  nlohmann::json params = nlohmann::json::object();
};

struct RunSettings {
  /// The seed of every random stream of the run.
  std::uint64_t seed = 1;
  /// The run stops here if the machine has not powered off by then.
  sim::Tick end = 60 * sim::kSecond;
};

struct OutputSettings {
  /// Whether to record a trace and write trace.json and events.jsonl.
  bool trace = true;
  sim::TraceCategory categories = sim::TraceCategory::kAll;
};

struct Scenario {
  /// A line for humans; carried into the effective configuration.
  std::string description;
  MachineConfig machine;
  kernel::KernelConfig kernel;
  std::vector<WorkloadEntry> workloads;
  RunSettings run;
  OutputSettings outputs;
  /// Where the scenario came from, for the manifest: "builtin:default", a file's path, or
  /// "code". Not part of the configuration.
  std::string source = "code";
  /// The --set overrides applied to the source, in order. Not part of the configuration.
  std::vector<std::string> overrides;
};

/// The built-in default scenario's document: 2 CPUs, 256 MiB, a mix of every canned
/// workload, powering off after a few simulated seconds.
const nlohmann::json& default_scenario_document();

/// Reads a scenario document strictly. Throws ScenarioError.
Scenario parse_scenario(const nlohmann::json& document);
/// Parses `text` as JSON (ScenarioError with the line and column of a syntax error),
/// applies the overrides ("key.path=value", see json_override), then parse_scenario().
/// `source` names the text in messages and in the manifest.
Scenario load_scenario_text(std::string_view text, std::string source, const std::vector<std::string>& overrides = {});
/// load_scenario_text() of a file's contents; ScenarioError if it cannot be read.
Scenario load_scenario_file(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
/// The default scenario with the overrides applied.
Scenario load_default_scenario(const std::vector<std::string>& overrides = {});

/// The scenario as a document, every default filled in (effective_config.json).
nlohmann::ordered_json to_json(const Scenario& scenario);

}  // namespace ossim::scenario
