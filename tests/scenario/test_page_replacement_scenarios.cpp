// Page replacement on the live kernel: the page_refs workload replays a reference string on
// a region with a resident limit, and its hits and misses agree with the textbook
// definitions (OSTEP chapter 22) and with the offline simulator of the same policies.
//
// Conventions (as ossim/kernel/page_replacement.hpp documents them): a miss is any touch
// of a page that is not resident, first touches included; a page brought in counts as
// referenced; CLOCK's hand starts at the first frame.

#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ossim/kernel/page_replacement.hpp"
#include "ossim/sim/random.hpp"
#include "scenario_test_support.hpp"

namespace ossim::testing {

namespace {

struct PageCounts {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t major_faults = 0;
  int exit_code = -1;
};

PageCounts run_page_refs(const std::string& policy, const std::vector<std::uint64_t>& pages, std::uint64_t frames,
                         bool write = false) {
  const nlohmann::json document = {
      {"schema_version", 1},
      {"kernel", {{"costs", "ideal"}, {"memory", {{"replacement", policy}}}}},
      {"run", {{"end", "60s"}}},
      {"workloads", {{{"kind", "page_refs"}, {"name", "R"}, {"pages", pages}, {"resident_limit", frames}, {"write", write}}}}};
  const scenario::RunResult result = run_text(document.dump());
  for (const auto& task : result.metrics["tasks"]) {
    if (task["name"] != "R") continue;
    PageCounts counts;
    counts.hits = task["page_hits"].get<std::uint64_t>();
    counts.misses = task["page_misses"].get<std::uint64_t>();
    counts.major_faults = task["major_faults"].get<std::uint64_t>();
    counts.exit_code = task["exit"].contains("exited") ? task["exit"]["exited"].get<int>() : -1;
    return counts;
  }
  FAIL("no task R in the metrics");
  return {};
}

std::uint64_t distinct(const std::vector<std::uint64_t>& pages) { return std::set(pages.begin(), pages.end()).size(); }

}  // namespace

TEST_CASE("page_refs reproduces OSTEP's worked examples", "[scenario][replacement]") {
  // OSTEP figures 22.1 (OPT), 22.2 (FIFO) and 22.5 (LRU): 0 1 2 0 1 3 0 3 1 2 1, 3 frames.
  const std::vector<std::uint64_t> pages = {0, 1, 2, 0, 1, 3, 0, 3, 1, 2, 1};
  const PageCounts opt = run_page_refs("opt", pages, 3);
  CHECK(opt.hits == 6);
  CHECK(opt.misses == 5);
  const PageCounts fifo = run_page_refs("fifo", pages, 3);
  CHECK(fifo.hits == 4);
  CHECK(fifo.misses == 7);
  const PageCounts lru = run_page_refs("lru", pages, 3);
  CHECK(lru.hits == 6);
  CHECK(lru.misses == 5);
  for (const PageCounts& counts : {opt, fifo, lru}) {
    CHECK(counts.exit_code == 0);
    // Every miss but the first touch of each page reads the page back from swap.
    CHECK(counts.major_faults == counts.misses - distinct(pages));
  }
}

TEST_CASE("page_refs shows Belady's anomaly under FIFO", "[scenario][replacement]") {
  const std::vector<std::uint64_t> pages = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};
  const PageCounts three = run_page_refs("fifo", pages, 3);
  const PageCounts four = run_page_refs("fifo", pages, 4);
  CHECK(three.misses == 9);
  CHECK(four.misses == 10);
  // LRU is a stack algorithm: more frames never hurt.
  CHECK(run_page_refs("lru", pages, 4).misses <= run_page_refs("lru", pages, 3).misses);
}

TEST_CASE("every policy on the live kernel agrees with the offline simulator", "[scenario][replacement]") {
  sim::RandomStream random(2024, "page_refs");
  std::vector<std::uint64_t> pages;
  for (int i = 0; i < 120; ++i) pages.push_back(random.uniform_below(10));
  for (const bool write : {false, true}) {
    for (const std::string policy : {"fifo", "lru", "opt", "clock", "enhanced_clock", "active_inactive"}) {
      CAPTURE(policy, write);
      std::vector<kernel::PageReference> references;
      std::vector<kernel::PageKey> future;
      for (std::uint64_t page : pages) {
        references.push_back({page, write});
        future.push_back(page);
      }
      auto offline = kernel::make_replacement_policy(policy, {.frames = 4, .future = future});
      const kernel::ReferenceStringResult expected = kernel::simulate_reference_string(*offline, 4, references);
      const PageCounts live = run_page_refs(policy, pages, 4, write);
      CHECK(live.exit_code == 0);
      CHECK(live.hits == expected.hits);
      CHECK(live.misses == expected.misses);
    }
  }
  // The random policy draws from the run's seed: only the totals are fixed, and no policy
  // beats OPT.
  const PageCounts random_policy = run_page_refs("random", pages, 4);
  CHECK(random_policy.hits + random_policy.misses == pages.size());
  CHECK(random_policy.misses >= run_page_refs("opt", pages, 4).misses);
}

TEST_CASE("page_refs' scenario errors name the key", "[scenario][replacement]") {
  const auto with = [](const std::string& entry) {
    return R"({"schema_version": 1, "workloads": [)" + entry + "]}";
  };
  CHECK_THAT(error_of(with(R"({"kind": "page_refs", "pages": [1, 2], "resident_limit": 0})")),
             Catch::Contains("workloads[0].resident_limit"));
  CHECK_THAT(error_of(with(R"({"kind": "page_refs", "pages": "1 2 3"})")), Catch::Contains("workloads[0].pages"));
  CHECK_THAT(error_of(with(R"({"kind": "page_refs", "pages": [1, -2]})")), Catch::Contains("element 1"));
  CHECK_THAT(error_of(R"({"schema_version": 1, "kernel": {"memory": {"replacement": "mru"}}})"),
             Catch::Contains("kernel.memory.replacement"));
  CHECK_THAT(error_of(R"({"schema_version": 1, "kernel": {"memory": {"swap": {"size": "1000B"}}}})"),
             Catch::Contains("kernel.memory.swap.size"));
}

TEST_CASE("without swap a capped region cannot evict and the workload says so", "[scenario][replacement]") {
  const std::string text = R"({"schema_version": 1, "kernel": {"costs": "ideal", "memory": {"swap": {"size": 0}}},
      "workloads": [{"kind": "page_refs", "name": "R", "pages": [1, 2, 3, 4], "resident_limit": 2}]})";
  const scenario::RunResult result = run_text(text);
  CHECK(result.metrics["tasks"][0]["exit"]["exited"] == 2);  // ossim_resident_limit: ENODEV
  CHECK(result.metrics["memory"]["swap_pages"] == 0);
}

}  // namespace ossim::testing
