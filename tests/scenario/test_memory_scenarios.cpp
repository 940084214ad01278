// Memory pressure from scenarios: thrash workloads whose working sets fit run at the CPU's
// pace without paging; once they exceed memory, reclaim swaps, major faults appear and
// throughput collapses. The runs are deterministic.

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "scenario_test_support.hpp"

namespace ossim::testing {

namespace {

nlohmann::json thrash_run(int processes) {
  const std::string text = R"({"schema_version": 1, "machine": {"cpus": 1, "memory": "16MiB"},
      "kernel": {"scheduler": {"policy": "cfs"}},
      "run": {"end": "1s"},
      "workloads": [{"name": "w", "kind": "thrash", "count": )" +
                           std::to_string(processes) +
                           R"(, "params": {"working_set": "3MiB", "think_cycles": 20000}}]})";
  return run_text(text).metrics;
}

std::uint64_t major_faults(const nlohmann::json& metrics) {
  std::uint64_t total = 0;
  for (const auto& task : metrics["tasks"]) total += task["major_faults"].get<std::uint64_t>();
  return total;
}

}  // namespace

TEST_CASE("thrash: working sets that fit never page, too many collapse throughput", "[scenario][memory]") {
  const nlohmann::json fits = thrash_run(3);     // 9 MiB of 15 MiB
  const nlohmann::json thrashes = thrash_run(6);  // 18 MiB
  CHECK(major_faults(fits) == 0);
  CHECK(fits["memory"]["pages_swapped_out"] == 0);
  CHECK(major_faults(thrashes) > 1000);
  CHECK(thrashes["memory"]["pages_swapped_out"].get<std::uint64_t>() > 1000);
  // Each job is 768 touches x 20000 cycles at 3 GHz, about 5.1 ms of CPU: about 190 jobs
  // in a second while everything fits, far fewer while thrashing.
  CHECK(fits["totals"]["jobs"].get<std::uint64_t>() >= 180);
  CHECK(thrashes["totals"]["jobs"].get<std::uint64_t>() * 3 < fits["totals"]["jobs"].get<std::uint64_t>());
  CHECK(thrashes["totals"]["mean_utilisation"].get<double>() < 0.8);
}

TEST_CASE("a paging run is deterministic", "[scenario][memory]") {
  CHECK(thrash_run(6) == thrash_run(6));
}

}  // namespace ossim::testing

namespace ossim::testing {

TEST_CASE("executables_on_disk: execve reads the program from the disk, so the first exec waits for it",
          "[scenario][memory][exec]") {
  const auto run_with = [](const std::string& where) {
    return run_text(R"({"schema_version": 1, "kernel": {"costs": "ideal", "memory": {"executables_on_disk": ")" + where +
                    R"("}}, "workloads": [{"name": "j", "kind": "job", "cpu_ms": 1}]})")
        .metrics;
  };
  const nlohmann::json in_memory = run_with("none");
  const nlohmann::json on_hdd = run_with("hdd");
  const auto first_run = [](const nlohmann::json& metrics) { return metrics["tasks"][0]["first_run_ns"].get<std::uint64_t>(); };
  const auto turnaround = [](const nlohmann::json& metrics) { return metrics["tasks"][0]["turnaround_ns"].get<std::uint64_t>(); };
  CHECK(in_memory["tasks"][0]["exit"]["exited"] == 0);
  CHECK(on_hdd["tasks"][0]["exit"]["exited"] == 0);
  CHECK(first_run(on_hdd) == first_run(in_memory));
  // The HDD's seek and rotation, at least a millisecond, before the job's 1 ms of CPU.
  CHECK(turnaround(in_memory) == 1'000'000);
  CHECK(turnaround(on_hdd) > turnaround(in_memory) + 1'000'000);
  CHECK_THAT(error_of(R"({"schema_version": 1, "kernel": {"memory": {"executables_on_disk": "tape"}}})"),
             Catch::Contains("kernel.memory.executables_on_disk"));
}

}  // namespace ossim::testing
