// The ossim command-line program.
//
//   ossim run [SCENARIO.json] [--seed N] [--out DIR] [--set key.path=value]...
//   ossim validate SCENARIO.json [--set key.path=value]...
//   ossim list
//   ossim version
//
// `run` runs the scenario file, or the built-in default scenario without one, and writes
// its results into DIR (default out/): trace.json, events.jsonl, metrics.json,
// console.txt, effective_config.json, manifest.json. The same scenario and seed give
// byte-identical files. --seed N is `--set run.seed=N`, applied after the other --set
// options.
//
// Exit status: 0 on success, 1 for a scenario that does not load or a run that fails, 2
// for a command line that cannot be understood.

#include <charconv>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ossim/scenario/runner.hpp"
#include "ossim/scenario/scenario.hpp"
#include "ossim/version.hpp"
#include "ossim/workloads/canned_workload.hpp"

namespace {

using namespace ossim;

constexpr std::string_view kUsage =
    "usage: ossim run [SCENARIO.json] [--seed N] [--out DIR] [--set key.path=value]...\n"
    "       ossim validate SCENARIO.json [--set key.path=value]...\n"
    "       ossim list\n"
    "       ossim version\n";

/// A command line that cannot be understood: exit status 2.
struct UsageError {
  std::string message;
};

struct Options {
  std::optional<std::string> scenario_file;
  std::string out_dir = "out";
  std::vector<std::string> overrides;
};

/// Parses the arguments after the command. `--opt value` and `--opt=value` both work.
Options parse_options(const std::vector<std::string_view>& args, bool allow_run_options) {
  Options options;
  std::optional<std::string> seed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      if (const std::size_t equals = arg.find('='); equals != std::string_view::npos) {
        inline_value = arg.substr(equals + 1);
        arg = arg.substr(0, equals);
      }
    }
    const auto value = [&]() -> std::string {
      if (inline_value) return std::string(*inline_value);
      if (i + 1 >= args.size()) throw UsageError{fmt::format("{} needs a value", arg)};
      return std::string(args[++i]);
    };
    if (arg == "--set") {
      options.overrides.push_back(value());
    } else if (allow_run_options && arg == "--out") {
      options.out_dir = value();
    } else if (allow_run_options && arg == "--seed") {
      const std::string text = value();
      std::uint64_t parsed = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
      if (error != std::errc() || end != text.data() + text.size()) {
        throw UsageError{fmt::format("--seed: '{}' is not an integer from 0 to 2^64-1", text)};
      }
      seed = text;
    } else if (arg.starts_with("-") && arg != "-") {
      throw UsageError{fmt::format("unknown option '{}'", arg)};
    } else if (!options.scenario_file) {
      options.scenario_file = std::string(arg);
    } else {
      throw UsageError{fmt::format("unexpected argument '{}' (one scenario file at most)", arg)};
    }
  }
  if (seed) options.overrides.push_back("run.seed=" + *seed);
  return options;
}

scenario::Scenario load(const Options& options) {
  if (options.scenario_file) return scenario::load_scenario_file(*options.scenario_file, options.overrides);
  return scenario::load_default_scenario(options.overrides);
}

double seconds(const nlohmann::ordered_json& ns) { return ns.get<double>() / 1e9; }

