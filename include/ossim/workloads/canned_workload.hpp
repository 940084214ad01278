#pragma once

/// @file
/// Canned workloads: named, parameterised programs that scenarios start by name and that
/// code can use directly. Each is built from a JSON object of parameters, read strictly
/// (an unknown key or a bad value is a scenario::ScenarioError naming it), into the
/// programs it registers in a kernel and the argv an instance is exec'd with:
///
///     workloads::WorkloadImage hog = workloads::make_canned_workload("cpu_hog", {{"duration", "50ms"}});
///     for (const kernel::Program& program : hog.programs) kernel.register_program(program);
///     kernel.boot([&](user::Process& init) {
///       init.fork([&](user::Process& child) { return child.execve(hog.path, hog.instance_argv(1)); });
///       return 0;
///     });
///
/// The catalogue (`ossim list` prints it): cpu_hog, interactive, fork_tree,
/// shell_pipeline, memory_toucher, sleep_loop, job, periodic, rtapp, page_refs, thrash, mmap_reader.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ossim/kernel/kernel.hpp"

namespace ossim::workloads {

/// One parameter of a canned workload, as listings show it.
struct WorkloadParam {
  std::string name;
  std::string description;
  /// The default as a scenario would write it; null when there is none (a parameter that
  /// replaces another, such as cpu_hog's `cycles` for `duration`).
  nlohmann::json default_value;
};

/// A canned workload's name, what it does, and its parameters.
struct WorkloadInfo {
  std::string name;
  std::string summary;
  std::vector<WorkloadParam> params;
};

/// Every canned workload, in catalogue order.
std::vector<WorkloadInfo> canned_workloads();

/// What a canned workload needs in a kernel, and how to start one instance of it.
struct WorkloadImage {
  /// Register each in the kernel before an instance runs.
  std::vector<kernel::Program> programs;
  /// The executable an instance execs ("/bin/cpu_hog").
  std::string path;
  /// Its argv, before the instance seed.
  std::vector<std::string> argv;
  /// Every parameter, defaults filled in: what the scenario's effective configuration shows.
  nlohmann::json params;

  /// The argv of one instance: `argv` then "--seed=<seed>", the seed of whatever random
  /// numbers the instance draws (see instance_seed()).
  std::vector<std::string> instance_argv(std::uint64_t seed) const;
};

struct WorkloadOptions {
  /// Appended to every program name, so that two configurations of one workload can share
  /// a kernel (suffix "-2" gives /bin/cpu_hog-2).
  std::string program_suffix;
  /// What durations of computation are converted to cycles at.
  std::uint64_t cpu_frequency_hz = 3'000'000'000;
  /// The machine's memory: a workload that could never fit in it is rejected.
  std::uint64_t memory_bytes = std::uint64_t{256} << 20;
  /// Where the parameters sit, for messages ("workloads[2].params").
  std::string where = "params";
  /// The name instances give themselves (prctl PR_SET_NAME) where the workload does so
  /// (job, periodic): the scenario entry's name. Empty: keep the program's name.
  std::string label;
  /// When instances are started (simulated time since boot): periodic releases its first
  /// job then.
  sim::Tick arrival = 0;
};

/// Builds the canned workload `name` from `params` (a JSON object; absent keys take their
/// defaults). Throws scenario::ScenarioError for an unknown workload, an unknown key or a
/// bad value, naming it.
WorkloadImage make_canned_workload(std::string_view name, const nlohmann::json& params,
                                   const WorkloadOptions& options = {});

/// The seed an instance was started with: its "--seed=<n>" argument (0 if it has none).
/// Workloads draw their random numbers from sim::RandomStream(instance_seed(argv)), so
/// that they are fixed by (scenario seed, workload entry, instance).
std::uint64_t instance_seed(const std::vector<std::string>& argv);

}  // namespace ossim::workloads
