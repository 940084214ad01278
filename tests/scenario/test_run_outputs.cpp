// A run's output files: determinism (same scenario and seed, same bytes), the seed's
// effect, outputs.trace, the trace's shape, the effective configuration, the manifest,
// and a run cut short by run.end.

#include <catch2/catch.hpp>

#include <sstream>

#include "ossim/sim/chrome_trace_writer.hpp"
#include "ossim/version.hpp"
#include "scenario_test_support.hpp"

namespace {

using namespace ossim;
using testing::read_file;
using testing::ScratchDir;
using testing::small_scenario;
using testing::tasks_named;

// A bit of everything, small enough for a fast test.
constexpr const char* kMix = R"([
  {"name": "cpu_hog", "params": {"duration": "3ms"}},
  {"name": "interactive", "params": {"bursts": 3, "burst_us": 200, "sleep_us": 1000}},
  {"name": "sleep_loop", "count": 2, "arrival_ms": 1, "params": {"iterations": 5, "max_sleep_us": 1000}},
  {"name": "fork_tree", "arrival_ms": 2, "params": {"depth": 2, "fanout": 2}},
  {"name": "shell_pipeline", "arrival_ms": 2, "params": {"lines": 20}},
  {"name": "memory_toucher", "arrival_ms": 3, "params": {"pages": 32, "pattern": "random"}}
])";

std::vector<std::string> run_into(const scenario::Scenario& s, const std::filesystem::path& dir) {
  return scenario::write_run_outputs(s, scenario::run_scenario(s), dir);
}

}  // namespace

TEST_CASE("the same scenario and seed give byte-identical files, twice in one process", "[scenario][outputs]") {
  ScratchDir first("same-seed-1"), second("same-seed-2");
  const scenario::Scenario s = small_scenario(kMix);
  run_into(s, first.path());
  run_into(s, second.path());
  for (const char* name : {"trace.json", "events.jsonl", "metrics.json", "console.txt", "effective_config.json",
                           "manifest.json"}) {
    INFO(name);
    const std::string a = read_file(first.path() / name);
    CHECK_FALSE(a.empty());
    CHECK(a == read_file(second.path() / name));
  }
}

TEST_CASE("a different seed changes sleep_loop's timings, the same seed repeats them", "[scenario][outputs]") {
  const auto completions = [](std::uint64_t seed) {
    const scenario::Scenario s = small_scenario(
        R"([{"name": "sleep_loop", "params": {"iterations": 8, "max_sleep_us": 5000}}])",
        {"outputs.trace=false", "run.seed=" + std::to_string(seed)});
    return tasks_named(scenario::run_scenario(s).metrics, "sleep_loop").at(0)["completion_ns"];
  };
  CHECK(completions(1) == completions(1));
  CHECK(completions(1) != completions(2));
}

TEST_CASE("outputs.trace=false writes metrics.json but no trace.json or events.jsonl", "[scenario][outputs]") {
  ScratchDir dir("no-trace");
  const scenario::Scenario s = small_scenario(R"([{"name": "cpu_hog", "params": {"duration": "1ms"}}])",
                                              {"outputs.trace=false"});
  const scenario::RunResult result = scenario::run_scenario(s);
  CHECK(result.trace == nullptr);
  const std::vector<std::string> files = scenario::write_run_outputs(s, result, dir.path());
  CHECK(files == std::vector<std::string>{"metrics.json", "console.txt", "effective_config.json", "manifest.json"});
  CHECK_FALSE(std::filesystem::exists(dir.path() / "trace.json"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "events.jsonl"));
  CHECK(std::filesystem::exists(dir.path() / "metrics.json"));
}

TEST_CASE("trace.json is JSON with a traceEvents array holding run slices of the tasks", "[scenario][outputs]") {
  ScratchDir dir("trace-shape");
  run_into(small_scenario(kMix), dir.path());
  const nlohmann::json trace = nlohmann::json::parse(read_file(dir.path() / "trace.json"));
  REQUIRE(trace.contains("traceEvents"));
  REQUIRE(trace["traceEvents"].is_array());
  CHECK(trace["traceEvents"].size() > 10);
  bool cpu_slice = false;
  for (const auto& event : trace["traceEvents"]) {
    if (event["ph"] == "X" && event["pid"] == sim::kChromeCpuProcessId) cpu_slice = true;
  }
  CHECK(cpu_slice);
  // events.jsonl: one JSON object per line.
  std::istringstream lines(read_file(dir.path() / "events.jsonl"));
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line); ++count) CHECK(nlohmann::json::parse(line).is_object());
  CHECK(count > 10);
}

