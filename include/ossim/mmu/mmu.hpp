#pragma once

/// @file
/// One CPU's memory-management unit: split L1 TLBs (instructions, data), an optional
/// unified second-level TLB, and the page walker behind them.
///
/// A translation looks in the L1 TLB for the access type, then the second level, then
/// walks the page tables (charging a latency per level read). A hit whose permissions
/// forbid the access raises #PF without a new walk, as on x86; a write through an entry
/// whose page is not yet dirty walks again so the D bit gets set. Every #PF invalidates the
/// faulting address's entries. The CPU forwards its control registers: CR3 loads apply
/// x86's PCID rules, and changing CR4.PGE or CR4.PCIDE flushes everything.

#include <cstdint>
#include <memory>
#include <optional>

#include "ossim/mmu/address.hpp"
#include "ossim/mmu/page_walker.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/mmu/tlb.hpp"
#include "ossim/sim/random.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::mmu {

struct MmuConfig {
  TlbConfig itlb{"itlb", 64, 4, TlbReplacement::kLru};
  TlbConfig dtlb{"dtlb", 64, 4, TlbReplacement::kLru};
  /// A unified second-level TLB consulted on an L1 miss.
  std::optional<TlbConfig> stlb = TlbConfig{"stlb", 1024, 8, TlbReplacement::kLru};
  /// Time to read one paging-structure entry from memory during a walk.
  sim::Tick walk_latency_per_level = 10 * sim::kNanosecond;
  /// Extra time of an L1 miss that hits the second level.
  sim::Tick stlb_hit_latency = 2 * sim::kNanosecond;
};

struct Translation {
  bool ok = false;
  std::uint32_t error_code = 0;  // the #PF error code when !ok
  PhysAddr address = 0;
  sim::Tick latency = 0;  // beyond a TLB hit
  /// Where the byte at `address` lives on the host, when its whole page is RAM (nullptr
  /// for a page that is not, or partly not, backed by RAM).
  std::byte* host = nullptr;
};

struct MmuStats {
  std::uint64_t walks = 0;
  std::uint64_t walk_entries_read = 0;
  std::uint64_t page_faults = 0;
};

/// The kinds of INVPCID (Intel SDM vol. 2).
enum class InvpcidType : std::uint8_t {
  kIndividualAddress = 0,  // one address, one PCID (global entries kept)
  kSingleContext = 1,      // all of one PCID's non-global entries
  kAllIncludingGlobal = 2,
  kAllExceptGlobal = 3,
};

class Mmu {
 public:
  Mmu(PhysicalMemory& memory, const MmuConfig& config, const sim::RandomStream& random);

  /// CR0.PG. With paging off, virtual addresses are physical addresses.
  void set_paging_enabled(bool enabled) { paging_enabled_ = enabled; }
  bool paging_enabled() const { return paging_enabled_; }
  /// The CR0/CR4 controls. Changing global_pages or pcid_enabled flushes every entry.
  void set_mode(const PagingMode& mode, bool pcid_enabled);
  const PagingMode& mode() const { return mode_; }
  bool pcid_enabled() const { return pcid_enabled_; }

  /// A CR3 load. Without PCIDs: all non-global entries are flushed. With PCIDs: bits 0-11
  /// select the PCID, and unless bit 63 is set that PCID's non-global entries are flushed.
  void load_cr3(std::uint64_t cr3);
  PhysAddr root() const { return root_; }
  std::uint16_t pcid() const { return pcid_; }

  void invlpg(VirtAddr address);
  void invpcid(InvpcidType type, std::uint16_t pcid, VirtAddr address);
  void flush_all(bool include_global);

  /// Translates an access. The fast path (an L1 hit that permits the access) is inline.
  Translation translate(VirtAddr address, AccessType type, bool user_mode) {
    if (!paging_enabled_) return identity(address);
    TlbEntry* entry = l1_lookup(address, type);
    if (entry != nullptr && allows(*entry, type, user_mode)) [[likely]] return hit(*entry, address, 0);
    return translate_from(entry, address, type, user_mode);
  }
  /// translate() in two halves, for a caller that handles the common case itself: the
  /// lookup in the L1 TLB for the access type (counted as a hit or a miss; paging must be
  /// on), then the rest of translate() given what the lookup returned (with paging off,
  /// pass nullptr). An entry that allows() the access is a complete translation.
  [[gnu::always_inline]] TlbEntry* l1_lookup(VirtAddr address, AccessType type) {
    return (type == AccessType::kExecute ? itlb_ : dtlb_).lookup(address, pcid_);
  }
  Translation translate_from(TlbEntry* l1_entry, VirtAddr address, AccessType type, bool user_mode);
  /// What a translation that missed the L1 TLB comes to: the L1 entry it filled, whose
  /// page is the translation (and which now serves the access as a hit), or nullptr after
  /// a #PF; and the time it took beyond a TLB hit. Two words, returned in registers.
  struct MissFill {
    TlbEntry* entry;
    sim::Tick latency;
  };
  /// translate_from(nullptr, ...) with paging on, for a caller that uses the L1 entry
  /// itself rather than a Translation (the CPU's miss path). On a #PF, `error_code`
  /// receives the fault's error code and is otherwise left alone.
  [[gnu::always_inline]] MissFill translate_l1_miss(VirtAddr address, AccessType type, bool user_mode,
                                                    std::uint32_t& error_code) {
    return translate_miss(type == AccessType::kExecute ? itlb_ : dtlb_, address, type, user_mode, error_code);
  }
  /// Whether a TLB entry serves the access without going back to the tables.
  static bool allows(const TlbEntry& entry, AccessType type, bool user_mode) {
    return (entry.allowed & TlbEntry::allowed_bit(user_mode, static_cast<unsigned>(type))) != 0;
  }

