#pragma once

/// @file
/// A histogram of latencies (wakeup to running, for instance) with a bounded relative
/// error: log-linear buckets, 8 per power of two of nanoseconds, so a percentile read from
/// it is within 12.5 % of the true value (exact below 16 ns, and the maximum is exact).
/// Empty histograms allocate nothing.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

#include "ossim/sim/huge_page_heap.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::kernel {

class LatencyHistogram {
 public:
  void record(sim::Tick latency) {
    const std::uint64_t ns = latency / sim::kNanosecond;
    const std::size_t index = bucket_of(ns);
    if (buckets_.size() <= index) buckets_.resize(index + 1, 0);
    ++buckets_[index];
    ++count_;
    total_ += latency;
    max_ = std::max(max_, latency);
  }

  std::uint64_t count() const { return count_; }
  sim::Tick total() const { return total_; }
  sim::Tick max() const { return max_; }
  sim::Tick mean() const { return count_ == 0 ? 0 : total_ / count_; }

  /// The smallest bucket bound below which at least `fraction` (0..1] of the samples lie,
  /// clamped to the maximum; 0 when empty.
  sim::Tick percentile(double fraction) const {
    if (count_ == 0) return 0;
    const auto wanted = static_cast<std::uint64_t>(std::max(1.0, fraction * static_cast<double>(count_) + 0.5));
    std::uint64_t seen = 0;
    for (std::size_t index = 0; index < buckets_.size(); ++index) {
      seen += buckets_[index];
      if (seen >= wanted) return std::min(max_, upper_bound_of(index) * sim::kNanosecond);
    }
    return max_;
  }

  /// Calls visit(upper, count) for each non-empty bucket in increasing order: `count`
  /// samples lie below `upper` and at or above the previous bucket's bound. `upper` is
  /// clamped to one nanosecond past the maximum, so the last bound is exact. A CDF of the
  /// samples is the running sum of the counts plotted against the bounds.
  template <typename Visit>
  void for_each_bucket(Visit&& visit) const {
    for (std::size_t index = 0; index < buckets_.size(); ++index) {
      if (buckets_[index] == 0) continue;
      visit(std::min(max_ + sim::kNanosecond, upper_bound_of(index) * sim::kNanosecond), std::uint64_t{buckets_[index]});
    }
  }

 private:
  static constexpr unsigned kSubBits = 3;  // 8 buckets per octave
  static constexpr std::uint64_t kLinear = std::uint64_t{2} << kSubBits;  // exact below 16 ns

  static std::size_t bucket_of(std::uint64_t ns) {
    if (ns < kLinear) return static_cast<std::size_t>(ns);
    const unsigned octave = static_cast<unsigned>(std::bit_width(ns)) - 1 - kSubBits;  // >= 1
    const std::uint64_t sub = (ns >> octave) & ((std::uint64_t{1} << kSubBits) - 1);
    return static_cast<std::size_t>(kLinear + (octave - 1) * (std::uint64_t{1} << kSubBits) + sub);
  }
  /// One past the largest value (ns) in bucket `index`.
  static std::uint64_t upper_bound_of(std::size_t index) {
    if (index < kLinear) return index + 1;
    const std::uint64_t rest = index - kLinear;
    const unsigned octave = static_cast<unsigned>(rest >> kSubBits) + 1;
    const std::uint64_t sub = rest & ((std::uint64_t{1} << kSubBits) - 1);
    return ((std::uint64_t{1} << kSubBits) + sub + 1) << octave;
  }

  // Per task and recorded at every switch-in: on huge pages, as the task_struct is.
  std::vector<std::uint32_t, sim::HugePageHeapAllocator<std::uint32_t>> buckets_;
  std::uint64_t count_ = 0;
  sim::Tick total_ = 0;
  sim::Tick max_ = 0;
};

}  // namespace ossim::kernel
