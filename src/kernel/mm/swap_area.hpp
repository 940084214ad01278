#pragma once

// A swap area: page-sized slots on a disk where anonymous pages go when their frames are
// reclaimed (Linux's swap_info_struct with its swap_map, and the swap cache).
//
// A swapped-out page's PTE keeps a swap entry (mm/swap_entry.hpp) naming its slot. A slot
// counts the PTEs that hold its entry (fork duplicates them) and is free when none does
// and no I/O is using it.
//
// The swap cache holds a page whose slot has I/O in flight: being written out (the PTE
// already names the slot) or read in (the fault has not mapped it yet). A fault on an
// entry whose slot is cached maps the cached frame instead of reading the disk, once the
// I/O is over; this is what keeps a page being written out and touched again meanwhile
// coherent. The cache holds one reference on each of its frames.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "ossim/mmu/address.hpp"
#include "kernel/result.hpp"
#include "kernel/task/wait_queue.hpp"

namespace ossim::kernel {

class DiskDriver;
class KernelCore;
class Task;

struct SwapStats {
  std::uint64_t pages_out = 0;  // pswpout
  std::uint64_t pages_in = 0;   // pswpin
};

class SwapArea {
 public:
  /// `slots` pages from sector `first_sector` of `disk`.
  SwapArea(KernelCore& kernel, DiskDriver& disk, std::uint64_t first_sector, std::uint64_t slots);
  SwapArea(const SwapArea&) = delete;
  SwapArea& operator=(const SwapArea&) = delete;

  // ---- Slots ------------------------------------------------------------------------------
  /// The lowest free slot, now held by one PTE; nullopt when the area is full.
  std::optional<std::uint64_t> allocate();
  /// One more PTE holds `slot`'s entry (fork).
  void duplicate(std::uint64_t slot);
  /// One fewer PTE holds it (swap-in, unmap, exit); the slot is free once none does and
  /// the swap cache has let it go.
  void release(std::uint64_t slot);
  std::uint64_t slots() const { return counts_.size(); }
  std::uint64_t used() const { return used_; }
  std::uint32_t holders(std::uint64_t slot) const { return counts_.at(slot); }

  // ---- I/O (the calling task sleeps for the disk) ------------------------------------------
  Status write(Task& task, std::uint64_t slot, mmu::FrameNumber frame);
  Status read(Task& task, std::uint64_t slot, mmu::FrameNumber frame);

  // ---- Swap cache ----------------------------------------------------------------------
  /// Puts `frame` in the cache under `slot` with its I/O in flight; the caller's frame
  /// reference becomes the cache's.
  void cache_insert(std::uint64_t slot, mmu::FrameNumber frame);
  /// The I/O on `slot`'s cached page is over: tasks waiting for it go on.
  void cache_io_done(std::uint64_t slot, Task& by);
  /// Removes `slot`'s page from the cache, dropping the cache's frame reference, and frees
  /// the slot if no PTE holds it. Returns whether that freed the frame (no one else maps it).
  bool cache_remove(std::uint64_t slot);
  struct CachedSwapPage {
    mmu::FrameNumber frame = 0;
    bool io_in_flight = false;
  };
  const CachedSwapPage* cached(std::uint64_t slot) const;
  /// Sleeps until `slot` has no I/O in flight (returns at once if it is not cached).
  void wait_for_io(Task& task, std::uint64_t slot);

  const SwapStats& stats() const { return stats_; }

 private:
  Status transfer(Task& task, bool write, std::uint64_t slot, mmu::FrameNumber frame);
  void free_slot(std::uint64_t slot);

  KernelCore& kernel_;
  DiskDriver& disk_;
  std::uint64_t first_sector_;
  std::vector<std::uint32_t> counts_;        // PTEs holding each slot (swap_map)
  std::vector<bool> busy_;                   // allocated: held, or cached
  std::uint64_t next_free_hint_ = 0;         // no free slot below it
  std::uint64_t used_ = 0;
  std::map<std::uint64_t, CachedSwapPage> cache_;
  WaitQueue io_waiters_;
  SwapStats stats_;
};

}  // namespace ossim::kernel
