#pragma once

// An address space (Linux's mm_struct): the VMAs of a process and the page table that
// maps them, built lazily by page faults.
//
//   - Anonymous memory is demand-zero: a page gets a zeroed frame on its first touch.
//   - File-backed pages come from the file's page cache (mm/page_cache.hpp). A shared
//     mapping maps the cached frame itself, so its stores are the file's bytes. A private
//     mapping (program text and data too) maps the cached frame read-only with the COW
//     bit, so it sees later writes to the file, until its own first write to the page
//     copies it. A page wholly past the end of the file is a SIGBUS.
//   - fork copies the address space copy-on-write: private pages are shared read-only
//     with the COW software bit and a frame reference per mapper; the first write by
//     either side copies the page (or, if no one else maps the frame any more, just makes
//     it writable). Frame refcounts are exact: one per mapping PTE, plus the page
//     cache's own on a cached frame.
//   - Shared mappings (kMapShared) map the frames of a page cache, a file's or anonymous
//     shared memory's, so every mapper (forked or not) sees the same bytes.
//   - Swap: reclaim (mm/reclaim.hpp) turns the PTE of an anonymous page into a swap entry
//     (mm/swap_entry.hpp); a fault on it reads the page back (a major fault), fork shares
//     the entry, unmapping releases it. Exclusive anonymous pages are tracked for reclaim
//     with the PTE that maps them.
//
// Faults may sleep (reclaim, swap I/O). Whatever a fault looked up before sleeping may
// have changed meanwhile, so after a sleep it starts over (Linux's VM_FAULT_RETRY).
//
//   - Transparent huge pages (huge_page.cpp): with the kernel's transparent_hugepages
//     setting and the VMA's madvise advice allowing it, the first touch of an anonymous
//     private 2 MiB block lying wholly in its VMA, with no page table under it yet, maps
//     one zeroed 2 MiB page with a PS=1 PDE (or 4 KiB pages when no 2 MiB block is free).
//     A 2 MiB mapping never straddles a VMA boundary: munmap, mprotect and madvise of part
//     of it first split it into 512 PTEs mapping the same frames. fork shares it
//     copy-on-write; a write to a shared one splits it and copies the one 4 KiB page.
//
// Frame reference counts: one per mapping PTE for each 4 KiB frame it maps, plus the page
// cache's own on a cached frame. A 2 MiB mapping counts as the 512 PTEs it stands for:
// its block is split in the frame allocator when it is mapped (FrameAllocator::split), so
// each of its 512 frames holds one reference per PDE mapping it, and splitting the PDE
// into PTEs changes no count. A frame goes back to the allocator when its count reaches
// zero (the buddy allocator merges the 512 back into a 2 MiB block).
//
// TLB coherence: the address space remembers which CPUs may hold translations for it; when
// a mapping is removed or loses permissions, TlbShootdown (mm/tlb_shootdown.hpp)
// invalidates it there, by IPI or lazily, before the caller returns to user mode.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "ossim/mmu/page_table.hpp"
#include "ossim/sim/huge_page_heap.hpp"
#include "ossim/sys/flags.hpp"
#include "kernel/mm/vma.hpp"
#include "kernel/result.hpp"

namespace ossim::kernel {

class KernelCore;
class PageCache;
class Task;

/// Fixed layout of a user address space (x86-64 Linux without randomisation).
namespace layout {
inline constexpr mmu::VirtAddr kTextBase = 0x400000;
inline constexpr mmu::VirtAddr kStackTop = 0x7ffffffff000;
inline constexpr mmu::VirtAddr kMmapTop = 0x7f0000000000;
inline constexpr mmu::VirtAddr kUserEnd = 0x800000000000;  // first non-user address
inline constexpr mmu::VirtAddr kMmapBottom = 0x10000;      // mmap_min_addr
}  // namespace layout

enum class FaultOutcome : std::uint8_t {
  kMinor,     // resolved without I/O
  kMajor,     // resolved, with I/O
  kSegv,      // no mapping or not allowed: kSigSegv
  kBus,       // a file page wholly past the end of the file, or unreadable: kSigBus
  kOutOfMemory,
};

class AddressSpace : public sim::HugePageAllocated {
 public:
  /// A new empty address space; ENOMEM when no frame is left for its page table.
  static Result<std::shared_ptr<AddressSpace>> create(KernelCore& kernel);
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;
  /// Drops every mapping (frames whose last reference goes are freed), the page table,
  /// and the PCID.
  ~AddressSpace();

