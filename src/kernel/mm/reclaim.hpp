#pragma once

// Page reclaim (Linux's mm/vmscan.c, kswapd and the OOM killer): getting frames back when
// free memory runs low.
//
// Which pages: anonymous private pages mapped by exactly one PTE (the reclaimer knows
// that PTE: the address space and virtual address that map the frame, the reverse map of
// an unshared anonymous page), and page-cache pages whose store can read them again (a
// block device's; ramfs keeps its only copy in memory). A page shared copy-on-write after
// fork is not tracked until a write makes it exclusive again (ossim has no anon_vma
// chains yet). A cache page is evicted by unmapping it from every mapper through the
// cache's reverse map and writing it back first if it is dirty.
//
// Which first: the replacement policy of kernel.memory.replacement orders the tracked
// frames (keys are frame numbers). Policies that age pages learn of references from the
// hardware: the reclaimer reads and clears the accessed (A) bit of every tracked page's
// PTE and reports set ones as accesses, with the dirty (D) bit; it does so before a
// reclaim batch once an eighth of the tracked pages (at least a batch) has been freed
// since the last harvest, so that the scan costs O(1) per page freed
// (Linux's page_referenced; like x86 Linux, clearing A does not flush the TLB, so a page
// used only through a cached translation looks unreferenced until that entry goes).
//
// When: the zone watermarks of Linux. An allocation that leaves free frames at or below
// `low` wakes kswapd, a kernel thread that reclaims until `high` are free; an allocation
// that finds them at or below `min` reclaims a batch itself first (direct reclaim). When
// nothing can be reclaimed and no frame is free, the OOM killer sends SIGKILL to the
// process with the largest footprint (resident + swapped + page-table pages, Linux's
// oom_badness) and the allocating task waits for it to exit.
//
// How: a victim page's PTE becomes a swap entry naming a fresh swap slot, and its frame
// is written there (the reclaiming task sleeps for the disk) and freed.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ossim/kernel/kernel.hpp"
#include "ossim/kernel/page_replacement.hpp"
#include "ossim/mmu/address.hpp"
#include "ossim/mmu/frame_allocator.hpp"
#include "kernel/task/wait_queue.hpp"

namespace ossim::kernel {

class AddressSpace;
class KernelCore;
class PageCache;
class SwapArea;
class Task;

/// Free-frame thresholds, in frames (Linux's per-zone watermarks).
struct Watermarks {
  std::uint64_t min = 0;
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  /// Linux's defaults for `managed_frames` of memory: min from vm.min_free_kbytes
  /// (sqrt(16 × memory in KiB), clamped to [128 KiB, 64 MiB], unless `min_free_kbytes`
  /// is given), low = min × 5/4, high = min × 3/2.
  static Watermarks for_memory(std::uint64_t managed_frames, std::uint64_t min_free_kbytes);
};

/// Reclaim's counters (the /proc/vmstat names in comments).
struct ReclaimStats {
  std::uint64_t scanned = 0;          // pgscan: victims the policy proposed
  std::uint64_t reclaimed = 0;        // pgsteal: pages freed by reclaim
  std::uint64_t kswapd_wakeups = 0;   // pageoutrun
  std::uint64_t kswapd_reclaimed = 0;
  std::uint64_t direct_reclaims = 0;  // allocstall
  std::uint64_t direct_reclaimed = 0;
  std::uint64_t oom_kills = 0;        // oom_kill
};

class Reclaimer {
 public:
  /// `swap` may be null (no swap area: anonymous pages cannot be reclaimed).
  Reclaimer(KernelCore& kernel, const MemoryConfig& config, SwapArea* swap);
  Reclaimer(const Reclaimer&) = delete;
  Reclaimer& operator=(const Reclaimer&) = delete;
  ~Reclaimer();

  // ---- Tracking: which frames may be reclaimed, and who maps them ------------------------
  /// `frame` is now mapped, only, by `mm` at `page`. Without swap, anonymous pages have
  /// nowhere to go and are not tracked.
  void track(mmu::FrameNumber frame, AddressSpace& mm, mmu::VirtAddr page, bool write) {
    if (swap_ != nullptr) track_anonymous(frame, mm, page, write);
  }
  /// `frame` holds page `index` of `cache`, whose store can read it again (a cache that
  /// lives as long as the kernel: a device's).
  void track_cache(mmu::FrameNumber frame, PageCache& cache, std::uint64_t index);
  /// A tracked page was referenced by read() or write() (Linux's mark_page_accessed).
  void note_access(mmu::FrameNumber frame, bool write) {
    if (tracked(frame)) policy_->on_access(frame, write);
  }
  /// `frame` is no longer reclaimable through its tracked mapping (unmapped, freed, or
  /// shared by a fork). Untracked frames are ignored.
  void untrack(mmu::FrameNumber frame);
  /// untrack(), if `frame` is tracked as mapped by `mm` at `page` (a frame shared after a
  /// fork may be tracked through another mapping, or not at all).
  void untrack_mapping(mmu::FrameNumber frame, const AddressSpace& mm, mmu::VirtAddr page) {
    if (frame < owners_.size() && owners_[frame].mm == &mm && owners_[frame].page == page) untrack(frame);
  }
  bool tracked(mmu::FrameNumber frame) const {
    return frame < owners_.size() && (owners_[frame].mm != nullptr || owners_[frame].cache != nullptr);
  }

