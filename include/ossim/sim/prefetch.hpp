#pragma once

/// @file
/// Host-cache hints: fetching memory the simulator will touch soon, so that the host
/// finds it in its caches. Hints change no result; a wrong one only costs bandwidth.

#include <cstddef>
#include <utility>

namespace ossim::sim {

/// The host's cache line, the unit of every hint.
inline constexpr std::size_t kHostCacheLine = 64;

/// Fetches the `Bytes` bytes at `first` for writing: every cache line they may span,
/// whatever the alignment of `first`. One prefetch instruction per line, unrolled.
template <std::size_t Bytes>
inline void prefetch_bytes(const void* first) {
  static_assert(Bytes > 0);
  constexpr std::size_t kLines = (Bytes - 1) / kHostCacheLine + 2;
  const char* const bytes = static_cast<const char*>(first);
  [bytes]<std::size_t... Line>(std::index_sequence<Line...>) {
    (__builtin_prefetch(bytes + Line * kHostCacheLine, 1), ...);
  }(std::make_index_sequence<kLines>{});
}

/// Fetches the whole of `object` (see prefetch_bytes).
template <typename T>
inline void prefetch_object(const T* object) {
  prefetch_bytes<sizeof(T)>(object);
}

}  // namespace ossim::sim
