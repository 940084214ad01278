#pragma once

/// @file
/// The hardware page walker: translates a virtual address by reading the paging
/// structures from simulated physical memory, one 8-byte entry per level, exactly as an
/// x86-64 MMU does on a TLB miss. It checks permissions, sets the Accessed bit of every
/// entry it used and the Dirty bit of the leaf on a write, and reports faults with the x86
/// page-fault error code.

#include <cstdint>
#include <cstring>
#include <optional>

#include "ossim/mmu/address.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/mmu/pte.hpp"

namespace ossim::mmu {

enum class AccessType : std::uint8_t { kRead, kWrite, kExecute };

/// Bits of the #PF error code (pushed on the stack; the faulting address goes in CR2).
namespace fault {
inline constexpr std::uint32_t kProtection = 1 << 0;   // P: 0 = not present, 1 = protection
inline constexpr std::uint32_t kWrite = 1 << 1;        // W/R: the access was a write
inline constexpr std::uint32_t kUser = 1 << 2;         // U/S: the access was made at CPL 3
inline constexpr std::uint32_t kReservedBit = 1 << 3;  // RSVD: a reserved bit was set
inline constexpr std::uint32_t kInstruction = 1 << 4;  // I/D: an instruction fetch

/// The W/R, U/S and I/D bits for an access.
constexpr std::uint32_t access_bits(AccessType type, bool user_mode) {
  return (type == AccessType::kWrite ? kWrite : 0) | (user_mode ? kUser : 0) |
         (type == AccessType::kExecute ? kInstruction : 0);
}
}  // namespace fault

/// The paging controls that change how a walk is done (from CR0, CR4 and EFER).
struct PagingMode {
  bool write_protect = true;  // CR0.WP: supervisor writes honour read-only pages
  bool global_pages = true;   // CR4.PGE: the G bit marks TLB entries global
  bool smep = false;          // CR4.SMEP: supervisor fetches from user pages fault
  bool five_level = false;    // CR4.LA57: 5-level paging, 57-bit virtual addresses
};

/// The permissions a translation grants, combined over all levels.
struct PagePermissions {
  bool writable = false;    // RW set at every level
  bool user = false;        // US set at every level
  bool executable = false;  // NX clear at every level
};

struct WalkResult {
  bool ok = false;
  std::uint32_t error_code = 0;  // when !ok
  PhysAddr page_base = 0;        // physical address of the page (of its size)
  PageSize page_size = PageSize::k4K;
  PagePermissions permissions;
  bool global = false;
  bool dirty = false;        // the leaf's D bit after the walk
  unsigned entries_read = 0;  // memory accesses made, for the latency charge
};

/// What PageWalker::walk_quickly read: the leaf (level-1) entry and where it is, and the
/// AND and the OR of the three entries above it (RW and US grant an access when set at
/// every level, NX forbids a fetch when set at any).
struct QuickWalk {
  pte::Entry leaf = 0;
  PhysAddr leaf_address = 0;
  pte::Entry upper_all_of = 0;
  pte::Entry upper_any_of = 0;
};

class PageWalker {
 public:
  explicit PageWalker(PhysicalMemory& memory) : memory_(memory) {}

  /// Walks the tables rooted at `root` (the physical address held in CR3) for an access,
  /// level by level.
  WalkResult walk(PhysAddr root, VirtAddr address, AccessType type, bool user_mode,
                  const PagingMode& mode);

  /// The common shape of a 4-level walk, in one pass with no branch per level: the three
  /// entries above the leaf present, with A set, no reserved bits and no large page, so
  /// that the walk reaches a level-1 entry, which may be anything (not present, too). In
  /// any other case it returns nullopt. It only reads, so then nothing has happened and
  /// walk() does the work. It checks no permission and sets no bit: the caller decides
  /// from what it read whether the access succeeds, faults (a leaf not present), or
  /// needs walk().
  std::optional<QuickWalk> walk_quickly(PhysAddr root, VirtAddr address) const {
    QuickWalk walk{0, 0, ~pte::Entry{0}, 0};
    PhysAddr table = root & pte::kAddressMask;
#pragma GCC unroll 4
    for (unsigned shift = kPageShift + 27; shift >= kPageShift; shift -= 9) {
      // A table is frame-aligned and RAM is whole frames, so a table that starts in RAM
      // lies wholly in it: one comparison covers the entry read.
      if (table >= memory_.size_bytes()) return std::nullopt;
      const PhysAddr entry_address = table + ((address >> shift) & (kEntriesPerTable - 1)) * 8;
      pte::Entry entry;
      std::memcpy(&entry, memory_.host(entry_address), sizeof entry);
      if (shift != kPageShift) {
        walk.upper_all_of &= entry;
        walk.upper_any_of |= entry;
      } else {
        walk.leaf = entry;
        walk.leaf_address = entry_address;
      }
      table = pte::address(entry);
    }
    constexpr pte::Entry kTableBits = pte::kPresent | pte::kAccessed;
    if ((walk.upper_all_of & kTableBits) != kTableBits ||
        (walk.upper_any_of & (pte::kReservedAddressMask | pte::kPageSize)) != 0) {
      return std::nullopt;
    }
    return walk;
  }

  /// Whether the permissions allow the access (shared with the TLB-hit check).
  static bool permits(const PagePermissions& permissions, AccessType type, bool user_mode,
                      const PagingMode& mode) {
    if (user_mode && !permissions.user) return false;
    if (type == AccessType::kWrite && !permissions.writable && (user_mode || mode.write_protect)) return false;
    if (type == AccessType::kExecute) {
      if (!permissions.executable) return false;
      if (!user_mode && mode.smep && permissions.user) return false;
    }
    return true;
  }

 private:
  PhysicalMemory& memory_;
};

}  // namespace ossim::mmu
