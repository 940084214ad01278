// The ossim command-line program.
//
//   ossim run [--out DIR] [--seed N]   run the built-in default scenario
//   ossim version                      print the version
//
// A run writes metrics.json, effective_config.json and manifest.json into DIR (default
// out/). The same seed gives byte-identical files.

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hardware_demo.hpp"
#include "ossim/version.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: ossim run [--out DIR] [--seed N]\n"
    "       ossim version\n";

int fail(const std::string& message) {
  std::fprintf(stderr, "ossim: %s\n%.*s", message.c_str(), static_cast<int>(kUsage.size()), kUsage.data());
  return 2;
}

bool write_json(const std::filesystem::path& path, const nlohmann::json& document) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << document.dump(2) << '\n';
  return static_cast<bool>(out);
}

int run(const std::vector<std::string_view>& args) {
  std::filesystem::path out_dir = "out";
  ossim::apps::DemoConfig config;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if ((arg == "--out" || arg == "--seed") && i + 1 >= args.size()) {
      return fail(fmt::format("{} needs a value", arg));
    }
    if (arg == "--out") {
      out_dir = std::string(args[++i]);
    } else if (arg == "--seed") {
      const std::string_view value = args[++i];
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), config.seed);
      if (error != std::errc() || end != value.data() + value.size()) {
        return fail(fmt::format("--seed: '{}' is not a non-negative integer", value));
      }
    } else {
      return fail(fmt::format("unknown argument '{}'", arg));
    }
  }

  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) return fail(fmt::format("cannot create '{}': {}", out_dir.string(), error.message()));

  const nlohmann::json metrics = ossim::apps::run_hardware_demo(config);
  const nlohmann::json effective = {{"scenario", "builtin:hardware-demo"}, {"config", ossim::apps::config_to_json(config)}};
  const nlohmann::json manifest = {{"ossim_version", OSSIM_VERSION_STRING},
                                   {"seed", config.seed},
                                   {"scenario", "builtin:hardware-demo"},
                                   {"outputs", {"metrics.json", "effective_config.json", "manifest.json"}}};
  if (!write_json(out_dir / "metrics.json", metrics) || !write_json(out_dir / "effective_config.json", effective) ||
      !write_json(out_dir / "manifest.json", manifest)) {
    return fail(fmt::format("cannot write results into '{}'", out_dir.string()));
  }

  fmt::print("ossim {}: built-in hardware demo, seed {}, {} CPUs, simulated {:.3f} ms\n", OSSIM_VERSION_STRING,
             config.seed, config.cpus, metrics["simulated_time_ns"].get<double>() / 1e6);
  for (const auto& cpu : metrics["cpus"]) {
    fmt::print("cpu{}: {} timer interrupts, {} page faults, dTLB hit rate {:.4f}\n", cpu["cpu"].get<unsigned>(),
               cpu["timer_interrupts"].get<std::uint64_t>(), cpu["page_faults"].get<std::uint64_t>(),
               cpu["tlbs"]["dtlb"]["hit_rate"].get<double>());
    for (const auto& [name, p] : cpu["patterns"].items()) {
      fmt::print("  {:<10} {:>8} accesses  {:>8.2f} ns/access  {:>7} dTLB misses  {:>7} walks\n", name,
                 p["accesses"].get<std::uint64_t>(), p["ns_per_access"].get<double>(),
                 p["dtlb_misses"].get<std::uint64_t>(), p["page_walks"].get<std::uint64_t>());
    }
  }
  fmt::print("results in {}\n", out_dir.string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help") {
    std::fputs(kUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::puts(OSSIM_VERSION_STRING);
    return 0;
  }
  if (args[0] == "run") return run({args.begin() + 1, args.end()});
  return fail(fmt::format("unknown command '{}'", args[0]));
}
