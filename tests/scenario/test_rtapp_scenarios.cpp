// The rt-app-style phase workload: phases in order, loops, periodic timers that report
// jobs, named mutexes shared across processes, and strict checking of the description.

#include <catch2/catch.hpp>

#include "scenario_test_support.hpp"

namespace {

using namespace ossim;
using Json = nlohmann::ordered_json;
using testing::error_of;
using testing::run_text;

constexpr std::uint64_t kMs = 1'000'000;  // nanoseconds

std::string scenario_with(unsigned cpus, const std::string& workloads, const std::string& run = "{}") {
  return R"({"schema_version": 1, "machine": {"cpus": )" + std::to_string(cpus) +
         R"(}, "kernel": {"scheduler": "cfs", "costs": "ideal"}, "workloads": )" + workloads + R"(, "run": )" + run +
         "}";
}

/// The metrics entry of the one task of entry `name`.
Json only_task(const Json& metrics, const std::string& name) {
  const auto found = testing::tasks_named(metrics, name);
  REQUIRE(found.size() == 1);
  return found.front();
}

}  // namespace

TEST_CASE("rtapp: phases run in order, loop times, run_ms is CPU time, sleep and io block",
          "[scenario][rtapp]") {
  const scenario::RunResult result = run_text(scenario_with(
      1, R"([{"kind": "rtapp", "name": "t", "loop": 2,
              "phases": [{"run_ms": 2}, {"sleep_ms": 3}, {"run_cycles": 3000000}, {"io_ms": 1}, {"yield": true}]}])"));
  REQUIRE(result.halted);
  const Json task = only_task(result.metrics, "t");
  // Per loop: 2 ms CPU, 3 ms asleep, 1 ms of cycles at 3 GHz, 1 ms of I/O.
  CHECK(task["cpu_ns"] == 6 * kMs);
  CHECK(task["completion_ns"] == 14 * kMs);
  CHECK(task["jobs"] == 0);
}

TEST_CASE("rtapp: nested loops multiply", "[scenario][rtapp]") {
  const scenario::RunResult result = run_text(scenario_with(
      1, R"([{"kind": "rtapp", "name": "t", "loop": 3,
              "phases": [{"loop": 4, "phases": [{"run_ms": 0.5}]}, {"sleep_ms": 1}]}])"));
  const Json task = only_task(result.metrics, "t");
  CHECK(task["cpu_ns"] == 6 * kMs);
  CHECK(task["completion_ns"] == 9 * kMs);
}

TEST_CASE("rtapp: a timer phase keeps a cadence from the task's start and reports each period as a job",
          "[scenario][rtapp]") {
  SECTION("on time: sleeps to each firing, no misses") {
    const scenario::RunResult result = run_text(scenario_with(
        1, R"([{"kind": "rtapp", "name": "p", "arrival_ms": 5, "loop": 3,
                "phases": [{"run_ms": 2}, {"timer_ms": 10}]}])"));
    const Json task = only_task(result.metrics, "p");
    CHECK(task["jobs"] == 3);
    CHECK(task["deadline_misses"] == 0);
    CHECK(task["completion_ns"] == 35 * kMs);  // firings at 15, 25, 35
    CHECK(task["max_lateness_ns"] == -8 * kMs);
  }
  SECTION("overrunning: every job is late, the task goes on at once and keeps the cadence") {
    const scenario::RunResult result = run_text(scenario_with(
        1, R"([{"kind": "rtapp", "name": "p", "loop": 3, "phases": [{"run_ms": 12}, {"timer_ms": 10}]}])"));
    const Json task = only_task(result.metrics, "p");
    CHECK(task["jobs"] == 3);
    CHECK(task["deadline_misses"] == 3);
    // Jobs due at 10, 20, 30 complete at 12, 24, 36.
    CHECK(task["max_lateness_ns"] == 6 * kMs);
    CHECK(task["completion_ns"] == 36 * kMs);
  }
}

