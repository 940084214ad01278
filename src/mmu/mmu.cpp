#include "ossim/mmu/mmu.hpp"

namespace ossim::mmu {

namespace {

constexpr std::uint64_t kCr3NoFlush = std::uint64_t{1} << 63;
constexpr std::uint64_t kCr3PcidMask = 0xFFF;

TlbEntry entry_from_walk(VirtAddr address, const WalkResult& walk, std::uint16_t pcid) {
  TlbEntry entry;
  entry.shift = static_cast<std::uint8_t>(page_shift(walk.page_size));
  entry.tag = address >> entry.shift;
  entry.page_base = walk.page_base;
  entry.pcid = pcid;
  entry.flags = static_cast<std::uint8_t>((walk.global ? TlbEntry::kGlobal : 0) |
                                          (walk.permissions.writable ? TlbEntry::kWritable : 0) |
                                          (walk.permissions.user ? TlbEntry::kUser : 0) |
                                          (walk.permissions.executable ? TlbEntry::kExecutable : 0) |
                                          (walk.dirty ? TlbEntry::kDirty : 0));
  return entry;
}

}  // namespace

std::uint8_t Mmu::allowed_accesses_by_rule(std::uint8_t flags) const {
  // The rules of PageWalker::permits, for all six (mode, type) pairs at once.
  const bool writable = (flags & TlbEntry::kWritable) != 0;
  const bool user_page = (flags & TlbEntry::kUser) != 0;
  const bool executable = (flags & TlbEntry::kExecutable) != 0;
  const bool dirty = (flags & TlbEntry::kDirty) != 0;
  const auto bit = [](bool user_mode, AccessType type) {
    return TlbEntry::allowed_bit(user_mode, static_cast<unsigned>(type));
  };
  std::uint8_t allowed = bit(false, AccessType::kRead);
  if (dirty && (writable || !mode_.write_protect)) allowed |= bit(false, AccessType::kWrite);
  if (executable && !(mode_.smep && user_page)) allowed |= bit(false, AccessType::kExecute);
  if (user_page) {
    allowed |= bit(true, AccessType::kRead);
    if (dirty && writable) allowed |= bit(true, AccessType::kWrite);
    if (executable) allowed |= bit(true, AccessType::kExecute);
  }
  return allowed;
}

void Mmu::fill_allowed_table() {
  for (unsigned index = 0; index < 16; ++index) {
    allowed_by_flags_[index] = allowed_accesses_by_rule(static_cast<std::uint8_t>(index << 1));
  }
}

Mmu::Mmu(PhysicalMemory& memory, const MmuConfig& config, const sim::RandomStream& random)
    : memory_(memory),
      walker_(memory),
      itlb_(config.itlb, random.derive(config.itlb.name)),
      dtlb_(config.dtlb, random.derive(config.dtlb.name)),
      stlb_(config.stlb ? std::make_unique<Tlb>(*config.stlb, random.derive(config.stlb->name)) : nullptr),
      walk_latency_per_level_(config.walk_latency_per_level),
      stlb_hit_latency_(config.stlb_hit_latency) {
  fill_allowed_table();
}

void Mmu::set_mode(const PagingMode& mode, bool pcid_enabled) {
  // Entries carry permissions worked out under the old WP and SMEP settings, so those
  // changes flush too.
  const bool flush = mode.global_pages != mode_.global_pages || pcid_enabled != pcid_enabled_ ||
                     mode.five_level != mode_.five_level || mode.write_protect != mode_.write_protect ||
                     mode.smep != mode_.smep;
  mode_ = mode;
  pcid_enabled_ = pcid_enabled;
  fill_allowed_table();
  if (!pcid_enabled_) pcid_ = 0;
  if (flush) flush_all(true);
}

void Mmu::load_cr3(std::uint64_t cr3) {
  root_ = cr3 & pte::kAddressMask;
  if (!pcid_enabled_) {
    // Without PCIDs every entry is tagged 0, so this drops every non-global entry (what
    // a CR3 load does) while visiting only the entries held.
    pcid_ = 0;
    itlb_.flush_pcid(0);
    dtlb_.flush_pcid(0);
    if (stlb_) stlb_->flush_pcid(0);
    return;
  }
  pcid_ = static_cast<std::uint16_t>(cr3 & kCr3PcidMask);
  if ((cr3 & kCr3NoFlush) == 0) {
    itlb_.flush_pcid(pcid_);
    dtlb_.flush_pcid(pcid_);
    if (stlb_) stlb_->flush_pcid(pcid_);
  }
}

void Mmu::invalidate_everywhere(VirtAddr address, std::uint16_t pcid) {
  itlb_.invalidate_page(address, pcid);
  dtlb_.invalidate_page(address, pcid);
  if (stlb_) stlb_->invalidate_page(address, pcid);
}

void Mmu::invlpg(VirtAddr address) { invalidate_everywhere(address, pcid_); }

void Mmu::invpcid(InvpcidType type, std::uint16_t pcid, VirtAddr address) {
  switch (type) {
    case InvpcidType::kIndividualAddress:
      itlb_.invalidate_page(address, pcid, false);
      dtlb_.invalidate_page(address, pcid, false);
      if (stlb_) stlb_->invalidate_page(address, pcid, false);
      break;
    case InvpcidType::kSingleContext:
      itlb_.flush_pcid(pcid);
      dtlb_.flush_pcid(pcid);
      if (stlb_) stlb_->flush_pcid(pcid);
      break;
    case InvpcidType::kAllIncludingGlobal: flush_all(true); break;
    case InvpcidType::kAllExceptGlobal: flush_all(false); break;
  }
}

void Mmu::flush_all(bool include_global) {
  itlb_.flush(include_global);
  dtlb_.flush(include_global);
  if (stlb_) stlb_->flush(include_global);
}

Translation Mmu::identity(VirtAddr address) {
  const PhysAddr page = address & ~(kPageBytes - 1);
  std::byte* host = memory_.contains(page, kPageBytes) ? memory_.host(address) : nullptr;
  return Translation{true, 0, address, 0, host};
}

Mmu::MissFill Mmu::fault(VirtAddr address, std::uint32_t error, sim::Tick latency, std::uint32_t& error_code) {
  // Intel SDM 4.10.4.1: a page fault invalidates the TLB entries for the faulting address.
  invalidate_everywhere(address, pcid_);
  ++stats_.page_faults;
  error_code = error;
  return MissFill{nullptr, latency};
}

Mmu::MissFill Mmu::fault_after_miss(Tlb& l1, VirtAddr address, std::uint32_t error, sim::Tick latency,
                                    std::uint32_t& error_code) {
  // As fault(), but the L1 TLB for the access type and the STLB have just been searched
  // for this address under pcid_ (global entries included) and hold no entry for it.
  (&l1 == &dtlb_ ? itlb_ : dtlb_).invalidate_page(address, pcid_);
  ++stats_.page_faults;
  error_code = error;
  return MissFill{nullptr, latency};
}

Mmu::MissFill Mmu::finish_quick_walk(Tlb& l1, const QuickWalk& walk, VirtAddr address, AccessType type,
                                     bool user_mode, sim::Tick latency, std::uint32_t& error_code) {
  if ((walk.leaf & pte::kPresent) == 0) {
    // Not present: #PF with P clear, after reading all four levels.
    count_walk(latency);
    return fault_after_miss(l1, address, fault::access_bits(type, user_mode), latency, error_code);
  }
  if ((walk.leaf & pte::kReservedAddressMask) == 0) {
    // The leaf as this access leaves it: A set, and D too for a write. If that serves the
    // access, the bits go to memory (the upper levels' A bits are set already).
    const pte::Entry leaf = walk.leaf | pte::kAccessed | (type == AccessType::kWrite ? pte::kDirty : 0);
    TlbEntry entry = entry_from_quick_walk(walk, leaf, address);
    if (allows(entry, type, user_mode)) {
      if (leaf != walk.leaf) memory_.write(walk.leaf_address, leaf);
      return fill_from_quick_walk(l1, entry, latency);
    }
  }
  return walk_and_fill(l1, address, type, user_mode, latency, true, error_code);
}

Mmu::MissFill Mmu::retry_hit(const TlbEntry& entry, VirtAddr address, AccessType type, bool user_mode,
                             sim::Tick latency, std::uint32_t& error_code) {
  const PagePermissions permissions{entry.has(TlbEntry::kWritable), entry.has(TlbEntry::kUser),
                                    entry.has(TlbEntry::kExecutable)};
  if (!PageWalker::permits(permissions, type, user_mode, mode_)) {
    return fault(address, fault::access_bits(type, user_mode) | fault::kProtection, latency, error_code);
  }
  // A permitted write to a page whose entry is not dirty: walk again to set D.
  Tlb& l1 = type == AccessType::kExecute ? itlb_ : dtlb_;
  return walk_and_fill(l1, address, type, user_mode, latency, false, error_code);
}

Translation Mmu::translate_from(TlbEntry* l1_entry, VirtAddr address, AccessType type, bool user_mode) {
  if (!paging_enabled_) return identity(address);
  if (l1_entry != nullptr && allows(*l1_entry, type, user_mode)) return hit(*l1_entry, address, 0);
  std::uint32_t error_code = 0;
  const MissFill fill = l1_entry == nullptr ? translate_l1_miss(address, type, user_mode, error_code)
                                            : retry_hit(*l1_entry, address, type, user_mode, 0, error_code);
  return translation_of(fill, address, error_code);
}

Mmu::MissFill Mmu::walk_and_fill(Tlb& l1, VirtAddr address, AccessType type, bool user_mode, sim::Tick latency,
                                 bool missed_everywhere, std::uint32_t& error_code) {
  const WalkResult walk = walker_.walk(root_, address, type, user_mode, mode_);
  ++stats_.walks;
  stats_.walk_entries_read += walk.entries_read;
  latency += walk.entries_read * walk_latency_per_level_;
  if (!walk.ok) {
    return missed_everywhere ? fault_after_miss(l1, address, walk.error_code, latency, error_code)
                             : fault(address, walk.error_code, latency, error_code);
  }
  TlbEntry entry = entry_from_walk(address, walk, pcid_);
  entry.allowed = allowed_accesses(entry);
  const std::uint64_t bytes = page_bytes(walk.page_size);
  entry.host = memory_.contains(entry.page_base, bytes) ? memory_.host(entry.page_base) : nullptr;
  if (missed_everywhere) {
    if (stlb_) stlb_->insert_absent(entry);
    return MissFill{&l1.insert_absent(entry), latency};
  }
  if (stlb_) stlb_->insert(entry);
  return MissFill{&l1.insert(entry), latency};
}

}  // namespace ossim::mmu
