#pragma once

/// @file
/// A scenario: everything one run needs, as a versioned JSON document.
///
///     {
///       "schema_version": 1,
///       "description": "what this scenario is for",
///       "machine":   {"cpus": 2, "memory": "256MiB", "cpu_frequency_hz": 3000000000,
///                     "tlb": {"itlb": {"entries": 64, "ways": 4}, "dtlb": {...}, "stlb": {...} | null}},
///       "kernel":    {"hz": 1000, "pcid": true,
///                     "scheduler": "rr" | {"policy": "mlfq", "quantum_ms": [1, 2, 4], "allotment_ms": [...],
///                                          "levels": 3, "boost_ms": 100, "fair": "cfs", "cfs": {...}},
///                     "costs": "default" | "ideal" | {"syscall_entry": "100ns", ...}},
///       "workloads": [{"kind": "cpu_hog", "name": "hogs", "count": 2, "arrival_ms": 0, "params": {...}},
///                     {"kind": "job", "name": "A", "arrival_ms": 0, "cpu_ms": 5, "io_every_ms": 2, "io_ms": 1,
///                      "nice": 0, "tickets": 100, "priority": 10, "cpus": [0, 1], "policy": "fifo"},
///                     {"kind": "periodic", "name": "T1", "period_ms": 5, "wcet_ms": 2, "deadline_ms": 5}, ...],
///       "run":       {"seed": 1, "end_ms": 60000},
///       "outputs":   {"trace": true, "categories": "all" | "sched,task" | ["sched", "task"]}
///     }
///
/// Loading is strict: an unknown key or a bad value throws a ScenarioError whose message
/// names the key path ("workloads[1].params.depth: expected an integer from 0 to 12,
/// got 40"). Durations are strings with a unit ("10ms") or numbers in the unit the key
/// names (arrival_ms: milliseconds; *_us: microseconds; otherwise nanoseconds); sizes
/// are strings with a unit ("256MiB") or numbers of bytes.
///
/// Workload entries: `kind` names the canned workload (`ossim list`); an entry without it
/// names the workload with `name` (the older form). The textbook kinds take their
/// parameters inline (job: cpu_ms, io_every_ms, io_ms; periodic: period_ms, wcet_ms,
/// deadline_ms, jobs; rtapp: phases, loop), the others under `params`. A
/// `{"kind": "taskset", ...}` entry (tasks, utilisation, period_ms [min, max],
/// period_granularity_ms, generator, seed, jobs) is a random periodic task set, expanded
/// here into periodic entries "<name>.0", "<name>.1"... (docs/schedulers.md). "costs": "ideal" also makes the
/// machine's timing ideal (machine.timing, see with_ideal_timing) unless the machine
/// section says otherwise, so that a job's times are exactly the textbook's. Every section and key is
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
#include "ossim/sys/sched.hpp"

namespace ossim::scenario {

/// The schema version this build reads and writes.
inline constexpr int kSchemaVersion = 1;

/// One entry of `workloads`: `count` instances of a canned workload (`kind`), started by
/// the kernel at `arrival` (simulated time since boot) as children of init, each with the
/// entry's scheduling attributes in place before it first runs (Kernel::spawn).
struct WorkloadEntry {
  /// The canned workload that runs ("job", "periodic", "cpu_hog"...).
  std::string kind;
  /// The name metrics report for each of its tasks (told apart by pid); the kind's by
  /// default.
  std::string name;
  unsigned count = 1;
  sim::Tick arrival = 0;
  /// The workload's parameters, every default filled in.
  nlohmann::json params = nlohmann::json::object();
  /// The task's policy: "" takes the scenario's (see kernel::SchedulerConfig), or one of
  /// "other", "batch", "idle", "fifo", "rr", "deadline" (periodic tasks only).
  std::string policy;
  int nice = 0;
  std::uint32_t tickets = sys::kDefaultTickets;
  /// Real-time priority (1-99) when the task is SCHED_FIFO or SCHED_RR; 0: the default
  /// (50, or rate-monotonic under "rm").
  int priority = 0;
  /// The CPUs its tasks may run on; empty: all.
  std::vector<unsigned> cpus;
};

struct RunSettings {
  /// The seed of every random stream of the run.
  std::uint64_t seed = 1;
  /// The run stops here if the machine has not powered off by then; kTickNever: it runs
  /// until every workload task has finished and init powers the machine off.
  sim::Tick end = sim::kTickNever;
};

struct OutputSettings {
  /// Whether to record a trace and write trace.json and events.jsonl.
  bool trace = true;
  sim::TraceCategory categories = sim::TraceCategory::kAll;
};

struct Scenario {
  /// A line for humans; carried into the effective configuration.
  std::string description;
  /// The machine as configured; with machine.timing "ideal" its latencies are already zero.
  MachineConfig machine;
  /// machine.timing: "ideal" (with_ideal_timing applied) or "default".
  bool ideal_timing = false;
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
