#pragma once

// Conversions between simulated time and the ABI's struct timespec.

#include <algorithm>

#include "ossim/sim/tick.hpp"
#include "ossim/sys/types.hpp"

namespace ossim::kernel {

inline sys::timespec to_timespec(sim::Tick t) {
  return sys::timespec{static_cast<std::int64_t>(t / sim::kSecond),
                       static_cast<std::int64_t>((t % sim::kSecond) / sim::kNanosecond)};
}

/// Whether `value` is a valid timespec (non-negative, tv_nsec below a second).
inline bool valid_timespec(const sys::timespec& value) {
  return value.tv_sec >= 0 && value.tv_nsec >= 0 && value.tv_nsec < 1'000'000'000;
}

/// A valid timespec as a duration, saturating at kTickNever.
inline sim::Tick from_timespec(const sys::timespec& value) {
  const sim::Tick max_seconds = sim::kTickNever / sim::kSecond - 1;
  return static_cast<sim::Tick>(std::min<std::int64_t>(value.tv_sec, static_cast<std::int64_t>(max_seconds))) *
             sim::kSecond +
         static_cast<sim::Tick>(value.tv_nsec) * sim::kNanosecond;
}

}  // namespace ossim::kernel
