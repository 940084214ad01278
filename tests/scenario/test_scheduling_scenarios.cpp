// The scheduling issue's scenario contract: kernel.scheduler.policy, job and periodic
// workloads, run.end_ms, and the per-task metrics in nanoseconds.

#include <catch2/catch.hpp>

#include "scenario/json_reader.hpp"
#include "scenario_test_support.hpp"

namespace {

using namespace ossim;
using Json = nlohmann::ordered_json;
using testing::error_of;
using testing::run_text;

const Json& task_named(const Json& metrics, const std::string& name) {
  for (const Json& task : metrics["tasks"]) {
    if (task["name"] == name) return task;
  }
  FAIL("no task named " << name);
  return metrics;
}

constexpr std::uint64_t kMs = 1'000'000;  // nanoseconds

std::string scenario_with(const std::string& scheduler, const std::string& workloads, const std::string& run = "{}") {
  return R"({"schema_version": 1, "machine": {"cpus": 1}, "kernel": {"scheduler": )" + scheduler +
         R"(, "costs": "ideal"}, "workloads": )" + workloads + R"(, "run": )" + run + "}";
}

}  // namespace

TEST_CASE("the issue's example: RR with a 1 ms quantum, a CPU job and a job with I/O", "[scenario][sched]") {
  const scenario::RunResult result = run_text(
      R"({"schema_version": 1, "machine": {"cpus": 1}, "kernel": {"scheduler": {"policy": "rr", "quantum_ms": 1}, "costs": "ideal"}, "workloads": [{"kind": "job", "name": "A", "arrival_ms": 0, "cpu_ms": 5}, {"kind": "job", "name": "B", "arrival_ms": 0, "cpu_ms": 10, "io_every_ms": 3, "io_ms": 2}], "run": {"seed": 1}})");
  REQUIRE(result.halted);
  const Json& m = result.metrics;
  CHECK(m["time_unit"] == "ns");
  // A B A B A B | A A (B's I/O 6-8) | B B B (I/O 11-13) B B B (I/O 16-18) B.
  const Json& a = task_named(m, "A");
  CHECK(a["arrival_ns"] == 0);
  CHECK(a["first_run_ns"] == 0);
  CHECK(a["completion_ns"] == 8 * kMs);
  CHECK(a["turnaround_ns"] == 8 * kMs);
  CHECK(a["response_ns"] == 0);
  CHECK(a["waiting_ns"] == 3 * kMs);
  CHECK(a["cpu_ns"] == 5 * kMs);
  const Json& b = task_named(m, "B");
  CHECK(b["first_run_ns"] == 1 * kMs);
  CHECK(b["response_ns"] == 1 * kMs);
  CHECK(b["completion_ns"] == 19 * kMs);
  CHECK(b["turnaround_ns"] == 19 * kMs);
  CHECK(b["waiting_ns"] == 3 * kMs);
  CHECK(b["cpu_ns"] == 10 * kMs);
  CHECK(b["voluntary_switches"] == 3);  // its three I/Os
  CHECK(b["pid"].is_number());
  CHECK(b["comm"] == "B");  // the job names itself after its entry (prctl)
  CHECK(m["totals"]["completed_tasks"] == 2);
  CHECK(m["totals"]["mean_turnaround_ns"] == (8 + 19) * kMs / 2);
}