  // ---- Allocation -----------------------------------------------------------------------
  /// A frame for a user page (refcount 1, owner recorded), under the watermark rules
  /// above. `task` is the allocating task, which may sleep (direct reclaim, the OOM
  /// killer's wait); nullopt when memory is exhausted and the OOM killer chose `task`
  /// itself or found no victim. After a sleep the caller must re-validate what it looked
  /// up before (the fault path retries).
  std::optional<mmu::FrameNumber> allocate(Task& task, std::uint64_t owner, bool* slept) {
    // Above both watermarks none of the rules applies and a frame is free: the common
    // case, a plain allocation.
    if (frames_.free_frames() > plain_allocation_above_) [[likely]] return frames_.allocate(0, owner);
    return allocate_under_pressure(task, owner, slept);
  }

  // ---- Reclaim --------------------------------------------------------------------------
  /// Reclaims up to `pages` tracked pages on behalf of `task` (which sleeps for the
  /// writes); returns how many frames were freed.
  std::uint64_t reclaim(Task& task, std::uint64_t pages);
  /// Swaps out the page `page` of `mm` (which must map it): its PTE becomes a swap entry,
  /// its data is written to a new slot while `task` sleeps, and its frame is freed unless
  /// someone mapped it again meanwhile. False when there is no swap area or it is full.
  /// `mm` is not touched after the write starts (its process may exit meanwhile).
  /// `*freed` (if given) says whether the frame went back to the free pool.
  bool swap_out(Task& task, AddressSpace& mm, mmu::VirtAddr page, bool* freed = nullptr);

  const Watermarks& watermarks() const { return watermarks_; }
  const ReclaimStats& stats() const { return stats_; }
  ReplacementPolicy& policy() { return *policy_; }
  SwapArea* swap() { return swap_; }
  /// The kswapd kernel thread, once started (at the first wakeup).
  const Task* kswapd() const { return kswapd_; }

 private:
  /// Who maps a tracked frame: an address space's anonymous page, or a cache's page.
  struct Owner {
    AddressSpace* mm = nullptr;
    mmu::VirtAddr page = 0;
    PageCache* cache = nullptr;
    std::uint64_t index = 0;
  };
  /// track() with a swap area.
  void track_anonymous(mmu::FrameNumber frame, AddressSpace& mm, mmu::VirtAddr page, bool write);
  /// allocate() at or below a watermark: kswapd, direct reclaim, the OOM killer.
  std::optional<mmu::FrameNumber> allocate_under_pressure(Task& task, std::uint64_t owner, bool* slept);
  void wake_kswapd(Task& waker);
  /// Sleeps (uninterruptibly) for one timer tick.
  void sleep_one_tick(Task& task);
  void kswapd_main(Task& self);
  /// Reports the A (and D) bits of tracked pages to the policy, clearing A.
  void age_pages();
  /// SIGKILLs the process with the largest footprint; the victim task, or nullptr.
  Task* oom_kill(Task& allocating);
  std::uint64_t free_frames() const;

  KernelCore& kernel_;
  mmu::FrameAllocator& frames_;
  MemoryConfig config_;
  SwapArea* swap_;
  std::unique_ptr<ReplacementPolicy> policy_;
  bool policy_ages_ = false;  // the policy uses references (not FIFO, random, OPT)
  std::uint64_t reclaimed_since_aging_ = ~std::uint64_t{0} / 2;  // the first pass harvests
  Watermarks watermarks_;
  std::uint64_t plain_allocation_above_ = 0;  // free frames: the larger of min and low
  std::vector<Owner> owners_;  // by frame number
  Task* kswapd_ = nullptr;
  bool kswapd_requested_ = false;
  WaitQueue kswapd_wait_;
  ReclaimStats stats_;
};

}  // namespace ossim::kernel
