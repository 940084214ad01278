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

}  // namespace

WalkResult PageWalker::walk(PhysAddr root, VirtAddr address, AccessType type, bool user_mode,
                            const PagingMode& mode) {
  WalkResult result;
  const std::uint32_t access_bits = fault::access_bits(type, user_mode);
  const unsigned levels = mode.five_level ? 5 : 4;

  PhysAddr used[5];       // the entries this walk used, to set their Accessed bits on success
  pte::Entry values[5];  // and what they held
  PagePermissions permissions{true, true, true};
  PhysAddr table = root & pte::kAddressMask;
  unsigned shift = kPageShift + 9 * (levels - 1);
  for (unsigned level = levels; level >= 1; --level, shift -= 9) {
    const PhysAddr entry_address = table + ((address >> shift) & (kEntriesPerTable - 1)) * 8;
    const pte::Entry entry = memory_.read<pte::Entry>(entry_address);
    used[levels - level] = entry_address;
    values[levels - level] = entry;
    ++result.entries_read;
    if (!pte::present(entry)) {
      result.error_code = access_bits;
      return result;
    }
    if (has_reserved_bits(entry, level)) {
      result.error_code = access_bits | fault::kProtection | fault::kReservedBit;
      return result;
    }
    permissions.writable = permissions.writable && (entry & pte::kWritable) != 0;
    permissions.user = permissions.user && (entry & pte::kUser) != 0;
    permissions.executable = permissions.executable && (entry & pte::kNoExecute) == 0;

    const bool leaf = level == 1 || (entry & pte::kPageSize) != 0;
    if (!leaf) {
      table = pte::address(entry);
      continue;
    }
    result.page_size = static_cast<PageSize>(shift);
    result.page_base = pte::address(entry) & ~(page_bytes(result.page_size) - 1);
    result.global = mode.global_pages && (entry & pte::kGlobal) != 0;
    result.permissions = permissions;
    if (!permits(permissions, type, user_mode, mode)) {
      result.error_code = access_bits | fault::kProtection;
      return result;
    }
    // The access is allowed: set A on every entry used, and D on the leaf for a write.
    // (Nothing else runs during a walk, so the values read are still what is in memory.)
    for (unsigned i = 0; i < result.entries_read; ++i) {
      pte::Entry updated = values[i] | pte::kAccessed;
      if (i + 1 == result.entries_read && type == AccessType::kWrite) updated |= pte::kDirty;
      if (updated != values[i]) memory_.write(used[i], updated);
    }
    result.dirty = type == AccessType::kWrite || (entry & pte::kDirty) != 0;
    result.ok = true;
    return result;
  }
  return result;  // not reached: level 1 is always a leaf
}

}  // namespace ossim::mmu