TEST_CASE("every policy name runs the same jobs to completion from a scenario", "[scenario][sched]") {
  for (const char* policy : {"fifo", "sjf", "stcf", "rr", "mlfq", "lottery", "stride", "cfs", "rt_fifo", "rt_rr",
                             "edf", "rm"}) {
    INFO(policy);
    const scenario::RunResult result =
        run_text(scenario_with(std::string(R"({"policy": ")") + policy + R"("})",
                               R"([{"kind": "job", "name": "A", "cpu_ms": 3}, {"kind": "job", "name": "B", "arrival_ms": 1, "cpu_ms": 2, "io_every_ms": 1, "io_ms": 1}])"));
    CHECK(result.halted);
    CHECK(result.metrics["totals"]["completed_tasks"] == 2);
    CHECK(task_named(result.metrics, "A")["cpu_ns"] == 3 * kMs);
    CHECK(task_named(result.metrics, "B")["cpu_ns"] == 2 * kMs);
  }
}

TEST_CASE("SJF orders by the jobs' declared lengths (OSTEP 7.4)", "[scenario][sched]") {
  const scenario::RunResult result = run_text(scenario_with(
      R"("sjf")",
      R"([{"kind": "job", "name": "A", "cpu_ms": 100}, {"kind": "job", "name": "B", "cpu_ms": 10}, {"kind": "job", "name": "C", "cpu_ms": 10}])"));
  CHECK(task_named(result.metrics, "B")["completion_ns"] == 10 * kMs);
  CHECK(task_named(result.metrics, "C")["completion_ns"] == 20 * kMs);
  CHECK(task_named(result.metrics, "A")["completion_ns"] == 120 * kMs);
  CHECK(result.metrics["totals"]["mean_turnaround_ns"] == 50 * kMs);
}

TEST_CASE("periodic tasks: EDF meets {(2,5),(4,7)}, rate monotonic misses a deadline", "[scenario][sched][rt]") {
  const std::string tasks =
      R"([{"kind": "periodic", "name": "T1", "period_ms": 5, "wcet_ms": 2}, {"kind": "periodic", "name": "T2", "period_ms": 7, "wcet_ms": 4}])";
  const scenario::RunResult edf = run_text(scenario_with(R"("edf")", tasks, R"({"end_ms": 70})"));
  CHECK(edf.metrics["totals"]["deadline_misses"] == 0);
  CHECK(task_named(edf.metrics, "T1")["jobs"] == 14);
  CHECK(task_named(edf.metrics, "T2")["jobs"] == 10);
  const scenario::RunResult rm = run_text(scenario_with(R"("rm")", tasks, R"({"end_ms": 70})"));
  CHECK(task_named(rm.metrics, "T1")["deadline_misses"] == 0);  // the shorter period wins
  CHECK(task_named(rm.metrics, "T2")["deadline_misses"].get<std::uint64_t>() > 0);
  CHECK(task_named(rm.metrics, "T2")["max_lateness_ns"].get<std::int64_t>() > 0);
}

TEST_CASE("a periodic task with a number of jobs ends the run by itself", "[scenario][sched]") {
  const scenario::RunResult result =
      run_text(scenario_with(R"("rr")", R"([{"kind": "periodic", "name": "T", "period_ms": 4, "wcet_ms": 1, "jobs": 5, "arrival_ms": 2}])"));
  REQUIRE(result.halted);
  const Json& t = task_named(result.metrics, "T");
  CHECK(t["jobs"] == 5);
  CHECK(t["deadline_misses"] == 0);
  CHECK(t["cpu_ns"] == 5 * kMs);
  // The last job is released at 2 + 4 x 4 = 18 ms and runs 1 ms.
  CHECK(t["completion_ns"] == 19 * kMs);
  CHECK(t["max_lateness_ns"] == -3 * static_cast<std::int64_t>(kMs));
}

TEST_CASE("affinity, nice and tickets reach the spawned tasks", "[scenario][sched]") {
  const scenario::RunResult result = run_text(
      R"({"schema_version": 1, "machine": {"cpus": 2}, "kernel": {"scheduler": "rr", "costs": "ideal"}, "workloads": [{"kind": "job", "name": "A", "cpu_ms": 4, "cpus": [1]}, {"kind": "job", "name": "B", "cpu_ms": 4, "cpus": [1]}]})");
  // Both on CPU 1 only: they share it, so together they take 8 ms though CPU 0 is free.
  CHECK(result.metrics["cpus"][1]["busy_ns"] == 8 * kMs);
  CHECK(result.metrics["cpus"][0]["busy_ns"] == 0);
  CHECK(result.end_time == 8 * sim::kMillisecond);
}

TEST_CASE("bad scheduling workload keys name their key path", "[scenario][sched]") {
  const auto entry = [](const std::string& fields) {
    return error_of(scenario_with(R"("rr")", "[{" + fields + "}]"));
  };
  CHECK(entry(R"("kind": "job", "cpu_ms": 0)") == "workloads[0].cpu_ms: must be positive");
  CHECK(entry(R"("kind": "job", "cpu_ms": 5, "io_every_ms": 1)") ==
        "workloads[0].io_ms: must be positive when io_every_ms is set");
  CHECK(entry(R"("kind": "job", "cpu_ms": 5, "priority": 100)") ==
        "workloads[0].priority: expected an integer from 1 to 99, got 100");
  CHECK(entry(R"("kind": "job", "cpu_ms": 5, "cpus": [1])") == "workloads[0].cpus: expected CPU numbers from 0 to 0, got 1");
  CHECK(entry(R"("kind": "job", "cpu_ms": 5, "nice": -21)") == "workloads[0].nice: expected an integer from -20 to 19, got -21");
  CHECK(entry(R"("kind": "job", "cpu_ms": 5, "policy": "deadline")") ==
        "workloads[0].policy: \"deadline\" needs a periodic task (its runtime, deadline and period)");
  CHECK(entry(R"("kind": "periodic", "period_ms": 5, "wcet_ms": 6)") == "workloads[0].wcet_ms: must not exceed period_ms");
  CHECK(entry(R"("kind": "periodic", "period_ms": 5, "wcet_ms": 1)") ==
        "workloads[0].jobs: a periodic task releasing jobs until the run ends needs run.end_ms");
  CHECK(entry(R"("kind": "jobb")").starts_with("workloads[0].kind: unknown workload \"jobb\""));
  CHECK(entry(R"("kind": "job", "cpu_mss": 5)").starts_with("unknown key 'workloads[0].cpu_mss'"));
}

TEST_CASE("job and periodic entries survive the effective configuration", "[scenario][sched]") {
  const scenario::Scenario s = scenario::load_scenario_text(
      scenario_with(R"({"policy": "mlfq", "quantum_ms": [1, 2, 4], "allotment_ms": [2, 4, 8], "boost_ms": 50})",
                    R"([{"kind": "job", "name": "A", "cpu_ms": 2.5, "io_every_ms": 1, "io_ms": 0.5, "nice": 3, "tickets": 7, "cpus": [0]}, {"kind": "periodic", "name": "T", "period_ms": 5, "wcet_ms": 1, "jobs": 3, "policy": "fifo", "priority": 9}])",
                    R"({"end_ms": 100})"),
      "test");
  const scenario::Scenario again = scenario::parse_scenario(nlohmann::json::parse(scenario::to_json(s).dump()));
  CHECK(scenario::to_json(again) == scenario::to_json(s));
  CHECK(again.ideal_timing);
  CHECK(again.run.end == 100 * sim::kMillisecond);
  CHECK(again.workloads[0].params["cpu_ms"] == "2500us");
  CHECK(again.workloads[1].priority == 9);
}

TEST_CASE("a taskset entry expands into periodic tasks <name>.i drawn from the run's seed", "[scenario][sched][taskset]") {
  const std::string text = scenario_with(
      R"("edf")", R"([{"kind": "taskset", "name": "ts", "tasks": 6, "utilisation": 0.95, "period_ms": [5, 50]}])",
      R"({"seed": 4, "end_ms": 400})");
  const scenario::Scenario loaded = scenario::load_scenario_text(text, "test");
  REQUIRE(loaded.workloads.size() == 6);
  double utilisation = 0;
  for (std::size_t i = 0; i < loaded.workloads.size(); ++i) {
    const scenario::WorkloadEntry& task = loaded.workloads[i];
    CHECK(task.kind == "periodic");
    CHECK(task.name == "ts." + std::to_string(i));
    const sim::Tick period = scenario::parse_duration_json(task.params["period_ms"], sim::kMillisecond);
    const sim::Tick wcet = scenario::parse_duration_json(task.params["wcet_ms"], sim::kMillisecond);
    CHECK(period >= 5 * sim::kMillisecond);
    CHECK(period <= 50 * sim::kMillisecond);
    utilisation += static_cast<double>(wcet) / static_cast<double>(period);
  }
  CHECK(utilisation == Approx(0.95).margin(0.002));

  // The same seed gives the same set; another seed another; effective_config reloads to it.
  const scenario::Scenario again = scenario::load_scenario_text(text, "test");
  const scenario::Scenario other = scenario::load_scenario_text(text, "test", {"run.seed=5"});
  CHECK(again.workloads[0].params == loaded.workloads[0].params);
  CHECK(other.workloads[0].params != loaded.workloads[0].params);
  const scenario::Scenario reloaded = scenario::parse_scenario(scenario::to_json(loaded));
  REQUIRE(reloaded.workloads.size() == 6);
  CHECK(reloaded.workloads[5].params == loaded.workloads[5].params);

  // EDF meets every deadline of a set with U <= 1 on one CPU.
  const scenario::RunResult result = scenario::run_scenario(loaded);
  std::uint64_t jobs = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    const Json& task = task_named(result.metrics, "ts." + std::to_string(i));
    CHECK(task["deadline_misses"] == 0);
    jobs += task["jobs"].get<std::uint64_t>();
  }
  CHECK(jobs > 6 * 400 / 50);
}

