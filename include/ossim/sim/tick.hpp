#pragma once

/// @file
/// Simulated time. Everything in ossim shares one time base: the Tick, a picosecond held
/// in an unsigned 64-bit integer (enough for about 213 simulated days). CPU cycles are
/// converted to ticks at each CPU's configured frequency.

#include <cstdint>
#include <limits>

namespace ossim::sim {

using Tick = std::uint64_t;

inline constexpr Tick kPicosecond = 1;
inline constexpr Tick kNanosecond = 1'000 * kPicosecond;
inline constexpr Tick kMicrosecond = 1'000 * kNanosecond;
inline constexpr Tick kMillisecond = 1'000 * kMicrosecond;
inline constexpr Tick kSecond = 1'000 * kMillisecond;

/// "Never": the time of an empty queue's next event, and of a timer that is not armed.
inline constexpr Tick kTickNever = std::numeric_limits<Tick>::max();

/// Saturating addition, so that `now + delay` never wraps past kTickNever.
constexpr Tick tick_add(Tick a, Tick b) {
  return a > kTickNever - b ? kTickNever : a + b;
}

}  // namespace ossim::sim
