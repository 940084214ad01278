// The wakeup-latency histogram: percentiles within its bucket error, exact small values
// and maximum, and buckets whose running sum is the samples' CDF.

#include <catch2/catch.hpp>

#include <vector>

#include "ossim/kernel/latency_histogram.hpp"

using namespace ossim;

TEST_CASE("LatencyHistogram: exact below 16 ns, percentiles within 12.5 %, exact maximum", "[kernel][latency]") {
  kernel::LatencyHistogram histogram;
  CHECK(histogram.percentile(0.5) == 0);
  for (std::uint64_t ns = 1; ns <= 1000; ++ns) histogram.record(ns * sim::kNanosecond);
  CHECK(histogram.count() == 1000);
  CHECK(histogram.max() == 1000 * sim::kNanosecond);
  CHECK(histogram.mean() == 500'500 * sim::kNanosecond / 1000);
  // The true p50 is 500 ns, p99 990 ns; a bucket's bound is at most 1/8 above its values.
  const sim::Tick p50 = histogram.percentile(0.50);
  CHECK(p50 >= 500 * sim::kNanosecond);
  CHECK(p50 <= 500 * sim::kNanosecond * 9 / 8);
  const sim::Tick p99 = histogram.percentile(0.99);
  CHECK(p99 >= 990 * sim::kNanosecond);
  CHECK(p99 <= 1000 * sim::kNanosecond);
  CHECK(histogram.percentile(1.0) == 1000 * sim::kNanosecond);

  kernel::LatencyHistogram small;
  for (std::uint64_t ns : {3, 3, 7, 15}) small.record(ns * sim::kNanosecond);
  CHECK(small.percentile(0.5) == 4 * sim::kNanosecond);  // one past 3 ns: exact buckets
  CHECK(small.percentile(0.75) == 8 * sim::kNanosecond);
}

TEST_CASE("LatencyHistogram buckets: increasing bounds, counts summing to the samples, a CDF",
          "[kernel][latency]") {
  kernel::LatencyHistogram histogram;
  const std::vector<std::uint64_t> samples_ns = {5, 5, 5, 100, 100, 2000, 2100, 1'000'000};
  for (std::uint64_t ns : samples_ns) histogram.record(ns * sim::kNanosecond);
  std::vector<std::pair<sim::Tick, std::uint64_t>> buckets;
  histogram.for_each_bucket([&](sim::Tick upper, std::uint64_t count) { buckets.emplace_back(upper, count); });
  REQUIRE(buckets.size() == 5);  // 5, 100, 2000 (the top of 1792-2047), 2100 (2048-2303), 10^6
  std::uint64_t total = 0;
  sim::Tick previous = 0;
  for (const auto& [upper, count] : buckets) {
    CHECK(upper > previous);
    CHECK(count > 0);
    previous = upper;
    total += count;
  }
  CHECK(total == samples_ns.size());
  CHECK(buckets.front() == std::pair<sim::Tick, std::uint64_t>{6 * sim::kNanosecond, 3});
  CHECK(buckets.back().first == 1'000'001 * sim::kNanosecond);  // clamped to just past the maximum
  // Every sample lies below its bucket's bound and at or above the previous bound.
  std::size_t bucket = 0;
  sim::Tick lower = 0;
  std::uint64_t seen = 0;
  for (std::uint64_t ns : samples_ns) {
    const sim::Tick value = ns * sim::kNanosecond;
    while (value >= buckets[bucket].first) {
      CHECK(seen == buckets[bucket].second);
      lower = buckets[bucket].first;
      seen = 0;
      ++bucket;
    }
    CHECK(value >= lower);
    ++seen;
  }
}
