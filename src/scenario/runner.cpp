#include "ossim/scenario/runner.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/chrome_trace_writer.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/jsonl_trace_writer.hpp"
#include "ossim/user/process.hpp"
#include "ossim/version.hpp"
#include "ossim/workloads/canned_workload.hpp"
#include "scenario/json_reader.hpp"
#include "scenario/metrics.hpp"

namespace ossim::scenario {

namespace {

/// The scheduling attributes of an entry's tasks: the entry's own policy if it names one,
/// else what the scenario's policy gives them (kernel::SchedulerConfig): SCHED_OTHER under
/// a fair-slot policy; SCHED_FIFO / SCHED_RR under rt_fifo / rt_rr; for periodic tasks,
/// SCHED_DEADLINE (runtime = WCET) under edf and SCHED_FIFO at a rate-monotonic priority
/// under rm (other kinds stay SCHED_OTHER there). `rm_priority` is the entry's
/// rate-monotonic priority.
sys::sched_attr spawn_attributes(const Scenario& scenario, const WorkloadEntry& entry, int rm_priority) {
  constexpr int kDefaultRtPriority = 50;
  const std::string& scenario_policy = scenario.kernel.scheduler.policy;
  const bool periodic = entry.kind == "periodic";
  std::string policy = entry.policy;
  int priority = entry.priority;
  if (policy.empty()) {
    policy = "other";
    if (scenario_policy == "rt_fifo") policy = "fifo";
    if (scenario_policy == "rt_rr") policy = "rr";
    if (scenario_policy == "edf" && periodic) policy = "deadline";
    if (scenario_policy == "rm" && periodic) {
      policy = "fifo";
      if (priority == 0) priority = rm_priority;
    }
  }
  sys::sched_attr attr;
  attr.size = sys::kSchedAttrSize;
  attr.sched_nice = entry.nice;
  attr.sched_tickets = entry.tickets;
  if (entry.kind == "job") {
    attr.sched_expected_runtime =
        static_cast<std::uint64_t>(scenario::parse_duration_json(entry.params.at("cpu_ms"), sim::kMillisecond) /
                                   sim::kNanosecond);
  }
  if (policy == "other") attr.sched_policy = sys::kSchedOther;
  if (policy == "batch") attr.sched_policy = sys::kSchedBatch;
  if (policy == "idle") attr.sched_policy = sys::kSchedIdle;
  if (policy == "fifo" || policy == "rr") {
    attr.sched_policy = policy == "fifo" ? sys::kSchedFifo : sys::kSchedRr;
    attr.sched_priority = static_cast<std::uint32_t>(priority == 0 ? kDefaultRtPriority : priority);
    attr.sched_nice = 0;
  }
  if (policy == "deadline") {
    const auto ns = [&](const char* key) {
      return scenario::parse_duration_json(entry.params.at(key), sim::kMillisecond) / sim::kNanosecond;
    };
    attr.sched_policy = sys::kSchedDeadline;
    attr.sched_runtime = ns("wcet_ms");
    attr.sched_deadline = ns("deadline_ms");
    attr.sched_period = ns("period_ms");
    attr.sched_nice = 0;
  }
  return attr;
}

/// Rate-monotonic priorities: the shorter a periodic entry's period, the higher (99 for
/// the shortest, one less per longer period; equal periods share a priority).
std::vector<int> rate_monotonic_priorities(const Scenario& scenario) {
  std::vector<sim::Tick> periods;
  for (const WorkloadEntry& entry : scenario.workloads) {
    if (entry.kind == "periodic") periods.push_back(scenario::parse_duration_json(entry.params.at("period_ms"), sim::kMillisecond));
  }
  std::sort(periods.begin(), periods.end());
  periods.erase(std::unique(periods.begin(), periods.end()), periods.end());
  std::vector<int> priorities;
  for (const WorkloadEntry& entry : scenario.workloads) {
    int priority = 0;
    if (entry.kind == "periodic") {
      const sim::Tick period = scenario::parse_duration_json(entry.params.at("period_ms"), sim::kMillisecond);
      const auto rank = std::lower_bound(periods.begin(), periods.end(), period) - periods.begin();
      priority = std::max(sys::kRtPriorityMin, sys::kRtPriorityMax - static_cast<int>(rank));
    }
    priorities.push_back(priority);
  }
  return priorities;
}

/// Builds every entry's workload image, registers its programs in `kernel`, and asks the
/// kernel to spawn each instance at the entry's arrival, with its attributes. An entry
/// whose workload an earlier entry already uses gets its programs suffixed "-2", "-3"...
/// Instance i of entry e gets the seed of stream "workloads", child "e/i". Instances of
/// one arrival time are spawned in file order.
void spawn_workloads(const Scenario& scenario, kernel::Kernel& kernel, const sim::Engine& engine) {
  const sim::RandomStream seeds = engine.random_stream("workloads");
  const std::vector<int> rm_priorities = rate_monotonic_priorities(scenario);
  std::map<std::string, unsigned> uses;
  for (std::size_t e = 0; e < scenario.workloads.size(); ++e) {
    const WorkloadEntry& entry = scenario.workloads[e];
    const unsigned use = ++uses[entry.kind];
    const workloads::WorkloadOptions options{.program_suffix = use == 1 ? "" : fmt::format("-{}", use),
                                             .cpu_frequency_hz = scenario.machine.cpu.frequency_hz,
                                             .memory_bytes = scenario.machine.memory_bytes,
                                             .where = fmt::format("workloads[{}].params", e),
                                             .label = entry.name,
                                             .arrival = entry.arrival};
    workloads::WorkloadImage image = workloads::make_canned_workload(entry.kind, entry.params, options);
    for (kernel::Program& program : image.programs) kernel.register_program(std::move(program));
    sys::cpu_mask_t affinity = entry.cpus.empty() ? ~sys::cpu_mask_t{0} : 0;
    for (unsigned cpu : entry.cpus) affinity |= sys::cpu_mask_t{1} << cpu;
    const sys::sched_attr attr = spawn_attributes(scenario, entry, rm_priorities[e]);
    for (unsigned i = 0; i < entry.count; ++i) {
      kernel.spawn({.path = image.path,
                    .argv = image.instance_argv(seeds.derive(fmt::format("{}/{}", e, i)).next_u64()),
                    .envp = {},
                    .at = entry.arrival,
                    .attr = attr,
                    .affinity = affinity,
                    .label = entry.name});
    }
  }
}

void write_file(const std::filesystem::path& path, const auto& write) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) write(out);
  out.flush();
  if (!out) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

}  // namespace

