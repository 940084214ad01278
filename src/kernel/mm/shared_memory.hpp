#pragma once

// Anonymous shared memory: what backs a MAP_SHARED | MAP_ANONYMOUS mapping (Linux gives it
// a shmem file). The pages belong to this object, not to an address space, so every
// mapper, the children forked after the mmap included, maps the same frames, whoever
// touches a page first. The object holds one frame reference per page it has; each
// mapping PTE holds another.

#include <cstdint>
#include <map>
#include <optional>

#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/physical_memory.hpp"

namespace ossim::kernel {

class SharedMemory {
 public:
  SharedMemory(mmu::PhysicalMemory& memory, mmu::FrameAllocator& frames) : memory_(memory), frames_(frames) {}
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory() {
    for (const auto& [index, frame] : pages_) {
      mmu::Frame& record = memory_.frame(frame);
      if (--record.refcount == 0) frames_.free(frame);
    }
  }

  /// The frame holding page `index`, zeroed and added on first use; nullopt when no frame
  /// is free.
  std::optional<mmu::FrameNumber> page(std::uint64_t index) {
    auto it = pages_.find(index);
    if (it != pages_.end()) return it->second;
    const auto frame = frames_.allocate_zeroed(0, reinterpret_cast<std::uintptr_t>(this));
    if (!frame) return std::nullopt;
    pages_.emplace(index, *frame);
    return *frame;
  }
  std::uint64_t pages() const { return pages_.size(); }

 private:
  mmu::PhysicalMemory& memory_;
  mmu::FrameAllocator& frames_;
  std::map<std::uint64_t, mmu::FrameNumber> pages_;
};

}  // namespace ossim::kernel
