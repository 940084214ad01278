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
  std::optional<FrameNumber> allocate(unsigned order = 0, std::uint64_t owner = 0) {
    if (order == 0 && heads_[0] != kNone) [[likely]] return take_single_frame(owner);
    return allocate_block(order, owner);
  }
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

  /// allocate(0) when a single free frame is on its list: its head, as allocate_block
  /// would take it.
  FrameNumber take_single_frame(std::uint64_t owner) {
    const FrameNumber first = pop_free(0);
    --free_frames_;
    Frame& head = memory_.frame(first);
    head.flags = Frame::kHead;
    head.order = 0;
    head.refcount = 1;
    head.owner = owner;
    return first;
  }
  /// allocate() of any block: takes the smallest free block of at least 2^order frames and
  /// splits it.
  std::optional<FrameNumber> allocate_block(unsigned order, std::uint64_t owner);
  /// Takes the head of the non-empty free list of `order` (unlink_free of the head, which
  /// has no predecessor).
  FrameNumber pop_free(unsigned order) {
    const FrameNumber first = heads_[order];
    Frame& frame = memory_.frame(first);
    heads_[order] = frame.next_free;
    if (frame.next_free != kNone) memory_.frame(frame.next_free).prev_free = kNone;
    frame.flags &= static_cast<std::uint16_t>(~Frame::kFree);
    --free_blocks_[order];
    return first;
  }
  void push_free(FrameNumber first, unsigned order) {
    Frame& frame = memory_.frame(first);
    frame.flags = Frame::kFree;
    frame.order = static_cast<std::uint8_t>(order);
    frame.refcount = 0;
    frame.owner = 0;
    frame.prev_free = kNone;
    frame.next_free = heads_[order];
    if (heads_[order] != kNone) memory_.frame(heads_[order]).prev_free = first;
    heads_[order] = first;
    ++free_blocks_[order];
  }
  void unlink_free(FrameNumber first, unsigned order);

  PhysicalMemory& memory_;
  FrameNumber heads_[kMaxOrder + 1];
  std::uint64_t free_blocks_[kMaxOrder + 1] = {};
  std::uint64_t free_frames_ = 0;
  std::uint64_t managed_frames_ = 0;
};

}  // namespace ossim::mmu