  Tlb& itlb() { return itlb_; }
  Tlb& dtlb() { return dtlb_; }
  /// nullptr when the MMU has no second level.
  Tlb* stlb() { return stlb_.get(); }
  const MmuStats& stats() const { return stats_; }
  PageWalker& walker() { return walker_; }

 private:
  /// The allowed-access bits of an entry under the current paging mode: a write is served
  /// only once the page is dirty, so that the first write walks and sets D. Looked up in
  /// allowed_by_flags_, which set_mode() fills.
  std::uint8_t allowed_accesses(const TlbEntry& entry) const { return allowed_by_flags_[(entry.flags >> 1) & 15]; }
  /// allowed_accesses() worked out from the rules, for the flags' index into the table.
  std::uint8_t allowed_accesses_by_rule(std::uint8_t flags) const;
  void fill_allowed_table();
  /// The flags of the TLB entry a one-pass walk makes, with `leaf` the leaf entry as the
  /// access leaves it (a read leaves D as it found it).
  std::uint8_t flags_of(const QuickWalk& walk, pte::Entry leaf) const;
  /// The L1 entry a one-pass walk makes for `address` (its allowed bits set), with `leaf`
  /// the leaf entry as the access leaves it.
  TlbEntry entry_from_quick_walk(const QuickWalk& walk, pte::Entry leaf, VirtAddr address) const {
    TlbEntry entry;
    entry.tag = address >> kPageShift;
    entry.page_base = pte::address(leaf);
    entry.pcid = pcid_;
    entry.shift = kPageShift;
    entry.flags = flags_of(walk, leaf);
    entry.allowed = allowed_accesses(entry);
    return entry;
  }
  /// The end of a one-pass walk that serves the access: counts it and fills the STLB and
  /// `l1`, which have just missed.
  MissFill fill_from_quick_walk(Tlb& l1, TlbEntry& entry, sim::Tick latency) {
    count_walk(latency);
    entry.host = memory_.contains(entry.page_base, kPageBytes) ? memory_.host(entry.page_base) : nullptr;
    if (stlb_) stlb_->insert_absent(entry);
    return MissFill{&l1.insert_absent(entry), latency};
  }
  /// A one-pass walk that does not serve the access as read: one whose leaf's A bit (or,
  /// for a write, D bit) the access sets, as the full walk would, and then serves it; a
  /// #PF for a leaf not present; the full walk for the rest.
  MissFill finish_quick_walk(Tlb& l1, const QuickWalk& walk, VirtAddr address, AccessType type, bool user_mode,
                             sim::Tick latency, std::uint32_t& error_code);
  /// Counts a 4-level walk and adds its time to `latency`.
  void count_walk(sim::Tick& latency) {
    ++stats_.walks;
    stats_.walk_entries_read += 4;
    latency += 4 * walk_latency_per_level_;
  }
  /// The rest of a translation whose TLB entry (from L1 or the STLB, found `latency`
  /// after the access began) does not serve the access alone: a #PF, or a walk to set D.
  /// The MissFill functions below report a #PF's error code through `error_code`.
  MissFill retry_hit(const TlbEntry& entry, VirtAddr address, AccessType type, bool user_mode, sim::Tick latency,
                     std::uint32_t& error_code);
  /// translate_l1_miss() for the L1 TLB `l1`. Inline (below the class): its common case,
  /// an STLB miss and a one-pass walk, is the whole of most misses, and the CPU's miss
  /// path is its one caller outside this class; the rare cases are calls.
  MissFill translate_miss(Tlb& l1, VirtAddr address, AccessType type, bool user_mode, std::uint32_t& error_code);
  /// Walks and fills the TLBs. `missed_everywhere`: every TLB level has just missed this
  /// address, so the fills need not look for an entry to replace.
  MissFill walk_and_fill(Tlb& l1, VirtAddr address, AccessType type, bool user_mode, sim::Tick latency,
                         bool missed_everywhere, std::uint32_t& error_code);
  /// A #PF: invalidates the faulting address's entries and counts the fault.
  MissFill fault(VirtAddr address, std::uint32_t error, sim::Tick latency, std::uint32_t& error_code);
  /// fault() when the L1 TLB `l1` and the STLB have just missed the address (and have
  /// not changed since): only the other L1 TLB can hold an entry to invalidate.
  MissFill fault_after_miss(Tlb& l1, VirtAddr address, std::uint32_t error, sim::Tick latency,
                            std::uint32_t& error_code);
  /// A MissFill as a Translation of `address`.
  static Translation translation_of(const MissFill& fill, VirtAddr address, std::uint32_t error_code) {
    if (fill.entry != nullptr) return hit(*fill.entry, address, fill.latency);
    return Translation{false, error_code, 0, fill.latency};
  }
  Translation identity(VirtAddr address);
  static Translation hit(const TlbEntry& entry, VirtAddr address, sim::Tick latency) {
    const std::uint64_t offset = address - (entry.tag << entry.shift);
    return Translation{true, 0, entry.page_base | offset, latency, entry.host_address(address)};
  }
  void invalidate_everywhere(VirtAddr address, std::uint16_t pcid);

