// Random periodic task sets: UUniFast's utilisations are uniform over the simplex, the
// discard variant caps tasks at 1, periods are log-uniform and on the granularity.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "ossim/workloads/task_set.hpp"

namespace {

using namespace ossim;

double sum(const std::vector<double>& values) { return std::accumulate(values.begin(), values.end(), 0.0); }

}  // namespace

TEST_CASE("UUniFast: n utilisations, none negative, summing to the target", "[workloads][taskset]") {
  sim::RandomStream random(7, "test");
  for (unsigned n : {1U, 2U, 5U, 20U}) {
    for (int draw = 0; draw < 100; ++draw) {
      const std::vector<double> u = workloads::uunifast(random, n, 0.75);
      REQUIRE(u.size() == n);
      CHECK(sum(u) == Approx(0.75).margin(1e-12));
      CHECK(std::all_of(u.begin(), u.end(), [](double x) { return x >= 0.0 && x <= 0.75; }));
    }
  }
}

TEST_CASE("UUniFast is uniform over the simplex: each task's mean is U/n, and for two tasks u1 is uniform",
          "[workloads][taskset]") {
  sim::RandomStream random(11, "test");
  constexpr int kDraws = 20'000;
  std::vector<double> means(4, 0.0);
  for (int draw = 0; draw < kDraws; ++draw) {
    const std::vector<double> u = workloads::uunifast(random, 4, 1.0);
    for (std::size_t i = 0; i < u.size(); ++i) means[i] += u[i] / kDraws;
  }
  // A uniform point of the simplex is exchangeable: every coordinate has mean 1/n. The
  // naive method (normalising independent uniforms) passes this too, but the next check
  // would catch a biased first draw.
  for (double mean : means) CHECK(mean == Approx(0.25).margin(0.01));

  int below_quarter = 0;
  for (int draw = 0; draw < kDraws; ++draw) {
    if (workloads::uunifast(random, 2, 1.0)[0] < 0.25) ++below_quarter;
  }
  CHECK(static_cast<double>(below_quarter) / kDraws == Approx(0.25).margin(0.015));
}

TEST_CASE("UUniFast-Discard keeps every task at or below one CPU for U > 1", "[workloads][taskset]") {
  sim::RandomStream random(3, "test");
  for (int draw = 0; draw < 200; ++draw) {
    const std::vector<double> u = workloads::uunifast_discard(random, 4, 2.5);
    CHECK(sum(u) == Approx(2.5).margin(1e-12));
    CHECK(*std::max_element(u.begin(), u.end()) <= 1.0);
  }
  CHECK_THROWS_AS(workloads::uunifast_discard(random, 2, 2.5), std::invalid_argument);
}

TEST_CASE("generate_task_set: log-uniform periods on the granularity, WCET = u x T, implicit deadlines",
          "[workloads][taskset]") {
  const workloads::TaskSetRequest request{.tasks = 8,
                                          .utilisation = 0.9,
                                          .period_min = 10 * sim::kMillisecond,
                                          .period_max = 1000 * sim::kMillisecond,
                                          .period_granularity = sim::kMillisecond,
                                          .wcet_granularity = sim::kMicrosecond};
  sim::RandomStream random(5, "test");
  int below_geometric_mean = 0;
  int periods = 0;
  for (int set = 0; set < 500; ++set) {
    const auto tasks = workloads::generate_task_set(request, random);
    REQUIRE(tasks.size() == 8);
    double total = 0;
    for (const auto& task : tasks) {
      CHECK(task.period >= request.period_min);
      CHECK(task.period <= request.period_max);
      CHECK(task.period % sim::kMillisecond == 0);
      CHECK(task.wcet % sim::kMicrosecond == 0);
      CHECK(task.wcet > 0);
      CHECK(task.wcet <= task.period);
      CHECK(task.deadline == task.period);
      CHECK(task.utilisation == Approx(static_cast<double>(task.wcet) / static_cast<double>(task.period)));
      total += task.utilisation;
      if (task.period < 100 * sim::kMillisecond) ++below_geometric_mean;
      ++periods;
    }
    // Rounding WCETs to whole microseconds (down, or up to 1 us for a tiny share) moves
    // the total by at most 8 us / 10 ms.
    CHECK(total == Approx(0.9).margin(8.0 * 1e-3 / 10.0));
  }
  // Log-uniform on [10, 1000] ms: half the periods lie below the geometric mean, 100 ms
  // (rounding down to whole milliseconds moves a few across).
  CHECK(static_cast<double>(below_geometric_mean) / periods == Approx(0.5).margin(0.03));
}

TEST_CASE("generate_task_set: the same stream gives the same set, bad requests are refused", "[workloads][taskset]") {
  const workloads::TaskSetRequest request{.tasks = 5, .utilisation = 0.7};
  sim::RandomStream first(9, "taskset:x");
  sim::RandomStream second(9, "taskset:x");
  const auto a = workloads::generate_task_set(request, first);
  const auto b = workloads::generate_task_set(request, second);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].period == b[i].period);
    CHECK(a[i].wcet == b[i].wcet);
  }
  sim::RandomStream random(1);
  CHECK_THROWS_AS(workloads::generate_task_set({.tasks = 0}, random), std::invalid_argument);
  CHECK_THROWS_AS(workloads::generate_task_set({.tasks = 2, .utilisation = 0}, random), std::invalid_argument);
  CHECK_THROWS_AS(workloads::generate_task_set({.tasks = 2, .utilisation = 3}, random), std::invalid_argument);
  CHECK_THROWS_AS(workloads::generate_task_set({.tasks = 2,
                                                .utilisation = 0.5,
                                                .period_min = 20 * sim::kMillisecond,
                                                .period_max = 10 * sim::kMillisecond},
                                               random),
                  std::invalid_argument);
}
