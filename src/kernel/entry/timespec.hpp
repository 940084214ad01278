#pragma once

// Conversions between simulated time and the ABI's struct timespec.

#include <algorithm>

#include "ossim/sim/tick.hpp"
#include "ossim/sys/types.hpp"

namespace ossim::kernel {

/// kClockRealtime at boot: 2026-01-01T00:00:00Z (any fixed value keeps runs reproducible).
/// CLOCK_REALTIME is CLOCK_MONOTONIC plus this many seconds.
inline constexpr std::int64_t kRealtimeAtBoot = 1'767'225'600;

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

/// A valid absolute CLOCK_REALTIME time as simulated time since boot (CLOCK_MONOTONIC);
/// a time before boot is boot. In seconds first: the boot date in picoseconds would
/// overflow 64 bits.
inline sim::Tick from_realtime(sys::timespec value) {
  value.tv_sec -= kRealtimeAtBoot;
  if (value.tv_sec < 0) return 0;
  return from_timespec(value);
}

}  // namespace ossim::kernel
