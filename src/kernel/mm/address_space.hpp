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
//
// TLB coherence: the address space remembers which CPUs may hold translations for it; when
// a mapping is removed or loses permissions, TlbShootdown (mm/tlb_shootdown.hpp)
// invalidates it there, by IPI or lazily, before the caller returns to user mode.

#include <cstdint>
#include <map>
#include <memory>

#include "ossim/mmu/page_table.hpp"
#include "kernel/mm/vma.hpp"
#include "kernel/result.hpp"

namespace ossim::kernel {

class KernelCore;
class PageCache;

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

class AddressSpace {
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
  const Vma* find_vma(mmu::VirtAddr address) const;
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
  /// Reverse-map callback of PageCache::truncate: unmaps the pages of every VMA on `cache`
  /// whose page index in the cache is `first_index` or more, private copies included.
  void unmap_cache_pages(const PageCache& cache, std::uint64_t first_index);
  /// brk: moves the program break; returns the break in effect afterwards (the old one if
  /// the request cannot be met), as the raw Linux syscall does.
  mmu::VirtAddr brk(mmu::VirtAddr requested);
  void set_brk_base(mmu::VirtAddr base) { brk_start_ = brk_ = base; }
  mmu::VirtAddr brk_start() const { return brk_start_; }

  // ---- Faults -------------------------------------------------------------------------------
  /// Resolves a page fault at `address` with the x86 error code (P, W, U, I bits).
  FaultOutcome handle_fault(mmu::VirtAddr address, std::uint32_t error_code);

  /// fork: a copy-on-write copy (ENOMEM if page-table frames run out).
  Result<std::shared_ptr<AddressSpace>> fork_copy();

  // ---- Statistics -------------------------------------------------------------------------
  std::uint64_t resident_pages() const { return resident_pages_; }
  std::uint64_t virtual_bytes() const;
  std::uint64_t cow_copies() const { return cow_copies_; }

 private:
  AddressSpace(KernelCore& kernel, std::unique_ptr<mmu::PageTable> table, std::uint16_t pcid);

  /// The leaf PTE flags a page of `vma` gets (without the frame address).
  static mmu::pte::Entry pte_flags(const Vma& vma);
  /// Removes every page mapped in [begin, end), dropping frame references.
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
  /// Not-present faults on a page-cache-backed VMA.
  FaultOutcome fault_in_cached_page(const Vma& vma, mmu::VirtAddr page, bool write);
  /// Maps a fresh private frame at `page`: zeroes, then the first `copy_bytes` of `source`.
  FaultOutcome map_private_copy(const Vma& vma, mmu::VirtAddr page, const std::byte* source,
                                std::uint64_t copy_bytes);
  void get_frame(mmu::FrameNumber frame);
  void put_frame(mmu::FrameNumber frame);

  KernelCore& kernel_;
  std::unique_ptr<mmu::PageTable> table_;
  std::uint16_t pcid_;
  std::map<mmu::VirtAddr, Vma> vmas_;  // by start address
  mmu::VirtAddr brk_start_ = 0;
  mmu::VirtAddr brk_ = 0;
  std::uint64_t tlb_cpus_ = 0;
  std::uint64_t resident_pages_ = 0;
  std::uint64_t cow_copies_ = 0;
};

}  // namespace ossim::kernel
