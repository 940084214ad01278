#include "ossim/mmu/frame_allocator.hpp"

#include <cassert>

namespace ossim::mmu {

FrameAllocator::FrameAllocator(PhysicalMemory& memory, FrameNumber first_frame) : memory_(memory) {
  for (FrameNumber& head : heads_) head = kNone;
  const FrameNumber end = memory.frame_count();
  for (FrameNumber f = 0; f < first_frame && f < end; ++f) memory.frame(f).flags = Frame::kReserved;
  // Carve [first_frame, end) into the largest aligned blocks that fit, lowest first.
  FrameNumber frame = first_frame;
  while (frame < end) {
    unsigned order = kMaxOrder;
    while (order > 0 && ((frame & ((FrameNumber{1} << order) - 1)) != 0 ||
                         frame + (FrameNumber{1} << order) > end)) {
      --order;
    }
    push_free(frame, order);
    free_frames_ += FrameNumber{1} << order;
    frame += FrameNumber{1} << order;
  }
  managed_frames_ = free_frames_;
  // push_free put later blocks at the list heads; the order within a list does not
  // affect correctness, and it is the same on every run.
}

void FrameAllocator::unlink_free(FrameNumber first, unsigned order) {
  Frame& frame = memory_.frame(first);
  if (frame.prev_free != kNone) {
    memory_.frame(frame.prev_free).next_free = frame.next_free;
  } else {
    heads_[order] = frame.next_free;
  }
  if (frame.next_free != kNone) memory_.frame(frame.next_free).prev_free = frame.prev_free;
  frame.flags &= static_cast<std::uint16_t>(~Frame::kFree);
  --free_blocks_[order];
}

std::optional<FrameNumber> FrameAllocator::allocate_block(unsigned order, std::uint64_t owner) {
  if (order > kMaxOrder) return std::nullopt;
  unsigned found = order;
  while (found <= kMaxOrder && heads_[found] == kNone) ++found;
  if (found > kMaxOrder) return std::nullopt;
  const FrameNumber first = pop_free(found);
  // Split: the upper halves go back on the lower-order lists.
  while (found > order) {
    --found;
    push_free(first + (FrameNumber{1} << found), found);
  }
  free_frames_ -= FrameNumber{1} << order;
  Frame& head = memory_.frame(first);
  head.flags = Frame::kHead;
  head.order = static_cast<std::uint8_t>(order);
  head.refcount = 1;
  head.owner = owner;
  for (FrameNumber f = first + 1; f < first + (FrameNumber{1} << order); ++f) {
    Frame& tail = memory_.frame(f);
    tail.flags = 0;
    tail.refcount = 0;
    tail.owner = owner;
  }
  return first;
}

std::optional<FrameNumber> FrameAllocator::allocate_zeroed(unsigned order, std::uint64_t owner) {
  auto first = allocate(order, owner);
  if (first) memory_.zero(address_of(*first), (FrameNumber{1} << order) * kPageBytes);
  return first;
}

void FrameAllocator::split(FrameNumber first, unsigned order) {
  assert((memory_.frame(first).flags & Frame::kHead) != 0 && memory_.frame(first).order == order);
  const std::uint64_t owner = memory_.frame(first).owner;
  for (FrameNumber f = first; f < first + (FrameNumber{1} << order); ++f) {
    Frame& frame = memory_.frame(f);
    frame.flags = Frame::kHead;
    frame.order = 0;
    frame.refcount = 1;
    frame.owner = owner;
  }
}

void FrameAllocator::free(FrameNumber first, unsigned order) {
  assert((memory_.frame(first).flags & Frame::kHead) != 0 && memory_.frame(first).order == order);
  free_frames_ += FrameNumber{1} << order;
  for (FrameNumber f = first; f < first + (FrameNumber{1} << order); ++f) {
    Frame& frame = memory_.frame(f);
    frame.flags = 0;
    frame.refcount = 0;
    frame.owner = 0;
  }
  // Merge with the buddy while it is a free block of the same order.
  while (order < kMaxOrder) {
    const FrameNumber buddy = first ^ (FrameNumber{1} << order);
    if (buddy >= memory_.frame_count()) break;
    const Frame& candidate = memory_.frame(buddy);
    if ((candidate.flags & Frame::kFree) == 0 || candidate.order != order) break;
    unlink_free(buddy, order);
    first = first < buddy ? first : buddy;
    ++order;
  }
  push_free(first, order);
}

}  // namespace ossim::mmu
