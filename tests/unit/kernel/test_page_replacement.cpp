#include <catch2/catch.hpp>

#include <stdexcept>
#include <vector>

#include "ossim/kernel/page_replacement.hpp"

using namespace ossim::kernel;

namespace {

ReferenceStringResult replay(const char* policy, std::size_t frames, const std::vector<PageKey>& pages) {
  auto p = make_replacement_policy(policy, {.frames = frames, .seed = 1, .future = pages});
  return simulate_reference_string(*p, frames, pages);
}

// OSTEP chapter 22's running example: 0,1,2,0,1,3,0,3,1,2,1 with a cache of 3 pages.
const std::vector<PageKey> kOstep = {0, 1, 2, 0, 1, 3, 0, 3, 1, 2, 1};
// Belady's string.
const std::vector<PageKey> kBelady = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};

}  // namespace

TEST_CASE("on OSTEP's example OPT hits 6 of 11", "[kernel][replacement][opt]") {
  const auto r = replay("opt", 3, kOstep);
  CHECK(r.hits == 6);
  CHECK(r.misses == 5);
  // At the last miss neither 0 nor 3 is used again; the tie goes to the smaller key
  // (OSTEP evicts 3; the hit count is the same either way).
  CHECK(r.evicted == std::vector<PageKey>{2, 0});
}

TEST_CASE("on OSTEP's example FIFO hits 4 of 11, evicting in arrival order", "[kernel][replacement][fifo]") {
  const auto r = replay("fifo", 3, kOstep);
  CHECK(r.hits == 4);
  CHECK(r.misses == 7);
  CHECK(r.evicted == std::vector<PageKey>{0, 1, 2, 3});
}

TEST_CASE("on OSTEP's example LRU hits 6 of 11, like OPT", "[kernel][replacement][lru]") {
  const auto r = replay("lru", 3, kOstep);
  CHECK(r.hits == 6);
  CHECK(r.misses == 5);
  CHECK(r.evicted == std::vector<PageKey>{2, 0});
}

TEST_CASE("on OSTEP's example CLOCK's hand sweeps to the same victims as FIFO", "[kernel][replacement][clock]") {
  // By hand: every page has its use bit set when 3 arrives, so the sweep clears all three
  // and takes frame 0 (page 0); then 1, 2 and 3 in turn.
  const auto r = replay("clock", 3, kOstep);
  CHECK(r.hits == 4);
  CHECK(r.evicted == std::vector<PageKey>{0, 1, 2, 3});
}

TEST_CASE("Belady's anomaly: FIFO faults more with 4 frames than with 3", "[kernel][replacement][fifo][belady]") {
  CHECK(replay("fifo", 3, kBelady).misses == 9);
  CHECK(replay("fifo", 4, kBelady).misses == 10);
}

TEST_CASE("LRU and OPT are stack algorithms: more frames never fault more on Belady's string",
          "[kernel][replacement][belady]") {
  CHECK(replay("lru", 3, kBelady).misses == 10);
  CHECK(replay("lru", 4, kBelady).misses == 8);
  CHECK(replay("opt", 3, kBelady).misses == 7);
  CHECK(replay("opt", 4, kBelady).misses == 6);
}

TEST_CASE("enhanced CLOCK evicts a clean page before an older dirty one", "[kernel][replacement][clock]") {
  auto policy = make_replacement_policy("enhanced_clock", {.frames = 2});
  const std::vector<PageReference> refs = {{1, true}, {2, false}, {3, false}};
  const auto r = simulate_reference_string(*policy, 2, refs);
  CHECK(r.evicted == std::vector<PageKey>{2});
  auto plain = make_replacement_policy("clock", {.frames = 2});
  CHECK(simulate_reference_string(*plain, 2, refs).evicted == std::vector<PageKey>{1});
}

TEST_CASE("the active/inactive lists keep a page used twice through a scan that flushes LRU",
          "[kernel][replacement][active_inactive]") {
  const std::vector<PageKey> scan = {100, 100, 100, 1, 2, 3, 4, 100};
  CHECK(replay("active_inactive", 3, scan).hit.back());
  CHECK_FALSE(replay("lru", 3, scan).hit.back());
}

TEST_CASE("random replacement is reproducible from its seed and never evicts a non-resident page",
          "[kernel][replacement][random]") {
  std::vector<PageKey> pages;
  for (PageKey i = 0; i < 500; ++i) pages.push_back((i * 7919) % 13);
  const auto a = replay("random", 4, pages);
  const auto b = replay("random", 4, pages);
  CHECK(a.evicted == b.evicted);
  CHECK(a.hits + a.misses == pages.size());
  auto other = make_replacement_policy("random", {.frames = 4, .seed = 2});
  CHECK(simulate_reference_string(*other, 4, pages).evicted != a.evicted);
}

TEST_CASE("no policy beats OPT, and all agree once everything fits", "[kernel][replacement]") {
  std::vector<PageKey> pages;
  for (PageKey i = 0; i < 2000; ++i) pages.push_back((i * 7 + (i / 3) * 5) % 17);
  const std::uint64_t optimal = replay("opt", 5, pages).misses;
  for (const std::string& name : replacement_policy_names()) {
    INFO(name);
    CHECK(replay(name.c_str(), 5, pages).misses >= optimal);
    CHECK(replay(name.c_str(), 17, pages).misses == 17);  // compulsory misses only
  }
}

TEST_CASE("freed pages leave the policy and unknown names are refused", "[kernel][replacement]") {
  for (const std::string& name : replacement_policy_names()) {
    if (name == "opt") continue;
    INFO(name);
    auto policy = make_replacement_policy(name, {.frames = 3});
    policy->on_fault(1, false);
    policy->on_fault(2, false);
    policy->on_free(1);
    CHECK(policy->resident() == 1);
    CHECK(policy->pick_victim() == 2);
  }
  CHECK_THROWS_WITH(make_replacement_policy("lfu", {}), Catch::Contains("unknown replacement policy \"lfu\"") &&
                                                            Catch::Contains("clock"));
}
