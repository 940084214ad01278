// Each canned workload, run alone on a small machine, completes: every process it creates
// exits with status 0 and the machine powers off before run.end.

#include <catch2/catch.hpp>

#include "scenario_test_support.hpp"

namespace {

using namespace ossim;
using testing::small_scenario;
using testing::tasks_named;
using testing::tasks_with_comm;

// Runs `workloads` and checks that the machine powered off with every task exited 0.
// Returns the result for further checks.
scenario::RunResult run_to_completion(const std::string& workloads) {
  const scenario::Scenario s = small_scenario(workloads, {"outputs.trace=false"});
  scenario::RunResult result = scenario::run_scenario(s);
  CHECK(result.halted);
  CHECK(result.metrics["run"]["ended_by"] == "power_off");
  for (const auto& task : result.metrics["all_tasks"]) {
    INFO("task " << task["tid"] << " " << task["name"]);
    CHECK(task["exit"] == nlohmann::ordered_json({{"exited", 0}}));
    CHECK(task["completion_ns"].is_number());
  }
  return result;
}

}  // namespace

TEST_CASE("cpu_hog computes its cycles and exits 0", "[scenario][workloads]") {
  const auto result = run_to_completion(R"([{"name": "cpu_hog", "params": {"cycles": 3000000, "chunk_cycles": 700000}}])");
  const auto hogs = tasks_named(result.metrics, "cpu_hog");
  REQUIRE(hogs.size() == 1);
  // 3M cycles at 3 GHz, and a little for reading argv at startup.
  CHECK(hogs[0]["user_ns"].get<sim::Tick>() * sim::kNanosecond >= 1 * sim::kMillisecond);
  CHECK(hogs[0]["user_ns"].get<sim::Tick>() * sim::kNanosecond < 1 * sim::kMillisecond + 1 * sim::kMicrosecond);
}

TEST_CASE("interactive alternates bursts and sleeps and exits 0", "[scenario][workloads]") {
  const auto result =
      run_to_completion(R"([{"name": "interactive", "count": 2, "params": {"bursts": 5, "burst_us": 100, "sleep_us": 1000}}])");
  const auto tasks = tasks_named(result.metrics, "interactive");
  REQUIRE(tasks.size() == 2);
  for (const auto& task : tasks) {
    CHECK(task["voluntary_switches"] == 5);  // one per sleep
    CHECK(task["turnaround_ns"].get<sim::Tick>() * sim::kNanosecond >= 5 * (100 + 1000) * sim::kMicrosecond);
  }
}

TEST_CASE("fork_tree creates (fanout^(depth+1)-1)/(fanout-1) processes and all exit 0", "[scenario][workloads]") {
  const auto result = run_to_completion(R"([{"name": "fork_tree", "params": {"depth": 2, "fanout": 3}}])");
  CHECK(tasks_named(result.metrics, "fork_tree").size() == 13);
}

TEST_CASE("shell_pipeline runs producer | consumer and the consumer's summary reaches the console",
          "[scenario][workloads]") {
  const auto result = run_to_completion(R"([{"name": "shell_pipeline", "params": {"lines": 12}}])");
  // "line 1\n" .. "line 9\n" are 7 bytes, "line 10\n" .. "line 12\n" are 8.
  CHECK(result.console == "consumer: 12 lines, 87 bytes\n");
  // The pipeline's children belong to its workload entry.
  CHECK(tasks_named(result.metrics, "shell_pipeline").size() == 3);
  CHECK(tasks_with_comm(result.metrics, "shell_pipeline").size() == 1);
  CHECK(tasks_with_comm(result.metrics, "producer").size() == 1);
  CHECK(tasks_with_comm(result.metrics, "consumer").size() == 1);
}

TEST_CASE("shell_pipeline passes every byte through a pipe larger than its capacity", "[scenario][workloads]") {
  // 12000 lines, 120894 bytes: almost twice the 64 KiB pipe, so the producer blocks.
  const auto result =
      run_to_completion(R"([{"name": "shell_pipeline", "params": {"lines": 12000, "line_cycles": 0, "read_bytes": 4096}}])");
  CHECK(result.console == "consumer: 12000 lines, 120894 bytes\n");
}

TEST_CASE("memory_toucher touches its pages in each pattern and exits 0", "[scenario][workloads]") {
  for (const char* pattern : {"sequential", "strided", "random"}) {
    INFO(pattern);
    const auto result = run_to_completion(std::string(R"([{"name": "memory_toucher", "params": {"pages": 64, "passes": 2, "stride": 5, "pattern": ")") +
                                          pattern + R"("}}])");
    const auto tasks = tasks_named(result.metrics, "memory_toucher");
    REQUIRE(tasks.size() == 1);
    // A demand-zero fault for each page touched at least once (random may miss a few).
    CHECK(tasks[0]["minor_faults"].get<std::uint64_t>() >= (pattern == std::string("random") ? 40u : 64u));
  }
}

TEST_CASE("sleep_loop sleeps its iterations and exits 0", "[scenario][workloads]") {
  const auto result =
      run_to_completion(R"([{"name": "sleep_loop", "count": 3, "params": {"iterations": 10, "max_sleep_us": 2000}}])");
  const auto tasks = tasks_named(result.metrics, "sleep_loop");
  REQUIRE(tasks.size() == 3);
  for (const auto& task : tasks) CHECK(task["voluntary_switches"].get<std::uint64_t>() <= 10);
  // Instances draw from their own streams: their runs differ.
  CHECK(tasks[0]["completion_ns"] != tasks[1]["completion_ns"]);
  CHECK(tasks[1]["completion_ns"] != tasks[2]["completion_ns"]);
}

TEST_CASE("two entries of one workload with different params run side by side", "[scenario][workloads]") {
  const auto result = run_to_completion(
      R"([{"name": "cpu_hog", "params": {"cycles": 300000}}, {"name": "cpu_hog", "arrival_ms": 1, "params": {"cycles": 600000}}])");
  const auto first = tasks_with_comm(result.metrics, "cpu_hog");
  const auto second = tasks_with_comm(result.metrics, "cpu_hog-2");
  REQUIRE(first.size() == 1);
  REQUIRE(second.size() == 1);
  CHECK(first[0]["user_ns"].get<sim::Tick>() * sim::kNanosecond / sim::kMicrosecond == 100);
  CHECK(second[0]["user_ns"].get<sim::Tick>() * sim::kNanosecond / sim::kMicrosecond == 200);
  CHECK(second[0]["arrival_ns"].get<sim::Tick>() * sim::kNanosecond >= 1 * sim::kMillisecond);
}

TEST_CASE("the built-in default scenario powers off with every task exited 0", "[scenario][workloads]") {
  scenario::Scenario s = scenario::load_default_scenario({"outputs.trace=false"});
  const scenario::RunResult result = scenario::run_scenario(s);
  CHECK(result.halted);
  CHECK(result.end_time < 10 * sim::kSecond);
  for (const auto& task : result.metrics["all_tasks"]) {
    INFO("task " << task["tid"] << " " << task["name"]);
    CHECK(task["exit"] == nlohmann::ordered_json({{"exited", 0}}));
  }
}
