#include "ossim/sim/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace ossim::sim {

void* map_huge_pages(std::size_t bytes) noexcept {
  // Over-map by one huge page so that an aligned range fits, then give back the ends.
  const std::size_t mapped = bytes + kHugePageBytes;
  void* const raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  if (aligned != start) munmap(raw, aligned - start);
  if (const std::size_t tail = start + mapped - (aligned + bytes); tail != 0) {
    munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  }
  void* const address = reinterpret_cast<void*>(aligned);
  madvise(address, bytes, MADV_HUGEPAGE);  // advice: failure leaves small pages
  return address;
}

}  // namespace ossim::sim
