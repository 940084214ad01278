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
#include "scenario/metrics.hpp"

namespace ossim::scenario {

namespace {

/// One workload entry as init starts it: at `arrival`, one fork per argv, each exec'ing
/// `path`.
struct Launch {
  sim::Tick arrival = 0;
  std::string path;
  std::vector<std::vector<std::string>> instances;
};

/// Builds every entry's workload image, registers its programs in `kernel`, and returns
/// the launches in arrival order (entries with equal arrivals in file order). An entry
/// whose workload an earlier entry already uses gets its programs suffixed "-2", "-3"...
/// Instance i of entry e gets the seed of stream "workloads", child "e/i".
std::vector<Launch> prepare_launches(const Scenario& scenario, kernel::Kernel& kernel, const sim::Engine& engine) {
  const sim::RandomStream seeds = engine.random_stream("workloads");
  std::map<std::string, unsigned> uses;
  std::vector<Launch> launches;
  for (std::size_t e = 0; e < scenario.workloads.size(); ++e) {
    const WorkloadEntry& entry = scenario.workloads[e];
    const unsigned use = ++uses[entry.name];
    const workloads::WorkloadOptions options{.program_suffix = use == 1 ? "" : fmt::format("-{}", use),
                                             .cpu_frequency_hz = scenario.machine.cpu.frequency_hz,
                                             .memory_bytes = scenario.machine.memory_bytes,
                                             .where = fmt::format("workloads[{}].params", e)};
    workloads::WorkloadImage image = workloads::make_canned_workload(entry.name, entry.params, options);
    for (kernel::Program& program : image.programs) kernel.register_program(std::move(program));
    Launch launch{entry.arrival, image.path, {}};
    for (unsigned i = 0; i < entry.count; ++i) {
      launch.instances.push_back(image.instance_argv(seeds.derive(fmt::format("{}/{}", e, i)).next_u64()));
    }
    launches.push_back(std::move(launch));
  }
  std::stable_sort(launches.begin(), launches.end(),
                   [](const Launch& a, const Launch& b) { return a.arrival < b.arrival; });
  return launches;
}

/// Init's entry: starts each launch at its arrival time, then returns (the kernel's init
/// then reaps every child and powers the machine off).
int start_workloads(user::Process& init, const std::vector<Launch>& launches) {
  for (const Launch& launch : launches) {
    for (sim::Tick now = init.now(); now < launch.arrival; now = init.now()) {
      if (init.nanosleep(launch.arrival - now) != 0) break;
    }
    for (const std::vector<std::string>& argv : launch.instances) {
      const std::string& path = launch.path;
      if (init.fork([&path, &argv](user::Process& child) { return child.execve(path, argv); }) < 0) {
        init.write(2, fmt::format("init: cannot fork {}\n", path));
      }
    }
  }
  return 0;
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
  kernel::Kernel kernel(machine, scenario.kernel, result.trace.get());
  const std::vector<Launch> launches = prepare_launches(scenario, kernel, engine);
  kernel.boot([&launches](user::Process& init) { return start_workloads(init, launches); });

  const sim::Tick end = scenario.run.end;
  while (engine.next_event_time() <= end && !kernel.halted()) engine.step();
  result.halted = kernel.halted();
  if (result.halted) {
    // The power-off: init's exit. Whatever events remain (none, normally) are not run.
    result.end_time = kernel.power_off_time();
    result.init_status = kernel.init_status();
  } else {
    engine.run_until(end);
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
