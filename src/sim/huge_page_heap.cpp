#include "ossim/sim/huge_page_heap.hpp"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>

#include "ossim/sim/huge_pages.hpp"
#include "ossim/sim/prefetch.hpp"

namespace ossim::sim {

namespace {

constexpr std::size_t kHugePage = kHugePageBytes;
constexpr std::size_t kClassCount = HugePageHeap::kLargestObject / kHostCacheLine;

std::size_t class_of(std::size_t bytes) { return (bytes + kHostCacheLine - 1) / kHostCacheLine - 1; }

// The objects of one size class: a free list threaded through freed objects, then the
// unused rest of the class's newest huge page.
struct SizeClass {
  void* free_list = nullptr;
  char* next = nullptr;
  char* end = nullptr;
};

// Size classes carve their objects from huge-page chunks, and the chunks come from
// regions reserved this big at once: one host mapping per region, advised once, because
// the fiber stacks' guard pages use up most of the mappings the host allows, and a heap
// mapping between two stack mappings keeps them from merging. The host commits a chunk
// only as objects are placed in it.
constexpr std::size_t kRegion = 512 * kHugePage;  // 1 GiB of address space

struct Region {
  char* next = nullptr;
  char* end = nullptr;
};

// A fresh chunk of one huge page from the current region (reserving a new one if the
// current one is used up).
char* take_chunk(Region& region) {
  if (region.next == region.end) {
    char* const reserved = static_cast<char*>(map_huge_pages(kRegion));
    if (reserved == nullptr) {
      // No mapping left: one chunk from the ordinary heap, which may still grow.
      char* const chunk = static_cast<char*>(::operator new(kHugePage, std::align_val_t{kHugePage}));
      madvise(chunk, kHugePage, MADV_HUGEPAGE);
      return chunk;
    }
    region.next = reserved;
    region.end = reserved + kRegion;
  }
  char* const chunk = region.next;
  region.next += kHugePage;
  return chunk;
}

struct Heap {
  std::mutex lock;
  std::array<SizeClass, kClassCount> classes{};
  Region region;
};

Heap& heap() {
  // Never destroyed: objects may be freed during static destruction.
  static Heap* const instance = new Heap;
  return *instance;
}

}  // namespace

void* HugePageHeap::allocate(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > kLargestObject) return ::operator new(bytes);
  const std::size_t object_bytes = (class_of(bytes) + 1) * kHostCacheLine;
  Heap& h = heap();
  const std::lock_guard guard(h.lock);
  SizeClass& size_class = h.classes[class_of(bytes)];
  if (void* const object = size_class.free_list) {
    size_class.free_list = *static_cast<void**>(object);
    return object;
  }
  if (size_class.next == nullptr || static_cast<std::size_t>(size_class.end - size_class.next) < object_bytes) {
    size_class.next = take_chunk(h.region);  // the old chunk's tail (under one object) stays unused
    size_class.end = size_class.next + kHugePage;
  }
  void* const object = size_class.next;
  size_class.next += object_bytes;
  return object;
}

void HugePageHeap::deallocate(void* object, std::size_t bytes) noexcept {
  if (object == nullptr) return;
  if (bytes == 0) bytes = 1;
  if (bytes > kLargestObject) {
    ::operator delete(object, bytes);
    return;
  }
  Heap& h = heap();
  const std::lock_guard guard(h.lock);
  SizeClass& size_class = h.classes[class_of(bytes)];
  *static_cast<void**>(object) = size_class.free_list;
  size_class.free_list = object;
}

}  // namespace ossim::sim