  mmu::PageTable& page_table() { return *table_; }
  std::uint16_t pcid() const { return pcid_; }
  /// The CR3 value that loads this address space (with its PCID, keeping its TLB entries,
  /// when PCIDs are on).
  std::uint64_t cr3_value(bool use_pcid) const;
  /// Called when a CPU loads this address space: its TLB may now hold our translations.
  void note_loaded_on(unsigned cpu) { tlb_cpus_ |= std::uint64_t{1} << (cpu % 64); }

  // ---- VMAs -------------------------------------------------------------------------------
  const std::map<mmu::VirtAddr, Vma>& vmas() const { return vmas_; }
  const Vma* find_vma(mmu::VirtAddr address) const {
    if (last_found_vma_ != nullptr && last_found_vma_->contains(address)) return last_found_vma_;
    return find_vma_in_tree(address);
  }
  /// Adds a VMA over a range that must be free (EEXIST otherwise, EINVAL if misaligned).
  Status insert_vma(Vma vma);
  /// The highest free gap of `length` bytes below kMmapTop, or ENOMEM.
  Result<mmu::VirtAddr> find_free_area(std::uint64_t length) const;

  /// mmap of anonymous memory or a file (the syscall has checked fd and flags; a file
  /// must have a page cache). `may_write`: whether mprotect may later add write access.
  Result<mmu::VirtAddr> mmap(mmu::VirtAddr hint, std::uint64_t length, int prot, int flags,
                             std::shared_ptr<Inode> file, std::uint64_t offset, bool may_write = true);
  /// Shared file pages keep their data in the page cache; the D bits of their PTEs make
  /// the cached pages dirty, for a disk file system's write-back to find.
  Status munmap(mmu::VirtAddr address, std::uint64_t length);
  /// EACCES when write access is asked of a VMA that may not have it.
  Status mprotect(mmu::VirtAddr address, std::uint64_t length, int prot);
  /// msync of [address, address + length) (the syscall has checked the flags): moves the
  /// dirty bits of shared file pages to their page caches and, with kMsyncSync, writes
  /// the dirty pages back. ENOMEM if part of the range is unmapped (the mapped rest is
  /// still synced); EINVAL if `address` is not page aligned.
  Status msync(mmu::VirtAddr address, std::uint64_t length, int flags);
  /// Reverse-map callback of PageCache::evict: unmaps every PTE of ours that maps `frame`
  /// as page `index` of `cache` (private copies stay), moving D bits to the cached page.
  void unmap_cache_frame(PageCache& cache, std::uint64_t index, mmu::FrameNumber frame);
  /// Whether one of our PTEs mapping page `index` of `cache` has A set (clearing it); ORs
  /// their D bits into `*dirty`.
  bool test_and_clear_cache_accessed(const PageCache& cache, std::uint64_t index, bool* dirty);
  /// Reverse-map callback of PageCache::truncate: unmaps the pages of every VMA on `cache`
  /// whose page index in the cache is `first_index` or more, private copies included.
  void unmap_cache_pages(const PageCache& cache, std::uint64_t first_index);
  /// madvise of [address, address + length) with one of sys::kMadv* (the syscall checks
  /// nothing): EINVAL for other advice or a misaligned address; ENOMEM if part of the
  /// range is unmapped (the mapped rest still takes the advice), or if a 2 MiB page that
  /// must be split finds no frame for its page table.
  Status madvise(mmu::VirtAddr address, std::uint64_t length, int advice);
  /// brk: moves the program break; returns the break in effect afterwards (the old one if
  /// the request cannot be met), as the raw Linux syscall does.
  mmu::VirtAddr brk(mmu::VirtAddr requested);
  void set_brk_base(mmu::VirtAddr base) { brk_start_ = brk_ = base; }
  mmu::VirtAddr brk_start() const { return brk_start_; }

  // ---- Faults -------------------------------------------------------------------------------
  /// Resolves a page fault of `task` at `address` with the x86 error code (P, W, U, I
  /// bits). `task` may sleep (reclaim, swap-in).
  FaultOutcome handle_fault(Task& task, mmu::VirtAddr address, std::uint32_t error_code);

