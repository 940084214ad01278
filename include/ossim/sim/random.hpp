#pragma once

/// @file
/// Seeded random streams. All randomness in a simulation comes from RandomStream objects
/// derived from the one scenario seed and a component's name, so that adding a component
/// (or drawing more numbers in one) never changes the numbers another component sees.
/// The generator (xoshiro256**) and the bounded-integer method (Lemire's multiply with
/// rejection) are written out here rather than taken from <random>, whose distributions
/// differ between standard libraries: the same seed gives the same numbers everywhere.

#include <cstdint>
#include <string_view>

namespace ossim::sim {

/// SplitMix64: a 64-bit mixing function, used to expand seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// FNV-1a of a name, to turn component names into stream identifiers.
constexpr std::uint64_t hash_name(std::string_view name) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return h;
}

class RandomStream {
 public:
  /// A stream identified by (seed, stream name): same pair, same numbers.
  RandomStream(std::uint64_t seed, std::string_view stream_name);
  /// A stream from a raw 64-bit seed.
  explicit RandomStream(std::uint64_t seed = 0);

  /// Uniform over all 64-bit values.
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, bound). Precondition: bound > 0.
  std::uint64_t uniform_below(std::uint64_t bound) {
    // Lemire, "Fast Random Integer Generation in an Interval" (2019): unbiased. Inline
    // because simulations draw on hot paths; the rare rejection loop is out of line.
    const unsigned __int128 product = static_cast<unsigned __int128>(next_u64()) * bound;
    if (static_cast<std::uint64_t>(product) < bound) return uniform_below_rejecting(bound, product);
    return static_cast<std::uint64_t>(product >> 64);
  }
  /// Uniform in [low, high] (both included). Precondition: low <= high.
  std::uint64_t uniform_between(std::uint64_t low, std::uint64_t high);
  /// Uniform in [0, 1), 53 bits of precision.
  double uniform_unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Exponentially distributed with the given mean.
  double exponential(double mean);
  /// True with probability p.
  bool bernoulli(double p) { return uniform_unit() < p; }

  /// A child stream, independent of this one, identified by name.
  RandomStream derive(std::string_view child_name) const;

 private:
  /// uniform_below's result when the first draw's low half fell below `bound` (it may
  /// have to be rejected, and drawn again, to keep every result equally likely).
  std::uint64_t uniform_below_rejecting(std::uint64_t bound, unsigned __int128 product);
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
  std::uint64_t identity_;  // what derive() mixes child names into
};

}  // namespace ossim::sim
