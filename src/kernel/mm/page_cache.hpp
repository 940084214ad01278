#pragma once

// The page cache of one file: its pages held in physical frames, indexed by page number
// (Linux's struct address_space, an inode's i_mapping). For ramfs it is the file's only
// copy of its data; for a disk file system it is the cache in front of the blocks.
//
//   read/write (file I/O)          -+
//   faults of file mappings         +-> PageCache: page index -> CachedPage {frame, uptodate, dirty}
//   msync, truncate                -+          | fills and writes back through
//                                              v
//                                   BackingStore (the file system's hooks)
//
// Frame references: the cache holds one reference on each of its frames; every PTE that
// maps the frame (a shared mapping, or a private one that has not written the page) holds
// another. A frame is freed when the cache has dropped the page and the last PTE has gone.
// Truncation unmaps the pages it drops from every mapper first, so both go together.
//
// Reverse map: the cache knows which address spaces map it (Linux's i_mmap), so that
// truncation can take the pages it drops out of every mapping.
//
// Dirty pages: file writes mark pages dirty at once; stores through a shared mapping set
// the PTE's D bit, which the address space moves to the page (mark_dirty) when it unmaps
// the page or msync()s it. write_back() cleans pages through the store.

#include <cstdint>
#include <map>
#include <optional>
#include <span>

#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "kernel/mm/backing_store.hpp"
#include "kernel/result.hpp"
#include "kernel/task/wait_queue.hpp"

namespace ossim::kernel {

class AddressSpace;
class KernelCore;
class Task;
class TlbShootdown;

/// One page of a file in memory (the page-cache part of Linux's struct page).
struct CachedPage {
  mmu::FrameNumber frame = 0;
  bool uptodate = false;  // the frame holds the file's bytes (read from the store or wholly written)
  bool dirty = false;     // newer than the store: to be written back before it may be dropped
  bool io_in_flight = false;  // being read or written by the store (Linux's locked page)
};

/// The frames every page cache takes its pages from, and how many they hold in all
/// (/proc/meminfo's Cached). One per kernel.
struct PageCachePool {
  mmu::PhysicalMemory& memory;
  mmu::FrameAllocator& frames;
  std::uint64_t cached_pages = 0;
  /// The kernel, once it exists: for waiting on pages with I/O in flight and for
  /// reclaim's tracking of evictable pages. Null in tests of the cache alone.
  KernelCore* kernel = nullptr;
  /// Tasks waiting for a page's I/O.
  WaitQueue io_wait = {};
  /// When set, a dropped page's last reference frees its frame through the shootdown's
  /// hold-back: a truncation has just unmapped it, and another CPU's TLB may map it until
  /// the truncating CPU's shootdown completes.
  TlbShootdown* tlb_shootdown = nullptr;
};

class PageCache {
 public:
  /// `store` must outlive the cache (a file system's inode usually holds both).
  PageCache(PageCachePool& pool, BackingStore& store) : pool_(pool), store_(store) {}
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;
  /// Drops every page (without writing back: the owner writes back first if it must).
  /// Precondition: nothing maps the cache any more (mappings keep the file alive).
  ~PageCache();

  // ---- Pages ------------------------------------------------------------------------------
  /// The cached page `index`, or nullptr.
  CachedPage* find(std::uint64_t index);
  /// The page `index`, read through the store on a miss, with the pages after it up to
  /// `readahead_end` (at most kMaxReadaheadPages in all) that are not cached yet, in one
  /// batch of I/O, while frames are free without reclaim (Linux's readahead). ENOMEM when
  /// no frame is free; the store's error if it cannot read the page.
  Result<CachedPage*> get(std::uint64_t index, std::uint64_t readahead_end = 0);
  /// The readahead window: 32 pages, Linux's default read_ahead_kb of 128; twice that
  /// for MADV_SEQUENTIAL mappings.
  static constexpr std::uint64_t kReadaheadPages = 32;
  static constexpr std::uint64_t kMaxReadaheadPages = 2 * kReadaheadPages;
  /// Host bytes of a cached page's frame (kPageBytes of them).
  std::byte* bytes(const CachedPage& page) { return pool_.memory.host(mmu::address_of(page.frame)); }
  /// Marks page `index` dirty if it is cached (a store through a shared mapping).
  void mark_dirty(std::uint64_t index);