TEST_CASE("rtapp: a named mutex is shared by the tasks of every entry, across processes", "[scenario][rtapp]") {
  const std::string holder = R"({"kind": "rtapp", "name": "holder", "phases": [{"lock": "m"}, {"run_ms": 5}, {"unlock": "m"}]})";
  SECTION("the second locker waits for the unlock") {
    const scenario::RunResult result = run_text(scenario_with(
        2, "[" + holder + R"(, {"kind": "rtapp", "name": "waiter", "arrival_ms": 1,
                               "phases": [{"lock": "m"}, {"run_ms": 1}, {"unlock": "m"}]}])"));
    REQUIRE(result.halted);
    CHECK(only_task(result.metrics, "holder")["completion_ns"] == 5 * kMs);
    CHECK(only_task(result.metrics, "waiter")["completion_ns"] == 6 * kMs);
  }
  SECTION("another mutex does not block") {
    const scenario::RunResult result = run_text(scenario_with(
        2, "[" + holder + R"(, {"kind": "rtapp", "name": "waiter", "arrival_ms": 1,
                               "phases": [{"lock": "n"}, {"run_ms": 1}, {"unlock": "n"}]}])"));
    CHECK(only_task(result.metrics, "waiter")["completion_ns"] == 2 * kMs);
  }
  SECTION("four instances of one entry serialise their critical sections") {
    const scenario::RunResult result = run_text(scenario_with(
        4, R"([{"kind": "rtapp", "name": "w", "count": 4,
                "phases": [{"lock": "m"}, {"run_ms": 2}, {"unlock": "m"}]}])"));
    REQUIRE(result.halted);
    std::vector<std::uint64_t> completions;
    for (const Json& task : testing::tasks_named(result.metrics, "w")) {
      completions.push_back(task["completion_ns"].get<std::uint64_t>());
    }
    std::sort(completions.begin(), completions.end());
    CHECK(completions == std::vector<std::uint64_t>{2 * kMs, 4 * kMs, 6 * kMs, 8 * kMs});
  }
}

TEST_CASE("rtapp descriptions are checked: messages name the phase and key", "[scenario][rtapp]") {
  const auto error_for = [](const std::string& phases, const std::string& extra = "") {
    return error_of(scenario_with(1, R"([{"kind": "rtapp", "phases": )" + phases + extra + "}]"));
  };
  CHECK_THAT(error_for(R"([{"run_ms": 1, "sleep_ms": 1}])"), Catch::Contains("workloads[0].phases[0]"));
  CHECK_THAT(error_for(R"([{"run_ms": 0}])"), Catch::Contains("workloads[0].phases[0].run_ms"));
  CHECK_THAT(error_for(R"([{"walk_ms": 1}])"), Catch::Contains("workloads[0].phases[0]"));
  CHECK_THAT(error_for(R"([])"), Catch::Contains("workloads[0].phases"));
  CHECK_THAT(error_for(R"([{"unlock": "m"}])"), Catch::Contains("workloads[0].phases[0].unlock"));
  CHECK_THAT(error_for(R"([{"lock": "m"}, {"run_ms": 1}])"), Catch::Contains("never unlocked"));
  CHECK_THAT(error_for(R"([{"lock": "m"}, {"lock": "m"}, {"unlock": "m"}, {"unlock": "m"}])"),
             Catch::Contains("workloads[0].phases[1].lock"));
  CHECK_THAT(error_for(R"([{"lock": "../etc/passwd"}, {"unlock": "../etc/passwd"}])"),
             Catch::Contains("workloads[0].phases[0].lock"));
  CHECK_THAT(error_for(R"([{"loop": 2, "phases": [{"lock": "m"}]}, {"unlock": "m"}])"),
             Catch::Contains("workloads[0].phases[0].phases"));
  CHECK_THAT(error_for(R"([{"run_ms": 1}])", R"(, "loop": 0)"), Catch::Contains("workloads[0].loop"));
  CHECK(error_of(scenario_with(1, R"([{"kind": "rtapp", "loop": 0, "phases": [{"run_ms": 1}]}])",
                               R"({"end_ms": 10})")) == "");
}
