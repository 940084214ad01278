#include "ossim/mmu/page_table.hpp"

#include <new>

namespace ossim::mmu {

namespace {

unsigned level_of(PageSize size) {
  switch (size) {
    case PageSize::k4K: return 1;
    case PageSize::k2M: return 2;
    case PageSize::k1G: return 3;
  }
  return 1;
}

constexpr unsigned shift_of_level(unsigned level) { return kPageShift + 9 * (level - 1); }

std::uint64_t index_at(VirtAddr address, unsigned level) {
  return (address >> shift_of_level(level)) & (kEntriesPerTable - 1);
}

}  // namespace

PageTable::PageTable(PhysicalMemory& memory, FrameAllocator& frames, unsigned levels)
    : memory_(memory), frames_(frames), levels_(levels == 5 ? 5 : 4) {
  auto frame = frames_.allocate_zeroed(0);
  if (!frame) throw std::bad_alloc();
  memory_.frame(*frame).flags |= Frame::kPageTable;
  root_ = address_of(*frame);
  table_frames_ = 1;
}

PageTable::~PageTable() { free_tree(root_, levels_); }

void PageTable::free_tree(PhysAddr table, unsigned level) {
  if (level > 1) {
    for (unsigned i = 0; i < kEntriesPerTable; ++i) {
      const pte::Entry entry = memory_.read<pte::Entry>(table + i * 8);
      if (pte::present(entry) && (entry & pte::kPageSize) == 0) free_tree(pte::address(entry), level - 1);
    }
  }
  memory_.frame(frame_of(table)).flags &= static_cast<std::uint16_t>(~Frame::kPageTable);
  frames_.free(frame_of(table), 0);
}

PhysAddr PageTable::create_path(VirtAddr address, unsigned target_level, bool user) {
  PhysAddr table = root_;
  for (unsigned level = levels_; level > target_level; --level) {
    const PhysAddr entry_address = table + index_at(address, level) * 8;
    pte::Entry entry = memory_.read<pte::Entry>(entry_address);
    if (!pte::present(entry)) {
      const FrameNumber frame = *frames_.allocate_zeroed(0);
      memory_.frame(frame).flags |= Frame::kPageTable;
      ++table_frames_;
      entry = address_of(frame) | pte::kPresent | pte::kWritable | (user ? pte::kUser : 0);
      memory_.write(entry_address, entry);
    } else if (user && (entry & pte::kUser) == 0) {
      memory_.write(entry_address, entry | pte::kUser);
    }
    table = pte::address(entry);
  }
  return table + index_at(address, target_level) * 8;
}

bool PageTable::map(VirtAddr address, PhysAddr page_base, PageSize size, pte::Entry flags) {
  const std::uint64_t mask = page_bytes(size) - 1;
  if ((address & mask) != 0 || (page_base & mask) != 0) return false;
  if (!is_canonical(address, levels_ == 5 ? 57 : 48)) return false;
  const pte::Entry entry = (flags & ~pte::kAddressMask) | page_base | pte::kPresent;
  if (size == PageSize::k4K) {
    // The common case: a page in the 2 MiB block of the last one, whose path admits any
    // mapping.
    if (const PhysAddr slot = remembered_leaf_slot(address)) {
      if (pte::present(read_table_entry(slot))) return false;
      write_table_entry(slot, entry);
      return true;
    }
  }
  return map_by_walk(address, size, size == PageSize::k4K ? entry : entry | pte::kPageSize);
}

bool PageTable::map_by_walk(VirtAddr address, PageSize size, pte::Entry entry) {
  const unsigned level = level_of(size);
  const bool user = (entry & pte::kUser) != 0;
  // Check everything before changing anything: the slot must be free, no large page may be
  // in the way, and there must be frames for the tables still missing.
  unsigned missing_tables = 0;
  bool needs_user_bit = false;  // some entry on the way lacks the user bit
  PhysAddr table = root_;
  PhysAddr entry_address = 0;  // of the last entry on the way
  for (unsigned l = levels_; l > level; --l) {
    entry_address = table + index_at(address, l) * 8;
    const pte::Entry on_the_way = memory_.read<pte::Entry>(entry_address);
    if (!pte::present(on_the_way)) {
      missing_tables = l - level;
      break;
    }
    if ((on_the_way & pte::kPageSize) != 0) return false;
    needs_user_bit |= (on_the_way & pte::kUser) == 0;
    table = pte::address(on_the_way);
  }
  if (missing_tables == 0) {
    const PhysAddr slot = table + index_at(address, level) * 8;
    if (pte::present(memory_.read<pte::Entry>(slot))) {
      return false;  // already mapped, or a table sits where a large page would go
    }
    if (level == 1 && !needs_user_bit) remember_leaf_table(address, entry_address);
    if (!user || !needs_user_bit) {
      // Every table exists and already admits the mapping.
      memory_.write(slot, entry);
      return true;
    }
  }
  if (frames_.free_frames() < missing_tables) return false;
  memory_.write(create_path(address, level, user), entry);
  return true;
}

void PageTable::remember_leaf_table(VirtAddr address, PhysAddr pde_address) const {
  leaf_table_block_ = address >> kLeafTableShift;
  leaf_table_pde_ = pde_address;
}

std::optional<Mapping> PageTable::lookup(VirtAddr address) const {
  const auto leaf = [](pte::Entry entry, PhysAddr entry_address, unsigned level) {
    Mapping mapping;
    mapping.size = static_cast<PageSize>(shift_of_level(level));
    mapping.page_base = pte::address(entry) & ~(page_bytes(mapping.size) - 1);
    mapping.entry = entry;
    mapping.entry_address = entry_address;
    return mapping;
  };
  if (const PhysAddr slot = remembered_leaf_slot(address)) {
    const pte::Entry entry = read_table_entry(slot);
    if (!pte::present(entry)) return std::nullopt;
    return leaf(entry, slot, 1);
  }
  PhysAddr table = root_;
  bool user_path = true;
  for (unsigned level = levels_; level >= 1; --level) {
    const PhysAddr entry_address = table + index_at(address, level) * 8;
    const pte::Entry entry = memory_.read<pte::Entry>(entry_address);
    if (!pte::present(entry)) return std::nullopt;
    if (level == 1 || ((entry & pte::kPageSize) != 0 && level <= 3)) return leaf(entry, entry_address, level);
    user_path = user_path && (entry & pte::kUser) != 0;
    if (level == 2 && user_path) remember_leaf_table(address, entry_address);
    table = pte::address(entry);
  }
  return std::nullopt;
}

bool PageTable::slot_empty(VirtAddr address, PageSize size) const {
  PhysAddr table = root_;
  for (unsigned level = levels_; level >= level_of(size); --level) {
    const pte::Entry entry = memory_.read<pte::Entry>(table + index_at(address, level) * 8);
    if (!pte::present(entry)) return true;
    if (level == level_of(size) || (entry & pte::kPageSize) != 0) return false;
    table = pte::address(entry);
  }
  return false;
}

bool PageTable::split_large_page(VirtAddr address) {
  const auto mapping = lookup(address);
  if (!mapping || mapping->size != PageSize::k2M) return false;
  const auto frame = frames_.allocate(0);
  if (!frame) return false;
  memory_.frame(*frame).flags |= Frame::kPageTable;
  ++table_frames_;
  const PhysAddr table = address_of(*frame);
  const pte::Entry flags = mapping->entry & ~pte::kAddressMask & ~pte::kPageSize;
  for (unsigned i = 0; i < kEntriesPerTable; ++i) {
    memory_.write<pte::Entry>(table + i * 8, (mapping->page_base + i * kPageBytes) | flags);
  }
  // Upper-level entries are permissive (see the file comment): the leaves decide.
  memory_.write<pte::Entry>(mapping->entry_address,
                            table | pte::kPresent | pte::kWritable | (mapping->entry & pte::kUser));
  return true;
}

std::optional<pte::Entry> PageTable::unmap(VirtAddr address) {
  auto mapping = lookup(address);
  if (!mapping) return std::nullopt;
  memory_.write<pte::Entry>(mapping->entry_address, 0);
  return mapping->entry;
}

void PageTable::walk_leaf_slots(VirtAddr begin, VirtAddr end,
                                const std::function<void(VirtAddr, pte::Entry, PhysAddr, unsigned)>& visit) const {
  // Addresses are handled in their canonical 48/57-bit form; `base` is the first address
  // the table at `level` covers.
  const unsigned top_shift = shift_of_level(levels_) + 9;
  const auto canonical = [&](VirtAddr a) {
    const unsigned bits = top_shift;
    return static_cast<VirtAddr>(static_cast<std::int64_t>(a << (64 - bits)) >> (64 - bits));
  };
  const std::function<void(PhysAddr, unsigned, VirtAddr)> walk = [&](PhysAddr table, unsigned level, VirtAddr base) {
    const unsigned shift = shift_of_level(level);
    for (unsigned index = 0; index < kEntriesPerTable; ++index) {
      const VirtAddr first = canonical(base + (static_cast<VirtAddr>(index) << shift));
      const VirtAddr last = first + ((VirtAddr{1} << shift) - 1);
      if (last < begin || first >= end) continue;
      const PhysAddr entry_address = table + index * 8;
      const pte::Entry entry = memory_.read<pte::Entry>(entry_address);
      if (entry == 0) continue;
      if (level == 1) {
        visit(first, entry, entry_address, level);
        continue;
      }
      if (!pte::present(entry)) continue;
      if ((entry & pte::kPageSize) != 0 && level <= 3) {
        visit(first, entry, entry_address, level);
        continue;
      }
      walk(pte::address(entry), level - 1, first);
    }
  };
  if (begin >= end) return;
  walk(root_, levels_, 0);
}

void PageTable::visit_leaves(VirtAddr begin, VirtAddr end,
                             const std::function<void(VirtAddr, const Mapping&)>& visit) const {
  walk_leaf_slots(begin, end, [&](VirtAddr address, pte::Entry entry, PhysAddr entry_address, unsigned level) {
    if (!pte::present(entry)) return;
    Mapping mapping;
    mapping.size = static_cast<PageSize>(shift_of_level(level));
    mapping.page_base = pte::address(entry) & ~(page_bytes(mapping.size) - 1);
    mapping.entry = entry;
    mapping.entry_address = entry_address;
    visit(address, mapping);
  });
}

void PageTable::visit_absent(VirtAddr begin, VirtAddr end,
                             const std::function<void(VirtAddr, pte::Entry)>& visit) const {
  walk_leaf_slots(begin, end, [&](VirtAddr address, pte::Entry entry, PhysAddr, unsigned level) {
    if (level == 1 && !pte::present(entry)) visit(address, entry);
  });
}

PageTable::WalkPrefetch PageTable::start_prefetch_walk(VirtAddr address) const {
  const PhysAddr entry = root_ + index_at(address, levels_) * 8;
  __builtin_prefetch(memory_.host(entry), 1);
  return {entry, levels_};
}

void PageTable::step_prefetch_walk(VirtAddr address, WalkPrefetch& walk) const {
  if (walk.level == 0) return;
  const unsigned level = walk.level;
  walk.level = 0;
  // Every entry on the way was read from a table this page table allocated, so only a
  // leaf's frame (data) can lie outside memory.
  const pte::Entry entry = memory_.read<pte::Entry>(walk.entry);
  if (!pte::present(entry)) return;
  PhysAddr next = 0;
  if (level == 1 || ((entry & pte::kPageSize) != 0 && level <= 3)) {
    const std::uint64_t page_mask = (std::uint64_t{1} << shift_of_level(level)) - 1;
    next = (pte::address(entry) & ~page_mask) + (address & page_mask);
  } else {
    next = pte::address(entry) + index_at(address, level - 1) * 8;
    walk = {next, level - 1};
  }
  if (memory_.contains(next)) __builtin_prefetch(memory_.host(next), 1);
}

PhysAddr PageTable::leaf_slot(VirtAddr address) const {
  if (const PhysAddr slot = remembered_leaf_slot(address)) return slot;
  PhysAddr table = root_;
  bool user_path = true;
  for (unsigned level = levels_; level > 1; --level) {
    const PhysAddr entry_address = table + index_at(address, level) * 8;
    const pte::Entry entry = memory_.read<pte::Entry>(entry_address);
    if (!pte::present(entry) || (entry & pte::kPageSize) != 0) return 0;
    user_path = user_path && (entry & pte::kUser) != 0;
    if (level == 2 && user_path) remember_leaf_table(address, entry_address);
    table = pte::address(entry);
  }
  return table + index_at(address, 1) * 8;
}

bool PageTable::set_absent(VirtAddr address, pte::Entry entry) {
  if (entry == 0 || pte::present(entry)) return false;
  if ((address & (kPageBytes - 1)) != 0 || !is_canonical(address, levels_ == 5 ? 57 : 48)) return false;
  // Check before changing anything, as map() does.
  unsigned missing_tables = 0;
  PhysAddr table = root_;
  for (unsigned level = levels_; level > 1; --level) {
    const pte::Entry upper = memory_.read<pte::Entry>(table + index_at(address, level) * 8);
    if (!pte::present(upper)) {
      missing_tables = level - 1;
      break;
    }
    if ((upper & pte::kPageSize) != 0) return false;
    table = pte::address(upper);
  }
  if (missing_tables == 0 && pte::present(memory_.read<pte::Entry>(table + index_at(address, 1) * 8))) return false;
  if (frames_.free_frames() < missing_tables) return false;
  memory_.write(create_path(address, 1, true), entry);
  return true;
}

std::optional<pte::Entry> PageTable::absent_entry(VirtAddr address) const {
  const PhysAddr slot = leaf_slot(address);
  if (slot == 0) return std::nullopt;
  const pte::Entry entry = memory_.read<pte::Entry>(slot);
  if (entry == 0 || pte::present(entry)) return std::nullopt;
  return entry;
}

std::optional<pte::Entry> PageTable::clear_absent(VirtAddr address) {
  const PhysAddr slot = leaf_slot(address);
  if (slot == 0) return std::nullopt;
  const pte::Entry entry = memory_.read<pte::Entry>(slot);
  if (entry == 0 || pte::present(entry)) return std::nullopt;
  memory_.write<pte::Entry>(slot, 0);
  return entry;
}

bool PageTable::update(VirtAddr address, pte::Entry set_bits, pte::Entry clear_bits) {
  auto mapping = lookup(address);
  if (!mapping) return false;
  memory_.write(mapping->entry_address, (mapping->entry | set_bits) & ~clear_bits);
  return true;
}

}  // namespace ossim::mmu