  // ---- File I/O (what read(2) and write(2) do on a file with this cache) -----------------
  /// Copies the bytes at `offset` into `out`. The caller clips `out` to the file's size.
  Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> out);
  /// Copies `in` to `offset`, adding pages as needed and marking them dirty. Returns the
  /// bytes written: fewer than asked when frames run out part way, ENOMEM when none was.
  Result<std::size_t> write(std::uint64_t offset, std::span<const std::byte> in);
  /// Zeroes the bytes of the cached page holding `offset` from `offset` to the page's end
  /// (what lies past a file's end must read as zero when the file grows over it).
  void zero_page_tail(std::uint64_t offset);
  /// The file is now `size` bytes: pages wholly past it are unmapped from every mapper
  /// (private copies included, so that later touches get SIGBUS) and dropped, and the
  /// rest of the page `size` ends in is zeroed.
  void truncate(std::uint64_t size);

  // ---- Write-back -------------------------------------------------------------------------
  /// Writes the dirty pages with index in [first, end) back through the store and marks
  /// them clean; stops at the first error and returns it.
  Status write_back(std::uint64_t first, std::uint64_t end);

  // ---- Reclaim ----------------------------------------------------------------------------
  /// Evicts page `index` for reclaim (only for an evictable store): unmaps it from every
  /// mapper, writes it back if dirty (`task` sleeps), and drops it unless it was mapped or
  /// dirtied again meanwhile. Returns whether its frame went back to the free pool.
  bool evict(Task& task, std::uint64_t index);
  /// Whether a mapper's PTE for page `index` has its accessed bit set (clearing it); ORs
  /// the D bits into `*dirty`.
  bool test_and_clear_accessed(std::uint64_t index, bool* dirty);

  // ---- Reverse map ------------------------------------------------------------------------
  /// An address space has one more / one fewer VMA mapping this cache.
  void add_mapper(AddressSpace& mm);
  void remove_mapper(AddressSpace& mm);
  std::size_t mappers() const { return mappers_.size(); }

  // ---- Statistics -------------------------------------------------------------------------
  /// Whether the pages have storage behind them (reading one in is I/O; clean ones may be
  /// evicted), unlike ramfs and anonymous shared memory.
  bool has_storage() const { return store_.evictable(); }
  std::uint64_t pages() const { return pages_.size(); }
  /// Pages read ahead of a miss.
  std::uint64_t readahead_pages() const { return readahead_pages_; }
  std::uint64_t dirty_pages() const;

 private:
  /// Adds page `index` with a fresh frame: read through the store when `fill` (with the
  /// readahead pages up to `readahead_end`), otherwise left for the caller to overwrite
  /// whole.
  Result<CachedPage*> add_page(std::uint64_t index, bool fill, std::uint64_t readahead_end = 0);
  /// A frame for a new page: through reclaim's allocator in task context (which may sleep,
  /// setting `*slept`), straight from the allocator on the host.
  std::optional<mmu::FrameNumber> allocate_frame(bool* slept);
  /// Removes a page, dropping the cache's reference on its frame.
  void drop(std::map<std::uint64_t, CachedPage>::iterator page);
  /// Sleeps until page `index` has no I/O in flight (in task context); false on the host.
  void wait_for_io(std::uint64_t index);
  void io_done();

  PageCachePool& pool_;
  BackingStore& store_;
  std::map<std::uint64_t, CachedPage> pages_;       // by page index
  std::map<AddressSpace*, std::uint32_t> mappers_;  // VMAs mapping the cache, per address space
  std::uint64_t readahead_pages_ = 0;
};

}  // namespace ossim::kernel
