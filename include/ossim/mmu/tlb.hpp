#pragma once

/// @file
/// A translation lookaside buffer: a set-associative cache of translations, tagged with
/// the PCID they were made under, holding pages of any size. Which entry a full set gives
/// up is the replacement policy's choice (LRU, FIFO or random). Entries carry the
/// permissions and dirty state of the walk that filled them; like a real TLB, a stale
/// entry keeps being used until the OS invalidates it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ossim/mmu/address.hpp"
#include "ossim/sim/random.hpp"

namespace ossim::mmu {

enum class TlbReplacement : std::uint8_t { kLru, kFifo, kRandom };

struct TlbConfig {
  std::string name = "tlb";
  /// Total entries; entries / ways (the number of sets) must be a power of two.
  unsigned entries = 64;
  unsigned ways = 4;
  TlbReplacement replacement = TlbReplacement::kLru;
};

struct TlbEntry {
  static constexpr std::uint8_t kGlobal = 1 << 0;
  static constexpr std::uint8_t kWritable = 1 << 1;
  static constexpr std::uint8_t kUser = 1 << 2;
  static constexpr std::uint8_t kExecutable = 1 << 3;
  static constexpr std::uint8_t kDirty = 1 << 4;

  std::uint64_t tag = 0;    // virtual page number at the entry's page size: va >> shift
  PhysAddr page_base = 0;   // physical address of the page
  std::byte* host = nullptr;  // the page's bytes on the host, if it is all RAM
  std::uint64_t stamp = 0;  // LRU: last use; FIFO: fill time
  std::uint16_t pcid = 0;
  std::uint8_t shift = 0;   // 12, 21 or 30; 0 marks an empty way
  std::uint8_t flags = 0;
  /// For the MMU: the accesses this entry serves without a walk, one bit per (mode, type)
  /// as allowed_bit() numbers them. Set when the entry is filled.
  std::uint8_t allowed = 0;

  static constexpr std::uint8_t allowed_bit(bool user_mode, unsigned access_type) {
    return static_cast<std::uint8_t>(1u << ((user_mode ? 3u : 0u) + access_type));
  }

  bool valid() const { return shift != 0; }
  bool has(std::uint8_t flag) const { return (flags & flag) != 0; }
  PageSize size() const { return static_cast<PageSize>(shift); }
};

struct TlbStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t fills = 0;
  std::uint64_t evictions = 0;      // valid entries displaced by a fill
  std::uint64_t invalidations = 0;  // entries removed by invlpg/invpcid/flushes
  std::uint64_t flushes = 0;        // whole-TLB or whole-PCID flush operations
};

class Tlb {
 public:
  /// Throws std::invalid_argument for a geometry that cannot be built.
  Tlb(TlbConfig config, sim::RandomStream random);

  /// The entry translating `address` under `pcid` (global entries match any PCID), or
  /// nullptr. Counts a hit or a miss and updates LRU state.
  TlbEntry* lookup(VirtAddr address, std::uint16_t pcid) {
    // Most translations are 4 KiB pages: probe that size first, the others only when the
    // TLB holds any.
    TlbEntry* entry = probe(address, pcid, 12);
    if (entry == nullptr && (resident_[1] | resident_[2]) != 0) [[unlikely]] {
      if (resident_[1] != 0) entry = probe(address, pcid, 21);
      if (entry == nullptr && resident_[2] != 0) entry = probe(address, pcid, 30);
    }
    if (entry == nullptr) [[unlikely]] {
      ++stats_.misses;
      return nullptr;
    }
    ++stats_.hits;
    if (replacement_ == TlbReplacement::kLru) entry->stamp = ++clock_;
    return entry;
  }

  /// Fills an entry (replacing one for the same page and PCID if present).
  void insert(const TlbEntry& entry);
  /// Removes the entries for `address` under `pcid`, and the global ones for it when
  /// `include_global` (invlpg does; an individual-address INVPCID does not).
  void invalidate_page(VirtAddr address, std::uint16_t pcid, bool include_global = true);
  /// Removes `pcid`'s non-global entries (CR3 load with PCIDs, invpcid single-context).
  void flush_pcid(std::uint16_t pcid);
  /// Removes every entry, or every non-global one.
  void flush(bool include_global);

  const TlbStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  const TlbConfig& config() const { return config_; }
  unsigned sets() const { return static_cast<unsigned>(set_mask_ + 1); }
  /// Valid entries now held (for tests).
  unsigned occupancy() const;
  /// The entry in a given set and way (for tests and tools).
  const TlbEntry& entry_at(unsigned set, unsigned way) const { return entries_[set * ways_ + way]; }

 private:
  static constexpr unsigned kSizes = 3;
  static constexpr unsigned kShifts[kSizes] = {12, 21, 30};
  static unsigned size_index(unsigned shift) { return shift == 12 ? 0 : shift == 21 ? 1 : 2; }
  TlbEntry* probe(VirtAddr address, std::uint16_t pcid, unsigned shift) {
    const std::uint64_t tag = address >> shift;
    TlbEntry* way = &entries_[(tag & set_mask_) * ways_];
    for (TlbEntry* const end = way + ways_; way != end; ++way) {
      if (way->tag == tag && way->shift == shift && (way->pcid == pcid || way->has(TlbEntry::kGlobal))) return way;
    }
    return nullptr;
  }
  void remove(TlbEntry& entry);

  TlbConfig config_;
  TlbReplacement replacement_;
  unsigned ways_;
  std::uint64_t set_mask_;
  std::vector<TlbEntry> entries_;
  unsigned resident_[kSizes] = {};  // valid entries per page size: skip sizes with none
  std::uint64_t clock_ = 0;
  sim::RandomStream random_;
  TlbStats stats_;
};

}  // namespace ossim::mmu