void print_summary(const scenario::Scenario& s, const scenario::RunResult& result, const std::string& out_dir,
                   const std::vector<std::string>& files) {
  const auto& m = result.metrics;
  fmt::print("ossim {}: scenario {}, seed {}\n", OSSIM_VERSION_STRING, s.source, s.run.seed);
  fmt::print("{} at {:.6f} s simulated, {} events\n", result.halted ? "powered off" : "stopped at run.end",
             seconds(m["run"]["end_ns"]), m["run"]["events_fired"].get<std::uint64_t>());
  const auto& totals = m["totals"];
  fmt::print("tasks: {} created, {} workload tasks, {} completed ({:.2f}/s)", totals["tasks"].get<std::uint64_t>(),
             totals["workload_tasks"].get<std::uint64_t>(), totals["completed_tasks"].get<std::uint64_t>(),
             totals["throughput_per_second"].get<double>());
  if (!totals["mean_turnaround_ns"].is_null()) {
    fmt::print("; mean turnaround {:.3f} ms, response {:.3f} ms, waiting {:.3f} ms",
               seconds(totals["mean_turnaround_ns"]) * 1e3, seconds(totals["mean_response_ns"]) * 1e3,
               seconds(totals["mean_waiting_ns"]) * 1e3);
  }
  if (totals["jobs"].get<std::uint64_t>() > 0) {
    fmt::print("; {} jobs, {} deadline misses", totals["jobs"].get<std::uint64_t>(),
               totals["deadline_misses"].get<std::uint64_t>());
  }
  fmt::print("\n");
  for (const auto& cpu : m["cpus"]) {
    const auto& dtlb = cpu["tlb"]["dtlb"];
    fmt::print("cpu{}: utilisation {:.3f}, {} context switches, dTLB hit rate {}\n", cpu["cpu"].get<unsigned>(),
               cpu["utilisation"].get<double>(), cpu["context_switches"].get<std::uint64_t>(),
               dtlb["hit_rate"].is_null() ? std::string("-") : fmt::format("{:.4f}", dtlb["hit_rate"].get<double>()));
  }
  if (!result.console.empty()) {
    fmt::print("console:\n");
    std::string_view text = result.console;
    while (!text.empty()) {
      const std::size_t newline = text.find('\n');
      fmt::print("  {}\n", text.substr(0, newline));
      text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    }
  }
  fmt::print("results in {}: {}\n", out_dir, fmt::join(files, " "));
}

int run(const std::vector<std::string_view>& args) {
  const Options options = parse_options(args, true);
  const scenario::Scenario s = load(options);
  const scenario::RunResult result = scenario::run_scenario(s);
  const std::vector<std::string> files = scenario::write_run_outputs(s, result, options.out_dir);
  print_summary(s, result, options.out_dir, files);
  return 0;
}

int validate(const std::vector<std::string_view>& args) {
  const Options options = parse_options(args, false);
  if (!options.scenario_file) throw UsageError{"validate needs a scenario file"};
  load(options);
  fmt::print("{}: OK\n", *options.scenario_file);
  return 0;
}

int list() {
  fmt::print("canned workloads (a scenario's \"workloads\" entries: {{\"name\", \"count\", \"arrival_ms\", "
             "\"params\"}}):\n");
  for (const workloads::WorkloadInfo& workload : workloads::canned_workloads()) {
    fmt::print("\n{}: {}\n", workload.name, workload.summary);
    for (const workloads::WorkloadParam& param : workload.params) {
      const std::string shown = param.default_value.is_null() ? "-" : param.default_value.dump();
      fmt::print("  {:<14} {:<12} {}\n", param.name, shown, param.description);
    }
  }
  fmt::print("\nschedulers: rr, cfs\n");
  return 0;
}

int dispatch(const std::vector<std::string_view>& args) {
  const std::string_view command = args[0];
  const std::vector<std::string_view> rest(args.begin() + 1, args.end());
  if (command == "run") return run(rest);
  if (command == "validate") return validate(rest);
  if (command == "list") return list();
  if (command == "version" || command == "--version") {
    std::puts(OSSIM_VERSION_STRING);
    return 0;
  }
  throw UsageError{fmt::format("unknown command '{}'", command)};
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  try {
    return dispatch(args);
  } catch (const UsageError& error) {
    std::fprintf(stderr, "ossim: %s\n%.*s", error.message.c_str(), static_cast<int>(kUsage.size()), kUsage.data());
    return 2;
  } catch (const scenario::ScenarioError& error) {
    std::fprintf(stderr, "ossim: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ossim: error: %s\n", error.what());
    return 1;
  }
}
