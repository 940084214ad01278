#pragma once

/// @file
/// The physical frame allocator: a binary buddy allocator over the frame table, as in
/// Linux's page allocator. Blocks of 2^order contiguous frames, aligned to their size, are
/// kept on one free list per order; freeing a block merges it with its free buddy. Order 0
/// is a 4 KiB frame, order 9 a 2 MiB large page, order 18 a 1 GiB page. The free lists are
/// threaded through the Frame records, so the allocator itself allocates nothing, and it
/// always takes the head of a list, so allocation order is deterministic.

#include <cstdint>
#include <optional>

#include "ossim/mmu/address.hpp"
#include "ossim/mmu/physical_memory.hpp"

namespace ossim::mmu {

class FrameAllocator {
 public:
  static constexpr unsigned kMaxOrder = 18;

  /// Manages frames [first_frame, memory.frame_count()); frames below first_frame are
  /// marked reserved (like the low memory firmware keeps).
  explicit FrameAllocator(PhysicalMemory& memory, FrameNumber first_frame = 0);
  FrameAllocator(const FrameAllocator&) = delete;
  FrameAllocator& operator=(const FrameAllocator&) = delete;

  /// A block of 2^order frames aligned to its size, with refcount 1 on its first frame and
  /// `owner` recorded; nullopt when no block that large is free.
  std::optional<FrameNumber> allocate(unsigned order = 0, std::uint64_t owner = 0);
  /// As allocate(), with the block's bytes zeroed.
  std::optional<FrameNumber> allocate_zeroed(unsigned order = 0, std::uint64_t owner = 0);
  /// Returns a block from allocate(). Precondition: `first` heads an allocated block of
  /// that order.
  void free(FrameNumber first, unsigned order = 0);

  /// Turns an allocated block of 2^order frames into 2^order blocks of order 0, each with
  /// refcount 1 and the block's owner, to be freed one by one (Linux's split_page());
  /// once all are free again, merging with their buddies rebuilds the block.
  void split(FrameNumber first, unsigned order);

  std::uint64_t free_frames() const { return free_frames_; }
  std::uint64_t managed_frames() const { return managed_frames_; }
  /// Free blocks of exactly this order (for tests and /proc/buddyinfo-like reports).
  std::uint64_t free_blocks(unsigned order) const { return free_blocks_[order]; }

 private:
  static constexpr FrameNumber kNone = ~FrameNumber{0};

  void push_free(FrameNumber first, unsigned order);
  void unlink_free(FrameNumber first, unsigned order);

  PhysicalMemory& memory_;
  FrameNumber heads_[kMaxOrder + 1];
  std::uint64_t free_blocks_[kMaxOrder + 1] = {};
  std::uint64_t free_frames_ = 0;
  std::uint64_t managed_frames_ = 0;
};

}  // namespace ossim::mmu
