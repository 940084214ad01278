#pragma once

// An address space (Linux's mm_struct): the VMAs of a process and the page table that
// maps them, built lazily by page faults.
//
//   - Anonymous memory is demand-zero: a page gets a zeroed frame on its first touch.
//   - File-backed private pages (program text and data) get a frame filled from the
//     file on their first touch.
//   - fork copies the address space copy-on-write: private pages are shared read-only
//     with the COW software bit and a frame reference per mapper; the first write by
//     either side copies the page (or, if no one else maps the frame any more, just makes
//     it writable). Frame refcounts are exact: one per mapping PTE.
//   - Shared mappings (kMapShared) share frames writable between parent and child.
//
// TLB coherence: the address space remembers which CPUs may hold translations for it and
// invalidates on each of them when a mapping is removed or loses permissions (the effect
// of a TLB shootdown; its IPIs and their cost are the virtual-memory issue's).

#include <cstdint>
#include <map>
#include <memory>

#include "ossim/mmu/page_table.hpp"
#include "kernel/mm/vma.hpp"
#include "kernel/result.hpp"

namespace ossim::kernel {

class KernelCore;

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

  /// mmap of anonymous memory or a file (the syscall has checked fd and flags).
  Result<mmu::VirtAddr> mmap(mmu::VirtAddr hint, std::uint64_t length, int prot, int flags,
                             std::shared_ptr<Inode> file, std::uint64_t offset);
  Status munmap(mmu::VirtAddr address, std::uint64_t length);
  Status mprotect(mmu::VirtAddr address, std::uint64_t length, int prot);
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
  /// Fills a fresh frame for the page at `page` of `vma` (zeroes or file bytes).
  bool fill_page(const Vma& vma, mmu::VirtAddr page, mmu::FrameNumber frame);
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
