#pragma once

/// @file
/// A fixed-size array whose memory the host is asked to back with transparent huge pages,
/// for a component that owns many events (or other objects touched in no predictable
/// order). Popping an event is the queue's one random access to it; with a million events
/// on 4 KiB host pages each pop is also a host TLB miss (a nested page walk under a
/// hypervisor), which 2 MiB pages avoid.
///
///     HugePageArray<TimerEvent> timers(1'000'000, engine);  // each built as TimerEvent(engine)
///
/// The advice (madvise(MADV_HUGEPAGE)) is only a request: where the host has transparent
/// huge pages disabled, or none free, the array works the same on small pages. It changes
/// nothing a simulation computes, only how fast the host gets at the objects.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#include "ossim/sim/huge_pages.hpp"

namespace ossim::sim {

template <typename T>
class HugePageArray {
 public:
  /// Builds `count` objects, each as T(args...): every object gets the same arguments, as
  /// lvalues (never moved from).
  template <typename... Args>
  explicit HugePageArray(std::size_t count, Args&&... args) : size_(count) {
    if (count == 0) return;
    bytes_ = round_up(count * sizeof(T), kHugePageBytes);
    data_ = static_cast<T*>(map_huge_pages(bytes_));
    if (data_ == nullptr) throw std::bad_alloc();
    std::size_t built = 0;
    try {
      for (; built < count; ++built) new (data_ + built) T(args...);
    } catch (...) {
      std::destroy_n(data_, built);
      munmap(data_, bytes_);
      throw;
    }
  }
  HugePageArray(const HugePageArray&) = delete;
  HugePageArray& operator=(const HugePageArray&) = delete;
  /// Destroys the objects in reverse order of construction.
  ~HugePageArray() {
    if (data_ == nullptr) return;
    for (std::size_t i = size_; i-- > 0;) data_[i].~T();
    munmap(data_, bytes_);
  }

  std::size_t size() const { return size_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  static constexpr std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;  // mapped, a multiple of kHugePageBytes
};

}  // namespace ossim::sim