RunResult run_scenario(const Scenario& scenario) {
  RunResult result;
  sim::Engine engine({.seed = scenario.run.seed});
  Machine machine(engine, scenario.machine);
  if (scenario.outputs.trace) result.trace = std::make_unique<sim::Trace>(scenario.outputs.categories);
  kernel::KernelConfig kernel_config = scenario.kernel;
  kernel_config.memory.seed = sim::RandomStream(scenario.run.seed, "replacement").next_u64();
  kernel::Kernel kernel(machine, kernel_config, result.trace.get());
  spawn_workloads(scenario, kernel, engine);
  kernel.boot({});  // init only reaps: the kernel starts the workloads at their arrivals

  const sim::Tick end = scenario.run.end;
  engine.run_until(end);  // or until the power-off (init's exit), which stops the engine
  result.halted = kernel.halted();
  if (result.halted) {
    // The power-off: init's exit. Whatever events remain (none, normally) are not run.
    result.end_time = kernel.power_off_time();
    result.init_status = kernel.init_status();
  } else if (end == sim::kTickNever) {
    // Nothing left to happen, yet init has not powered off (a task blocked for good).
    result.end_time = engine.now();
  } else {
    result.end_time = end;
  }
  result.console = machine.console().output();
  result.metrics = collect_metrics(kernel, {.seed = scenario.run.seed, .halted = result.halted, .end_time = result.end_time});
  if (result.trace) result.trace->close_open_slices(result.end_time);
  return result;
}

std::vector<std::string> write_run_outputs(const Scenario& scenario, const RunResult& result,
                                           const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw std::runtime_error(fmt::format("cannot create {}: {}", directory.string(), error.message()));

  std::vector<std::string> files;
  const auto write_json = [&](const std::string& name, const nlohmann::ordered_json& document) {
    write_file(directory / name, [&](std::ostream& out) { out << document.dump(2) << '\n'; });
    files.push_back(name);
  };
  if (result.trace) {
    sim::ChromeTraceOptions options;
    options.other_data = {{"ossim_version", OSSIM_VERSION_STRING},
                          {"seed", std::to_string(scenario.run.seed)},
                          {"scenario", scenario.source}};
    write_file(directory / "trace.json", [&](std::ostream& out) { sim::write_chrome_trace(*result.trace, out, options); });
    write_file(directory / "events.jsonl", [&](std::ostream& out) { sim::write_jsonl_trace(*result.trace, out); });
    files.insert(files.end(), {"trace.json", "events.jsonl"});
  } else {
    // A directory reused from a traced run must not keep that run's trace.
    std::filesystem::remove(directory / "trace.json", error);
    std::filesystem::remove(directory / "events.jsonl", error);
  }
  write_json("metrics.json", result.metrics);
  write_file(directory / "console.txt", [&](std::ostream& out) { out << result.console; });
  files.push_back("console.txt");
  write_json("effective_config.json", to_json(scenario));
  files.push_back("manifest.json");
  const nlohmann::ordered_json manifest = {{"ossim_version", OSSIM_VERSION_STRING},
                                           {"schema_version", kSchemaVersion},
                                           {"seed", scenario.run.seed},
                                           {"scenario", scenario.source},
                                           {"overrides", scenario.overrides},
                                           {"outputs", files}};
  write_file(directory / "manifest.json", [&](std::ostream& out) { out << manifest.dump(2) << '\n'; });
  return files;
}

}  // namespace ossim::scenario
