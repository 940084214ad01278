#include "ossim/mmu/page_walker.hpp"

namespace ossim::mmu {

namespace {

// Reserved bits of an entry at `level` (1 = PTE ... 5 = PML5E), beyond MAXPHYADDR.
bool has_reserved_bits(pte::Entry entry, unsigned level) {
  if ((entry & pte::kReservedAddressMask) != 0) return true;
  const bool large = (entry & pte::kPageSize) != 0;
  if (large && level >= 4) return true;  // no PS in PML4E/PML5E
  if (large && (level == 2 || level == 3)) {
    // A large page's address must be aligned to its size; bit 12 is the PAT bit.
    const unsigned shift = level == 2 ? 21 : 30;
    const pte::Entry low_bits = (entry & pte::kAddressMask) & ((pte::Entry{1} << shift) - 1);
    if ((low_bits & ~(pte::Entry{1} << 12)) != 0) return true;
  }
  return false;
}

// The walk for a fixed number of levels, so that the compiler lays the levels out one after
// the other.
template <unsigned levels>
WalkResult walk_tables(PhysicalMemory& memory, PhysAddr root, VirtAddr address, AccessType type, bool user_mode,
                       const PagingMode& mode) {
  WalkResult result;
  const std::uint32_t access_bits = fault::access_bits(type, user_mode);

  PhysAddr used[5];       // the entries this walk used, to set their Accessed bits on success
  pte::Entry values[5];  // and what they held
  // RW and US count when set at every level, NX when set at any: AND and OR the entries.
  pte::Entry all_of = ~pte::Entry{0};
  pte::Entry any_of = 0;
  PhysAddr table = root & pte::kAddressMask;
  unsigned shift = kPageShift + 9 * (levels - 1);
#pragma GCC unroll 5
  for (unsigned level = levels; level >= 1; --level, shift -= 9) {
    const PhysAddr entry_address = table + ((address >> shift) & (kEntriesPerTable - 1)) * 8;
    const pte::Entry entry = memory.read<pte::Entry>(entry_address);
    used[result.entries_read] = entry_address;
    values[result.entries_read] = entry;
    ++result.entries_read;
    // One test for the common case: present, no reserved address bits.
    if ((entry & (pte::kPresent | pte::kReservedAddressMask)) != pte::kPresent) [[unlikely]] {
      result.error_code = pte::present(entry) ? access_bits | fault::kProtection | fault::kReservedBit : access_bits;
      return result;
    }
    // Bit 7 is PS above the last level (at level 1 it is the PAT bit).
    const bool large = level > 1 && (entry & pte::kPageSize) != 0;
    if (large && has_reserved_bits(entry, level)) [[unlikely]] {
      result.error_code = access_bits | fault::kProtection | fault::kReservedBit;
      return result;
    }
    all_of &= entry;
    any_of |= entry;
    if (level > 1 && !large) {
      table = pte::address(entry);
      continue;
    }
    result.page_size = static_cast<PageSize>(shift);
    result.page_base = pte::address(entry) & ~(page_bytes(result.page_size) - 1);
    result.global = mode.global_pages && (entry & pte::kGlobal) != 0;
    result.permissions = PagePermissions{(all_of & pte::kWritable) != 0, (all_of & pte::kUser) != 0,
                                         (any_of & pte::kNoExecute) == 0};
    if (!PageWalker::permits(result.permissions, type, user_mode, mode)) {
      result.error_code = access_bits | fault::kProtection;
      return result;
    }
    // The access is allowed: set A on every entry used, and D on the leaf for a write.
    // (Nothing else runs during a walk, so the values read are still what is in memory.)
    // Usually they are all set already, and nothing is written.
    const bool write = type == AccessType::kWrite;
    if ((all_of & pte::kAccessed) == 0 || (write && (entry & pte::kDirty) == 0)) {
      for (unsigned i = 0; i < result.entries_read; ++i) {
        pte::Entry updated = values[i] | pte::kAccessed;
        if (i + 1 == result.entries_read && write) updated |= pte::kDirty;
        if (updated != values[i]) memory.write(used[i], updated);
      }
    }
    result.dirty = write || (entry & pte::kDirty) != 0;
    result.ok = true;
    return result;
  }
  return result;  // not reached: level 1 is always a leaf
}

}  // namespace

WalkResult PageWalker::walk(PhysAddr root, VirtAddr address, AccessType type, bool user_mode,
                            const PagingMode& mode) {
  if (!mode.five_level) return walk_tables<4>(memory_, root, address, type, user_mode, mode);
  return walk_tables<5>(memory_, root, address, type, user_mode, mode);
}

}  // namespace ossim::mmu
