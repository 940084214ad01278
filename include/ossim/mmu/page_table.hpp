#pragma once

/// @file
/// The software side of paging: building and editing one address space's x86-64 paging
/// structures in simulated physical memory (what Linux's pgd/pud/pmd/pte helpers do).
/// The hardware side, which only reads them, is the PageWalker.
///
/// Upper-level entries are created permissive (present, writable, user if any mapping
/// below is user) so that the leaf entry alone decides a page's protection, as Linux does.

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>

#include "ossim/mmu/address.hpp"
#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/mmu/pte.hpp"
#include "ossim/sim/huge_page_heap.hpp"

namespace ossim::mmu {

/// A leaf found by PageTable::lookup.
struct Mapping {
  PhysAddr page_base = 0;
  PageSize size = PageSize::k4K;
  pte::Entry entry = 0;        // the leaf entry as stored
  PhysAddr entry_address = 0;  // where the leaf entry lives in physical memory
};

class PageTable : public sim::HugePageAllocated {
 public:
  /// Allocates an empty top-level table. `levels` is 4 or 5. Throws std::bad_alloc when no
  /// frame is free.
  PageTable(PhysicalMemory& memory, FrameAllocator& frames, unsigned levels = 4);
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;
  /// Frees every paging-structure frame (not the frames the leaves map).
  ~PageTable();

  /// The physical address of the top-level table: the value to load into CR3.
  PhysAddr root() const { return root_; }
  unsigned levels() const { return levels_; }

  /// A walk of an address being fetched into the host's caches a level at a time, ahead
  /// of the walk itself (start_prefetch_walk, step_prefetch_walk): the entry its last
  /// step fetched. Changes nothing, simulated or counted.
  struct WalkPrefetch {
    PhysAddr entry = 0;
    unsigned level = 0;  // the entry's level (levels() for the root table's); 0: done
  };
  /// Fetches the root table's entry for `address`.
  WalkPrefetch start_prefetch_walk(VirtAddr address) const;
  /// Reads the entry the last step fetched (in cache by now, if the steps are far enough
  /// apart) and fetches the next one, or after the last level the byte at `address`
  /// itself. The walk ends at an entry that is not present.
  void step_prefetch_walk(VirtAddr address, WalkPrefetch& walk) const;

  /// Maps the page of `size` at `address` to `page_base` with the leaf `flags` (kPresent is
  /// added, and kPageSize for large pages). Returns false, changing nothing, if an
  /// address is misaligned or non-canonical, the range is already mapped (in whole or in
  /// part), or no frame is free for a table.
  bool map(VirtAddr address, PhysAddr page_base, PageSize size, pte::Entry flags);

  /// Removes the mapping of the page containing `address`; returns the leaf entry that was
  /// there. Empty tables are not reclaimed until the PageTable is destroyed. The caller
  /// invalidates TLBs.
  std::optional<pte::Entry> unmap(VirtAddr address);

  /// The leaf mapping `address`, found without touching A/D bits.
  std::optional<Mapping> lookup(VirtAddr address) const;

  /// Whether nothing is present where a page of `size` at `address` would go: no page
  /// and no table at its level, nor a larger page above it (Linux's pmd_none for 2 MiB).
  bool slot_empty(VirtAddr address, PageSize size) const;

  /// Replaces the 2 MiB leaf containing `address` by a table of 512 4 KiB leaves mapping
  /// the same frames with the same flags and A/D bits (Linux's __split_huge_pmd). Returns
  /// false, changing nothing, if no 2 MiB page maps `address` or no frame is free for the
  /// table. The caller invalidates TLBs.
  bool split_large_page(VirtAddr address);

  /// Sets and clears bits of the leaf mapping `address`; false if nothing is mapped. The
  /// caller invalidates TLBs.
  bool update(VirtAddr address, pte::Entry set_bits, pte::Entry clear_bits);

  /// Calls `visit(address, mapping)` for every leaf mapping a page that starts in
  /// [begin, end), in address order, skipping absent subtrees whole (so a sparse range
  /// costs what is mapped in it, not its size). `visit` may update() the leaf it is given
  /// but must not map or unmap.
  void visit_leaves(VirtAddr begin, VirtAddr end, const std::function<void(VirtAddr, const Mapping&)>& visit) const;

  // ---- Absent entries -------------------------------------------------------------------
  // A 4 KiB leaf with P clear may hold the OS's own data (Linux keeps swap entries there):
  // the hardware ignores every other bit of a non-present entry, so an access still
  // faults as not-present. These keep such entries; map() replaces one like an empty slot.