  // ---- Reclaim and swap -------------------------------------------------------------------
  /// Reclaim's unmap of one anonymous page: its PTE becomes the swap entry of `slot` and
  /// the frame is returned with the PTE's reference, now the caller's. nullopt, changing
  /// nothing, if no 4 KiB private page is mapped there.
  std::optional<mmu::FrameNumber> unmap_to_swap(mmu::VirtAddr page, std::uint64_t slot);
  /// Whether the page's PTE has its accessed bit set, which it clears (without a TLB
  /// flush, as x86 Linux); `*dirty` gets the D bit.
  bool test_and_clear_accessed(mmu::VirtAddr page, bool* dirty);
  /// Caps the resident pages of the anonymous private VMA [address, address + length)
  /// (exactly one VMA) at `limit`, replacing with a new `policy` (replacement policy
  /// names; OPT replays `future`, the region's page addresses in reference order).
  /// EINVAL for a bad range, limit or policy; ENODEV without a swap area to evict to.
  Status set_resident_limit(mmu::VirtAddr address, std::uint64_t length, std::uint64_t limit,
                            std::vector<mmu::VirtAddr> future);
  /// The exact reference stream of a capped region: `task` has just referenced `address`.
  /// Returns true for a hit, false for a miss (the reference that faulted the page in),
  /// counting it in the task's accounting. EINVAL outside a capped region; EFAULT if the
  /// page is not resident (it was not touched).
  Result<bool> page_reference(Task& task, mmu::VirtAddr address, bool write);

  /// fork: a copy-on-write copy (ENOMEM if page-table frames run out).
  Result<std::shared_ptr<AddressSpace>> fork_copy();

  // ---- Statistics -------------------------------------------------------------------------
  std::uint64_t resident_pages() const { return resident_pages_; }
  /// Pages whose PTE holds a swap entry.
  std::uint64_t swapped_pages() const { return swapped_pages_; }
  std::uint64_t virtual_bytes() const;
  std::uint64_t cow_copies() const { return cow_copies_; }

 private:
  AddressSpace(KernelCore& kernel, std::unique_ptr<mmu::PageTable> table, std::uint16_t pcid);

  /// find_vma() past the remembered VMA: the search of vmas_, remembering what it finds.
  const Vma* find_vma_in_tree(mmu::VirtAddr address) const;
  /// The leaf PTE flags a page of `vma` gets (without the frame address).
  static mmu::pte::Entry pte_flags(const Vma& vma) {
    // A PROT_NONE page keeps its frame but loses the user bit, so every user access faults
    // (and the fault handler, seeing PROT_NONE, signals SIGSEGV).
    mmu::pte::Entry flags = mmu::pte::kPresent | (vma.prot == sys::kProtNone ? 0 : mmu::pte::kUser);
    if ((vma.prot & sys::kProtWrite) != 0) flags |= mmu::pte::kWritable;
    if ((vma.prot & sys::kProtExec) == 0) flags |= mmu::pte::kNoExecute;
    return flags;
  }
  /// Removes every page mapped in [begin, end), dropping frame references. Precondition:
  /// no 2 MiB mapping straddles `begin` or `end` (split_huge_page_at splits one).
  void unmap_pages(mmu::VirtAddr begin, mmu::VirtAddr end);
  /// Splits the VMA containing `address` so that a VMA starts there.
  void split_at(mmu::VirtAddr address);
  /// Invalidates the translation of one page / of everything, on every CPU that may hold it.
  void flush_page(mmu::VirtAddr address);
  void flush_all();
  /// The page cache a VMA maps (a file's, or anonymous shared memory's), or nullptr.
  static PageCache* cache_of(const Vma& vma);
  /// The index in cache_of(vma) of the page at `page`.
  static std::uint64_t cache_index(const Vma& vma, mmu::VirtAddr page);
  /// Every VMA entering or leaving vmas_ goes through these, keeping the page caches'
  /// reverse maps exact.
  void emplace_vma(Vma vma);
  std::map<mmu::VirtAddr, Vma>::iterator erase_vma(std::map<mmu::VirtAddr, Vma>::iterator it);
  /// One fault in progress: who faulted, and what carries across its retries.
  struct FaultContext {
    Task& task;
    bool write = false;
    bool did_io = false;                     // a major fault
    bool retry = false;                      // set with take_frame()'s kNoFrame: slept
    std::optional<mmu::FrameNumber> spare = {};  // a frame taken before a sleep, for the retry
  };
  /// One attempt at a fault; nullopt: it slept, start over.
  std::optional<FaultOutcome> fault_step(FaultContext& fault, mmu::VirtAddr address, std::uint32_t error_code);
  /// take_frame()'s answer when it has no frame.
  static constexpr mmu::FrameNumber kNoFrame = ~mmu::FrameNumber{0};
  /// A frame for a new page (refcount 1), possibly after reclaim. kNoFrame with
  /// fault.retry when the task slept (the frame is kept for the retry), without it when
  /// memory is exhausted. A plain number rather than an optional: this is on every
  /// demand fault, and the optional's two halves, written apart and then copied whole,
  /// made the host stall on every copy (a failed store-to-load forward).
  mmu::FrameNumber take_frame(FaultContext& fault);
  /// Not-present faults on a page-cache-backed VMA.
  std::optional<FaultOutcome> fault_in_cached_page(FaultContext& fault, const Vma& vma, mmu::VirtAddr page);
  /// Maps a fresh private frame at `page`: zeroes, then the first `copy_bytes` of `source`.
  std::optional<FaultOutcome> map_private_copy(FaultContext& fault, const Vma& vma, mmu::VirtAddr page,
                                               const std::byte* source, std::uint64_t copy_bytes);
  /// A not-present fault on a swap entry: reads the page back.
  std::optional<FaultOutcome> swap_in(FaultContext& fault, mmu::VirtAddr page, mmu::pte::Entry entry);
  /// A capped region about to take a new page: evicts one of its pages if it is full.
  /// nullopt when it slept (evicted); kMinor when there is room.
  std::optional<FaultOutcome> make_room(FaultContext& fault, const Vma& vma);
  /// Bookkeeping of an anonymous page mapped at / unmapped from `page`: the region's
  /// policy, or reclaim's tracking.
  void note_mapped(const Vma& vma, mmu::VirtAddr page, mmu::FrameNumber frame, bool write);
  void note_unmapped(const Vma* vma, mmu::VirtAddr page, mmu::FrameNumber frame);
  void get_frame(mmu::FrameNumber frame);
  void put_frame(mmu::FrameNumber frame);

