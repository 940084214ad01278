#pragma once

/// @file
/// Host memory on transparent huge pages for the objects a simulation keeps one of per
/// task and touches at every switch: the task_struct, its context, its fiber, its address
/// space. A switch reads a handful of these for a task that last ran thousands of switches
/// ago. Spread over 4 KiB host pages, as malloc leaves them, each read is also a host TLB
/// miss (a nested page walk under a hypervisor) that a prefetch hides only in part; packed
/// into 2 MiB pages they share a few TLB entries. The hold model at 100 000 processes runs
/// about a quarter faster so (docs/performance.md).
///
///     class Task : public sim::HugePageAllocated { ... };   // new and delete as usual
///
/// Objects are rounded up to whole host cache lines and start on one. Freed objects are
/// kept for reuse by objects of the same size class, as malloc keeps its free chunks; the
/// memory goes back to the host when the process exits. Thread-safe, so simulations may
/// run side by side on several host threads. The advice (madvise(MADV_HUGEPAGE)) is only a
/// request: where the host declines, the objects live on small pages and nothing else
/// changes. Nothing a simulation computes depends on where its objects are.

#include <cstddef>

namespace ossim::sim {

class HugePageHeap {
 public:
  /// Objects larger than this come from the ordinary heap.
  static constexpr std::size_t kLargestObject = 4096;

  /// Memory for one object of `bytes`, aligned to a host cache line. Throws
  /// std::bad_alloc when the host has no memory left.
  static void* allocate(std::size_t bytes);
  /// Gives back an object allocate(`bytes`) returned.
  static void deallocate(void* object, std::size_t bytes) noexcept;
};

/// A standard allocator over the HugePageHeap, for a container kept per task and touched
/// at every switch (a task's latency histogram).
template <typename T>
struct HugePageHeapAllocator {
  using value_type = T;
  HugePageHeapAllocator() = default;
  template <typename U>
  HugePageHeapAllocator(const HugePageHeapAllocator<U>&) {}
  T* allocate(std::size_t count) { return static_cast<T*>(HugePageHeap::allocate(count * sizeof(T))); }
  void deallocate(T* objects, std::size_t count) noexcept { HugePageHeap::deallocate(objects, count * sizeof(T)); }
  template <typename U>
  bool operator==(const HugePageHeapAllocator<U>&) const { return true; }
};

/// A base class whose only effect is that `new` and `delete` of the derived class use
/// the HugePageHeap. It adds no bytes to the object.
struct HugePageAllocated {
  static void* operator new(std::size_t bytes) { return HugePageHeap::allocate(bytes); }
  static void operator delete(void* object, std::size_t bytes) noexcept { HugePageHeap::deallocate(object, bytes); }
};

}  // namespace ossim::sim
