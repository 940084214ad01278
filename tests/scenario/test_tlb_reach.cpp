// The tlb_reach workload (OSTEP ch. 19's TLB measurement) as the experiment in
// examples/memory/tlb_reach runs it: it reports its time per access on the console, and
// 2 MiB pages cut the dTLB misses of an array larger than the TLB's reach by far.

#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "scenario_test_support.hpp"

namespace {

using namespace ossim;

struct Reach {
  double ns_per_access = 0;
  std::uint64_t dtlb_misses = 0;
  std::uint64_t thp_fault_alloc = 0;
};

/// Runs tlb_reach alone on one CPU with the default costs (the experiment's scenario).
Reach run_reach(std::uint64_t pages, bool huge) {
  const std::string text = R"({"schema_version": 1, "machine": {"cpus": 1}, "kernel": {"costs": "default"},
    "workloads": [{"kind": "tlb_reach", "name": "reach", "params": {"pages": )" +
                           std::to_string(pages) + R"(, "passes": 8, "huge": )" + (huge ? "true" : "false") +
                           R"(}}], "run": {"end": "10s"}, "outputs": {"trace": false}})";
  const scenario::RunResult result = testing::run_text(text);
  REQUIRE(result.halted);
  for (const auto& task : result.metrics["tasks"]) CHECK(task["exit"] == nlohmann::ordered_json({{"exited", 0}}));
  std::smatch match;
  const std::regex line(R"(tlb_reach: pages=(\d+) stride_bytes=4096 huge=(yes|no) passes=8 accesses=(\d+) ns_per_access=([0-9.]+)\n)");
  REQUIRE(std::regex_match(result.console, match, line));
  CHECK(std::stoull(match[1]) == pages);
  CHECK(std::stoull(match[3]) == 8 * pages);
  Reach reach;
  reach.ns_per_access = std::stod(match[4]);
  for (const auto& cpu : result.metrics["cpus"]) reach.dtlb_misses += cpu["tlb"]["dtlb"]["misses"].get<std::uint64_t>();
  reach.thp_fault_alloc = result.metrics["totals"]["thp_fault_alloc"];
  return reach;
}

}  // namespace

TEST_CASE("tlb_reach: 2 MiB pages cut the dTLB misses of a 2048-page sweep at least 20-fold", "[scenario][workloads][thp]") {
  const Reach small = run_reach(2048, false);
  const Reach large = run_reach(2048, true);
  CHECK(small.thp_fault_alloc == 0);
  CHECK(large.thp_fault_alloc == 4);  // 8 MiB: four 2 MiB pages
  // 2048 pages through a 64-entry dTLB: every timed access misses.
  CHECK(small.dtlb_misses >= 8 * 2048);
  CHECK(large.dtlb_misses * 20 <= small.dtlb_misses);
  // ...and past the 1024-entry STLB as well, so each pays a page walk the 2 MiB run does not.
  CHECK(large.ns_per_access * 10 < small.ns_per_access);
}

TEST_CASE("tlb_reach: the time per access steps up past the dTLB's reach and again past the STLB's",
          "[scenario][workloads]") {
  // Default timing: a TLB hit costs 1 cycle at 3 GHz, an STLB hit 2 ns more, a walk 10 ns
  // per level read. The dTLB has 64 entries, the STLB 1024.
  CHECK(run_reach(32, false).ns_per_access < 1.0);  // plus the clock_gettime calls
  const double in_stlb = run_reach(512, false).ns_per_access;
  CHECK(in_stlb > 2.0);
  CHECK(in_stlb < 3.0);
  CHECK(run_reach(2048, false).ns_per_access > 40.0);  // a 4-level walk per access
}
