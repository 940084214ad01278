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
  /// Set by the TLB when the entry is filled: host minus the page's virtual address, so
  /// that a hit finds the host address of a byte with one addition.
  std::uintptr_t host_delta = 0;
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
  /// The host address of the byte at `address` in this page (nullptr if it is not RAM).
  std::byte* host_address(VirtAddr address) const {
    return host != nullptr ? reinterpret_cast<std::byte*>(host_delta + address) : nullptr;
  }
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
  /// Always inline, with its 4 KiB probe: it is the whole of a TLB hit, and a
  /// link-time-optimised build otherwise calls it out of line from the load's fast path.
  [[gnu::always_inline]] TlbEntry* lookup(VirtAddr address, std::uint16_t pcid) {
    // Most translations are 4 KiB pages: probe that size first, the others only when the
    // TLB holds any.
    std::size_t way = find(address, pcid, 0);
    if (way == kNone && (resident_[1] | resident_[2]) != 0) [[unlikely]] way = find_larger(address, pcid);
    if (way == kNone) [[unlikely]] {
      ++stats_.misses;
      return nullptr;
    }
    // The clock counts hits and fills together (stats() derives the hits from it), so a
    // hit costs one counter.
    const std::uint64_t now = ++clock_;
    if (replacement_ == TlbReplacement::kLru) stamps_[way] = now;
    return &entries_[way];
  }

  /// Fills an entry (replacing one for the same page and PCID if present). Returns the
  /// entry as filled, with its host_delta set.
  TlbEntry& insert(const TlbEntry& entry);
  /// insert() when a lookup of the entry's page under its PCID has just missed (and the
  /// TLB has not changed since): skips the search for an entry to replace.
  TlbEntry& insert_absent(const TlbEntry& entry) {
    if (ways_ == 4) return insert_absent_in_set<4>(entry);
    if (ways_ == 8) return insert_absent_in_set<8>(entry);
    return insert_absent_in_set<0>(entry);
  }
  /// Removes the entries for `address` under `pcid`, and the global ones for it when
  /// `include_global` (invlpg does; an individual-address INVPCID does not).
  void invalidate_page(VirtAddr address, std::uint16_t pcid, bool include_global = true);
  /// Removes `pcid`'s non-global entries (CR3 load with PCIDs, invpcid single-context).
  void flush_pcid(std::uint16_t pcid);
  /// Removes every entry, or every non-global one.
  void flush(bool include_global);

  const TlbStats& stats() const {
    stats_.hits = clock_ - clock_at_reset_ - stats_.fills;
    return stats_;
  }
  void reset_stats() {
    stats_ = {};
    clock_at_reset_ = clock_;
  }
  const TlbConfig& config() const { return config_; }
  unsigned sets() const { return static_cast<unsigned>(set_mask_ + 1); }
  /// Valid entries now held (for tests).
  unsigned occupancy() const;
  /// The entry in a given set and way (for tests and tools).
  const TlbEntry& entry_at(unsigned set, unsigned way) const { return entries_[set * ways_ + way]; }

 private:
  static constexpr unsigned kSizes = 3;
  static constexpr unsigned kShifts[kSizes] = {12, 21, 30};
  static constexpr std::size_t kNone = ~std::size_t{0};
  /// 0, 1 and 2 for the shifts 12, 21 and 30 (whose eighths, rounded down, are 1, 2 and 3).
  static unsigned size_index(unsigned shift) { return (shift >> 3) - 1; }
  /// What a way holds, in one word: the tag and the page size (0 for an empty way).
  static std::uint64_t key_of(std::uint64_t tag, unsigned size) { return (tag << 2) | (size + 1); }
  std::size_t first_way(std::uint64_t tag) const { return static_cast<std::size_t>(tag & set_mask_) * ways_; }
  /// The way holding a match for `address` at the page size with index `size`, or kNone.
  /// The keys of a set share a cache line or two; an entry is read only on a key match.
  /// The common 4- and 8-way sets compare their keys unrolled.
  [[gnu::always_inline]] std::size_t find(VirtAddr address, std::uint16_t pcid, unsigned size) const {
    const std::uint64_t tag = address >> kShifts[size];
    const std::uint64_t key = key_of(tag, size);
    if (ways_ == 4) return find_in_set<4>(key, (tag & set_mask_) * 4, pcid);
    if (ways_ == 8) return find_in_set<8>(key, (tag & set_mask_) * 8, pcid);
    return find_in_set_of_any_size(key, first_way(tag), pcid);
  }
  /// lookup()'s probe of the 2 MiB and 1 GiB sizes (out of line: rare).
  std::size_t find_larger(VirtAddr address, std::uint16_t pcid) const;
  template <unsigned ways>
  [[gnu::always_inline]] std::size_t find_in_set(std::uint64_t key, std::size_t first, std::uint16_t pcid) const {
    const std::uint64_t* const keys = &keys_[first];
#pragma GCC unroll 8
    for (unsigned way = 0; way < ways; ++way) {
      if (keys[way] == key && matches(entries_[first + way], pcid)) return first + way;
    }
    return kNone;
  }
  std::size_t find_in_set_of_any_size(std::uint64_t key, std::size_t first, std::uint16_t pcid) const;
  static bool matches(const TlbEntry& entry, std::uint16_t pcid) {
    return entry.pcid == pcid || entry.has(TlbEntry::kGlobal);
  }
  /// insert_absent() for a set of `ways` ways (0: any number).
  template <unsigned ways>
  TlbEntry& insert_absent_in_set(const TlbEntry& entry);
  /// The end of an insert_absent() into the full set starting at way `set`, under random
  /// replacement.
  TlbEntry& evict_at_random(std::size_t set, const TlbEntry& entry);
  /// Fills `way` with `entry`, whose key is `key`, whether or not the way holds an entry.
  TlbEntry& fill(std::size_t way, const TlbEntry& entry, std::uint64_t key);
  /// Fills the empty `way`.
  TlbEntry& occupy(std::size_t way, const TlbEntry& entry, std::uint64_t key);
  /// Fills `way`, which holds an entry: the old one leaves the counts, and its PCID's list
  /// unless the new entry has the same PCID (a list's order does not matter, so the way
  /// keeps its place, which saves an unlink and a link on most evictions).
  TlbEntry& replace(std::size_t way, const TlbEntry& entry, std::uint64_t key);
  /// replace() when the new entry differs from the old one in page size or PCID.
  TlbEntry& replace_moving(std::size_t way, const TlbEntry& entry, std::uint64_t key);
  /// What every fill does once the way is on the right PCID list and counted in
  /// resident_: the entry, its key and stamp, the fill count.
  TlbEntry& store(std::size_t way, const TlbEntry& entry, std::uint64_t key);
  void remove(std::size_t way);
  /// The ways of each PCID form a doubly linked list (through the two arrays below), so
  /// that flushing one PCID visits its own entries only: with thousands of address spaces
  /// sharing a TLB, a scan of every way on each CR3 load would dominate.
  void link(std::size_t way, std::uint16_t pcid);
  void unlink(std::size_t way);
  static constexpr std::uint32_t kNoWay = ~std::uint32_t{0};
  static constexpr unsigned kPcids = 4096;

  TlbConfig config_;
  TlbReplacement replacement_;
  unsigned ways_;
  std::uint64_t set_mask_;
  // Per way, in three parallel arrays: the key a lookup compares, the replacement stamp
  // (LRU: last use; FIFO: fill time; 0: empty) and the entry itself.
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint64_t> stamps_;
  std::vector<TlbEntry> entries_;
  std::vector<std::uint32_t> pcid_next_;  // per way: the next way of the same PCID
  std::vector<std::uint32_t> pcid_prev_;
  std::vector<std::uint32_t> pcid_head_;  // per PCID: its first way, or kNoWay
  unsigned resident_[kSizes] = {};  // valid entries per page size: skip sizes with none
  std::uint64_t clock_ = 0;         // counts hits and fills
  std::uint64_t clock_at_reset_ = 0;
  sim::RandomStream random_;
  mutable TlbStats stats_;  // hits are filled in by stats()
};

}  // namespace ossim::mmu