  /// Stores `entry` (non-zero, kPresent clear) in the 4 KiB leaf slot of `address`,
  /// creating tables on the way. Returns false, changing nothing, if `entry` is invalid,
  /// the address is misaligned or non-canonical, the slot holds a present mapping or lies
  /// under a large page, or no frame is free for a table.
  bool set_absent(VirtAddr address, pte::Entry entry);
  /// The absent entry in the 4 KiB leaf slot of `address`, if the slot holds one.
  std::optional<pte::Entry> absent_entry(VirtAddr address) const;
  /// Empties the 4 KiB leaf slot of `address` if it holds an absent entry; returns it.
  std::optional<pte::Entry> clear_absent(VirtAddr address);
  /// Calls `visit(address, entry)` for every absent entry of a page in [begin, end), in
  /// address order, skipping absent subtrees as visit_leaves() does. `visit` must not
  /// change the tree.
  void visit_absent(VirtAddr begin, VirtAddr end, const std::function<void(VirtAddr, pte::Entry)>& visit) const;

  /// Frames currently used by this tree's paging structures, the root included.
  std::uint64_t table_frames() const { return table_frames_; }

 private:
  /// The address of the entry at `target_level` for `address`, creating the missing
  /// tables on the way. Precondition: map() checked that no large page is in the way and
  /// that enough frames are free.
  PhysAddr create_path(VirtAddr address, unsigned target_level, bool user);
  void free_tree(PhysAddr table, unsigned level);
  /// The address of the 4 KiB leaf slot for `address` if every table above it exists
  /// (and none is a large page), else 0.
  PhysAddr leaf_slot(VirtAddr address) const;
  /// map() once the page is known to need a walk from the root (`entry` is the leaf).
  bool map_by_walk(VirtAddr address, PageSize size, pte::Entry entry);
  /// An entry of one of our paging structures, which lie in RAM (frames from the
  /// allocator), so unlike PhysicalMemory::read/write these need no bounds check.
  pte::Entry read_table_entry(PhysAddr entry_address) const {
    pte::Entry entry;
    std::memcpy(&entry, memory_.host(entry_address), sizeof entry);
    return entry;
  }
  void write_table_entry(PhysAddr entry_address, pte::Entry entry) {
    std::memcpy(memory_.host(entry_address), &entry, sizeof entry);
  }
  /// The 4 KiB leaf slot of `address` from the remembered page table (below), or 0 when
  /// `address` lies in another 2 MiB block or that block's PDE no longer points, with the
  /// user bit, to a table.
  PhysAddr remembered_leaf_slot(VirtAddr address) const {
    if ((address >> kLeafTableShift) != leaf_table_block_) return 0;
    const pte::Entry pde = read_table_entry(leaf_table_pde_);
    constexpr pte::Entry kTableWithUser = pte::kPresent | pte::kUser;
    if ((pde & (kTableWithUser | pte::kPageSize)) != kTableWithUser) return 0;
    return pte::address(pde) + ((address >> kPageShift) & (kEntriesPerTable - 1)) * sizeof(pte::Entry);
  }
  /// Remembers the page table for the 2 MiB block of `address`, pointed to by the PDE at
  /// `pde_address`. Precondition: every entry on the way there, the PDE included, has the
  /// user bit.
  void remember_leaf_table(VirtAddr address, PhysAddr pde_address) const;
  /// Depth-first walk over the leaf slots of pages starting in [begin, end): calls
  /// `visit(address, entry, entry_address, level)` for every non-zero leaf-level entry and
  /// every present large-page entry, descending only into present tables.
  void walk_leaf_slots(VirtAddr begin, VirtAddr end,
                       const std::function<void(VirtAddr, pte::Entry, PhysAddr, unsigned)>& visit) const;

  PhysicalMemory& memory_;
  FrameAllocator& frames_;
  unsigned levels_;
  PhysAddr root_;
  std::uint64_t table_frames_ = 0;
  /// The last page table (level 1) that a map(), lookup() or leaf-slot search reached, by
  /// the PDE pointing to it: consecutive faults mostly land in one 2 MiB block, and this
  /// spares them the walk from the root. It needs no invalidation: a table entry above a
  /// PDE, once present, stays until the PageTable is destroyed, and the PDE itself is
  /// read again on every use (split_large_page or a 2 MiB map may have replaced it). Only
  /// a path whose every entry has the user bit is remembered, so a user mapping through it
  /// needs no upper entry changed.
  static constexpr unsigned kLeafTableShift = kPageShift + 9;  // a page table maps 512 pages
  mutable VirtAddr leaf_table_block_ = ~VirtAddr{0};  // address >> kLeafTableShift; ~0: none
  mutable PhysAddr leaf_table_pde_ = 0;
};

}  // namespace ossim::mmu