  // ---- Transparent huge pages (huge_page.cpp) -----------------------------------------
  /// Whether the setting and the VMA's advice let a fault in `vma` map 2 MiB pages.
  bool huge_eligible(const Vma& vma) const;
  /// A not-present fault at `address` in anonymous private `vma`, which is huge_eligible():
  /// maps a zeroed 2 MiB page over the aligned block around it if the VMA holds the whole
  /// block and nothing is mapped there yet. nullopt: map a 4 KiB page instead
  /// (thp_fault_fallback counts the eligible blocks that found no free 2 MiB of frames).
  std::optional<FaultOutcome> fault_in_huge_page(const Vma& vma, mmu::VirtAddr address);
  /// Splits the 2 MiB mapping that `address` falls inside of (not at its start) into 512
  /// PTEs, so that a range may begin or end at `address`. ENOMEM, changing nothing, if no
  /// frame is free for the page table.
  Status split_huge_page_at(mmu::VirtAddr address);
  /// Removes the 2 MiB mapping at `block`, dropping the references on its 512 frames.
  void unmap_huge_page(mmu::VirtAddr block);
  /// fork: maps `mapping`, a 2 MiB leaf at `block`, into `child` as well, both sides
  /// read-only and copy-on-write. False when `child` has no frame for a page table.
  bool fork_huge_page(AddressSpace& child, mmu::VirtAddr block, const mmu::Mapping& mapping);
  /// A write fault on a copy-on-write 2 MiB mapping: reused in place if no one else maps
  /// any of its frames, otherwise split and the written 4 KiB page copied.
  std::optional<FaultOutcome> break_huge_cow(mmu::VirtAddr address, const mmu::Mapping& mapping);

  KernelCore& kernel_;
  std::unique_ptr<mmu::PageTable> table_;
  std::uint16_t pcid_;
  std::map<mmu::VirtAddr, Vma> vmas_;  // by start address
  /// The VMA find_vma() found last (Linux's vmacache): a fault mostly lands in the VMA of
  /// the one before. Checked with contains() before use, so a VMA resized or split in
  /// place needs no care; erase_vma() forgets it before its node goes.
  mutable const Vma* last_found_vma_ = nullptr;
  mmu::VirtAddr brk_start_ = 0;
  mmu::VirtAddr brk_ = 0;
  std::uint64_t tlb_cpus_ = 0;
  std::uint64_t resident_pages_ = 0;
  std::uint64_t swapped_pages_ = 0;
  std::uint64_t cow_copies_ = 0;
};

}  // namespace ossim::kernel