TEST_CASE("metrics.json states its time unit and accounts for every task and CPU", "[scenario][outputs]") {
  const scenario::Scenario s = small_scenario(kMix, {"outputs.trace=false"});
  const scenario::RunResult result = scenario::run_scenario(s);
  const auto& m = result.metrics;
  CHECK(m["time_unit"] == "ns");
  CHECK(m["run"]["end_ns"] == result.end_time / sim::kNanosecond);
  CHECK(m["cpus"].size() == 2);
  CHECK(m["totals"]["tasks"] == m["all_tasks"].size());
  CHECK(m["totals"]["workload_tasks"] == m["tasks"].size());
  CHECK(m["totals"]["completed_tasks"] == m["tasks"].size());
  // Each value is rounded down to whole nanoseconds on its own: sums may differ by one.
  const auto near = [](std::uint64_t a, std::uint64_t b) { return (a > b ? a - b : b - a) <= 1; };
  for (const auto& cpu : m["cpus"]) {
    CHECK(cpu["utilisation"].get<double>() >= 0.0);
    CHECK(cpu["utilisation"].get<double>() <= 1.0);
    CHECK(near(cpu["busy_ns"].get<std::uint64_t>() + cpu["idle_ns"].get<std::uint64_t>(), m["run"]["end_ns"]));
  }
  for (const auto& task : m["tasks"]) {
    CHECK(near(task["turnaround_ns"], task["completion_ns"].get<std::uint64_t>() - task["arrival_ns"].get<std::uint64_t>()));
    CHECK(near(task["response_ns"], task["first_run_ns"].get<std::uint64_t>() - task["arrival_ns"].get<std::uint64_t>()));
    CHECK(near(task["cpu_ns"], task["user_ns"].get<std::uint64_t>() + task["system_ns"].get<std::uint64_t>()));
  }
}

TEST_CASE("metrics.json's TLB totals add up the CPUs' counters, and tasks' shares fit in them", "[scenario][outputs]") {
  const scenario::Scenario s = small_scenario(kMix, {"outputs.trace=false"});
  const auto m = scenario::run_scenario(s).metrics;
  const auto& total = m["totals"]["tlb"];
  std::uint64_t dtlb_hits = 0, dtlb_misses = 0, walks = 0, received = 0;
  for (const auto& cpu : m["cpus"]) {
    dtlb_hits += cpu["tlb"]["dtlb"]["hits"].get<std::uint64_t>();
    dtlb_misses += cpu["tlb"]["dtlb"]["misses"].get<std::uint64_t>();
    walks += cpu["tlb"]["walks"].get<std::uint64_t>();
    received += cpu["tlb"]["shootdowns_received"].get<std::uint64_t>();
    CHECK(cpu["tlb"]["dtlb"].contains("evictions"));
    CHECK(cpu["tlb"]["dtlb"].contains("flushes"));
  }
  CHECK(total["dtlb"]["hits"] == dtlb_hits);
  CHECK(total["dtlb"]["misses"] == dtlb_misses);
  CHECK(total["walks"] == walks);
  CHECK(total["shootdowns_received"] == received);
  CHECK(total.contains("shootdowns"));
  CHECK(total.contains("shootdown_ipis"));
  CHECK(total.contains("lazy_invalidations"));
  // Tasks are charged their CPUs' counters while on them; idle tasks take the rest.
  std::uint64_t task_misses = 0, task_walks = 0;
  for (const auto& task : m["all_tasks"]) {
    task_misses += task["tlb_misses"].get<std::uint64_t>();
    task_walks += task["page_walks"].get<std::uint64_t>();
  }
  CHECK(task_misses > 0);
  CHECK(task_misses <= total["dtlb"]["misses"].get<std::uint64_t>() + total["itlb"]["misses"].get<std::uint64_t>());
  CHECK(task_walks <= walks);
  for (const auto& task : m["tasks"]) CHECK(task.contains("tlb_hits"));
}

TEST_CASE("effective_config.json reloads to a run with identical metrics", "[scenario][outputs]") {
  ScratchDir dir("effective");
  const scenario::Scenario s = small_scenario(kMix, {"outputs.trace=false", "run.seed=5"});
  run_into(s, dir.path());
  const scenario::Scenario again = scenario::load_scenario_file(dir.path() / "effective_config.json");
  CHECK(scenario::to_json(again) == scenario::to_json(s));
  CHECK(scenario::run_scenario(again).metrics.dump(2) + "\n" == read_file(dir.path() / "metrics.json"));
}

TEST_CASE("manifest.json names the version, seed, source, overrides and files", "[scenario][outputs]") {
  ScratchDir dir("manifest");
  const scenario::Scenario s = small_scenario(R"([{"name": "cpu_hog", "params": {"duration": "1ms"}}])",
                                              {"run.seed=42"});
  const std::vector<std::string> files = run_into(s, dir.path());
  const nlohmann::json manifest = nlohmann::json::parse(read_file(dir.path() / "manifest.json"));
  CHECK(manifest["ossim_version"] == OSSIM_VERSION_STRING);
  CHECK(manifest["seed"] == 42);
  CHECK(manifest["scenario"] == "test");
  CHECK(manifest["overrides"] == nlohmann::json::array({"run.seed=42"}));
  CHECK(manifest["outputs"] == nlohmann::json(files));
  for (const std::string& file : files) CHECK(std::filesystem::exists(dir.path() / file));
}

TEST_CASE("a run cut short by run.end reports the time limit and unfinished tasks", "[scenario][outputs]") {
  const scenario::Scenario s = small_scenario(R"([{"name": "cpu_hog", "params": {"duration": "50ms"}}])",
                                              {"outputs.trace=true", "run.end=20ms"});
  const scenario::RunResult result = scenario::run_scenario(s);
  CHECK_FALSE(result.halted);
  CHECK(result.end_time == 20 * sim::kMillisecond);
  CHECK(result.metrics["run"]["ended_by"] == "time_limit");
  CHECK(result.metrics["run"]["init_exit"].is_null());
  const auto hog = tasks_named(result.metrics, "cpu_hog").at(0);
  CHECK(hog["exit"].is_null());
  CHECK(hog["completion_ns"].is_null());
  CHECK(hog["turnaround_ns"].is_null());
}