TEST_CASE("taskset entries are checked: messages name the key", "[scenario][sched][taskset]") {
  const auto error_for = [](const std::string& entry) {
    return error_of(scenario_with(R"("edf")", "[" + entry + "]", R"({"end_ms": 100})"));
  };
  CHECK_THAT(error_for(R"({"kind": "taskset", "tasks": 2, "utilisation": 2.5})"),
             Catch::Contains("workloads[0].utilisation"));
  CHECK_THAT(error_for(R"({"kind": "taskset", "utilisation": 0})"), Catch::Contains("workloads[0].utilisation"));
  CHECK_THAT(error_for(R"({"kind": "taskset", "period_ms": [50, 5]})"), Catch::Contains("workloads[0].period_ms"));
  CHECK_THAT(error_for(R"({"kind": "taskset", "generator": "staffordrandfixedsum"})"),
             Catch::Contains("workloads[0].generator"));
  CHECK_THAT(error_for(R"({"kind": "taskset", "typo": 1})"), Catch::Contains("workloads[0].typo"));
  CHECK_THAT(error_of(scenario_with(R"("edf")", R"([{"kind": "taskset"}])")), Catch::Contains("end_ms"));
}

TEST_CASE("real-time pull: a CPU about to run fair work takes a higher-class task waiting elsewhere",
          "[scenario][sched][balance]") {
  const std::string machine = R"({"schema_version": 1, "machine": {"cpus": 2}, "kernel": {"scheduler": "cfs", "costs": "ideal"}, "workloads": )";
  SECTION("SCHED_FIFO") {
    // B (priority 40) arrives when both CPUs run higher priorities and waits on CPU 0
    // behind A; when C leaves CPU 1 at 5 ms, CPU 1 pulls B instead of running F.
    const scenario::RunResult result = run_text(machine + R"([
        {"kind": "job", "name": "A", "cpu_ms": 20, "policy": "fifo", "priority": 50, "cpus": [0]},
        {"kind": "job", "name": "C", "cpu_ms": 5, "policy": "fifo", "priority": 60, "cpus": [1]},
        {"kind": "job", "name": "F", "cpu_ms": 20, "cpus": [1]},
        {"kind": "job", "name": "B", "arrival_ms": 1, "cpu_ms": 4, "policy": "fifo", "priority": 40}]})");
    const Json& b = task_named(result.metrics, "B");
    CHECK(b["first_run_ns"] == 5 * kMs);
    CHECK(b["completion_ns"] == 9 * kMs);
    CHECK(b["migrations"] == 1);
    CHECK(task_named(result.metrics, "F")["first_run_ns"] == 9 * kMs);
  }
  SECTION("SCHED_DEADLINE: global EDF") {
    // B (deadline 31 ms) waits on CPU 0 behind A (deadline 20 ms); CPU 1 pulls it when C
    // is done rather than run the fair task F.
    const scenario::RunResult result = run_text(machine + R"([
        {"kind": "periodic", "name": "A", "period_ms": 100, "wcet_ms": 20, "deadline_ms": 20, "jobs": 1, "policy": "deadline", "cpus": [0]},
        {"kind": "periodic", "name": "C", "period_ms": 100, "wcet_ms": 5, "deadline_ms": 10, "jobs": 1, "policy": "deadline", "cpus": [1]},
        {"kind": "job", "name": "F", "cpu_ms": 30, "cpus": [1]},
        {"kind": "periodic", "name": "B", "arrival_ms": 1, "period_ms": 100, "wcet_ms": 4, "deadline_ms": 30, "jobs": 1, "policy": "deadline"}]})");
    const Json& b = task_named(result.metrics, "B");
    CHECK(b["first_run_ns"] == 5 * kMs);
    CHECK(b["deadline_misses"] == 0);
    CHECK(task_named(result.metrics, "F")["first_run_ns"] == 9 * kMs);
  }
}
