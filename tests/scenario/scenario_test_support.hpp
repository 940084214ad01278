#pragma once

// Helpers for whole-run tests: small scenarios built from a workload list, a scratch
// output directory removed at the end of the test, and reading files back.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ossim/scenario/runner.hpp"
#include "ossim/scenario/scenario.hpp"

namespace ossim::testing {

/// A scenario document with `workloads` (a JSON array text) and the overrides applied.
inline scenario::Scenario small_scenario(const std::string& workloads, const std::vector<std::string>& overrides = {}) {
  const std::string text = R"({"schema_version": 1, "run": {"end": "10s"}, "workloads": )" + workloads + "}";
  return scenario::load_scenario_text(text, "test", overrides);
}

/// Loads and runs a scenario given as JSON text.
inline scenario::RunResult run_text(const std::string& text) {
  return scenario::run_scenario(scenario::load_scenario_text(text, "test"));
}

/// The message a scenario given as JSON text is rejected with; empty if it loads.
inline std::string error_of(const std::string& text) {
  try {
    (void)scenario::load_scenario_text(text, "test");
  } catch (const scenario::ScenarioError& error) {
    return error.what();
  }
  return "";
}

/// A directory under the system's temporary directory, empty at the start and removed
/// when the object goes.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / ("ossim-test-" + std::to_string(::getpid()) + "-" + name)) {
    std::filesystem::remove_all(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The metrics entries of the workload tasks whose process name (comm) is `comm`.
inline std::vector<nlohmann::ordered_json> tasks_with_comm(const nlohmann::ordered_json& metrics, const std::string& comm) {
  std::vector<nlohmann::ordered_json> found;
  for (const auto& task : metrics["tasks"]) {
    if (task["comm"] == comm) found.push_back(task);
  }
  return found;
}

/// The metrics entries of the workload tasks of the entry called `name`.
inline std::vector<nlohmann::ordered_json> tasks_named(const nlohmann::ordered_json& metrics, const std::string& name) {
  std::vector<nlohmann::ordered_json> found;
  for (const auto& task : metrics["tasks"]) {
    if (task["name"] == name) found.push_back(task);
  }
  return found;
}

}  // namespace ossim::testing
