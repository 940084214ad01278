#include "ossim/sim/random.hpp"

#include <cmath>

namespace ossim::sim {

RandomStream::RandomStream(std::uint64_t seed) : identity_(seed) {
  std::uint64_t expand = seed;
  for (auto& word : state_) word = splitmix64(expand);
}

namespace {

// Combines a parent identity with a child name. Not symmetric and not self-cancelling (as
// XOR would be), so derive("a").derive("b") differs from derive("b").derive("a") and
// derive("q").derive("q") does not come back to the parent.
std::uint64_t combine(std::uint64_t parent, std::string_view name) {
  std::uint64_t state = parent;
  const std::uint64_t mixed_parent = splitmix64(state);
  state = mixed_parent ^ hash_name(name);
  return splitmix64(state);
}

}  // namespace

RandomStream::RandomStream(std::uint64_t seed, std::string_view stream_name)
    : RandomStream(combine(seed, stream_name)) {}

std::uint64_t RandomStream::uniform_below_rejecting(std::uint64_t bound, unsigned __int128 product) {
  const std::uint64_t threshold = (0 - bound) % bound;
  while (static_cast<std::uint64_t>(product) < threshold) {
    product = static_cast<unsigned __int128>(next_u64()) * bound;
  }
  return static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t RandomStream::uniform_between(std::uint64_t low, std::uint64_t high) {
  const std::uint64_t span = high - low;
  if (span == ~std::uint64_t{0}) return next_u64();
  return low + uniform_below(span + 1);
}

double RandomStream::exponential(double mean) {
  // 1 - u is in (0, 1], so the logarithm is finite.
  return -mean * std::log(1.0 - uniform_unit());
}

RandomStream RandomStream::derive(std::string_view child_name) const {
  return RandomStream(identity_, child_name);
}

}  // namespace ossim::sim