  PhysicalMemory& memory_;
  PageWalker walker_;
  Tlb itlb_;
  Tlb dtlb_;
  std::unique_ptr<Tlb> stlb_;
  sim::Tick walk_latency_per_level_;
  sim::Tick stlb_hit_latency_;
  PagingMode mode_;
  bool paging_enabled_ = false;
  bool pcid_enabled_ = false;
  PhysAddr root_ = 0;
  std::uint16_t pcid_ = 0;
  MmuStats stats_;
  // allowed_accesses() for each combination of the writable, user, executable and dirty
  // flags (TlbEntry::flags >> 1), under mode_.
  std::uint8_t allowed_by_flags_[16] = {};
};

// The flags of an entry share bits with the PTE where they can, so that a one-pass walk
// turns into flags with a mask.
static_assert(TlbEntry::kWritable == pte::kWritable && TlbEntry::kUser == pte::kUser);

inline std::uint8_t Mmu::flags_of(const QuickWalk& walk, pte::Entry leaf) const {
  const pte::Entry all_of = walk.upper_all_of & leaf;
  const pte::Entry any_of = walk.upper_any_of | leaf;
  return static_cast<std::uint8_t>((all_of & (pte::kWritable | pte::kUser)) |
                                   ((any_of & pte::kNoExecute) == 0 ? TlbEntry::kExecutable : 0) |
                                   ((leaf & pte::kDirty) != 0 ? TlbEntry::kDirty : 0) |
                                   (mode_.global_pages && (leaf & pte::kGlobal) != 0 ? TlbEntry::kGlobal : 0));
}

[[gnu::always_inline]] inline Mmu::MissFill Mmu::translate_miss(Tlb& l1, VirtAddr address, AccessType type,
                                                                bool user_mode, std::uint32_t& error_code) {
  sim::Tick latency = 0;
  if (stlb_) {
    if (TlbEntry* entry = stlb_->lookup(address, pcid_)) {
      if (!allows(*entry, type, user_mode)) {
        return retry_hit(*entry, address, type, user_mode, stlb_hit_latency_, error_code);
      }
      return MissFill{&l1.insert_absent(*entry), stlb_hit_latency_};
    }
    latency = stlb_hit_latency_;
  }
  // Most walks read four levels that need no A or D bit set, down to a 4 KiB page: one
  // pass (walk_quickly), and the entry built straight from the bits read. The pass's
  // other outcomes (a leaf whose A or D bit the access sets, a leaf not present) are
  // finished out of line; anything else (a protection fault, a large page, a reserved
  // bit, an upper A bit to set, five levels) takes the full walk, which does the same
  // again and more: the pass only read.
  if (!mode_.five_level) [[likely]] {
    if (const std::optional<QuickWalk> walk = walker_.walk_quickly(root_, address)) [[likely]] {
      TlbEntry entry = entry_from_quick_walk(*walk, walk->leaf, address);
      constexpr pte::Entry kLeafBits = pte::kPresent | pte::kAccessed | pte::kReservedAddressMask;
      if ((walk->leaf & kLeafBits) == (pte::kPresent | pte::kAccessed) && allows(entry, type, user_mode)) [[likely]] {
        return fill_from_quick_walk(l1, entry, latency);
      }
      return finish_quick_walk(l1, *walk, address, type, user_mode, latency, error_code);
    }
  }
  return walk_and_fill(l1, address, type, user_mode, latency, true, error_code);
}

}  // namespace ossim::mmu
