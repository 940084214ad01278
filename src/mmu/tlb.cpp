#include "ossim/mmu/tlb.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <utility>

namespace ossim::mmu {

namespace {

/// A way and its replacement stamp, for the search of the oldest way in a set of any size.
struct Candidate {
  std::uint64_t stamp;
  std::size_t way;
};

/// The first way with the smallest stamp among the `count` ways from way `first` of a set
/// of `n` ways (n a power of two), packed as stamp * n + way: one unsigned minimum then
/// orders by stamp, and on equal stamps (only the zeros of empty ways are equal) by way.
/// A tournament of minimums, so the comparisons form a tree of depth log2(n) of
/// conditional moves rather than a chain of branches (which way is oldest is not
/// predictable). Precondition: stamps below 2^64 / n (the clock that makes them counts
/// the TLB's hits and fills: 2^61 of them take centuries at a billion a second).
template <std::size_t n, std::size_t first = 0, std::size_t count = n>
std::uint64_t oldest_way(const std::uint64_t* stamps) {
  if constexpr (count == 1) {
    return stamps[first] * n + first;
  } else {
    return std::min(oldest_way<n, first, count / 2>(stamps), oldest_way<n, first + count / 2, count / 2>(stamps));
  }
}

}  // namespace

Tlb::Tlb(TlbConfig config, sim::RandomStream random)
    : config_(std::move(config)), replacement_(config_.replacement), ways_(config_.ways),
      random_(random) {
  if (config_.ways == 0 || config_.entries == 0 || config_.entries % config_.ways != 0) {
    throw std::invalid_argument(config_.name + ": entries must be a positive multiple of ways");
  }
  const unsigned sets = config_.entries / config_.ways;
  if (!std::has_single_bit(sets)) {
    throw std::invalid_argument(config_.name + ": entries / ways must be a power of two");
  }
  set_mask_ = sets - 1;
  keys_.assign(config_.entries, 0);
  stamps_.assign(config_.entries, 0);
  entries_.resize(config_.entries);
  pcid_next_.assign(config_.entries, kNoWay);
  pcid_prev_.assign(config_.entries, kNoWay);
  pcid_head_.assign(kPcids, kNoWay);
}

// link and unlink: inline into the fills, moves and removals that use them.
[[gnu::always_inline]] inline void Tlb::link(std::size_t way, std::uint16_t pcid) {
  std::uint32_t& head = pcid_head_[pcid % kPcids];
  pcid_prev_[way] = kNoWay;
  pcid_next_[way] = head;
  if (head != kNoWay) pcid_prev_[head] = static_cast<std::uint32_t>(way);
  head = static_cast<std::uint32_t>(way);
}

[[gnu::always_inline]] inline void Tlb::unlink(std::size_t way) {
  const std::uint32_t next = pcid_next_[way];
  const std::uint32_t prev = pcid_prev_[way];
  if (prev != kNoWay) {
    pcid_next_[prev] = next;
  } else {
    pcid_head_[entries_[way].pcid % kPcids] = next;
  }
  if (next != kNoWay) pcid_prev_[next] = prev;
}

// store and replace are on every fill's path: inline them there.
[[gnu::always_inline]] inline TlbEntry& Tlb::store(std::size_t way, const TlbEntry& entry, std::uint64_t key) {
  TlbEntry& target = entries_[way];
  target = entry;
  target.host_delta = reinterpret_cast<std::uintptr_t>(entry.host) - (entry.tag << entry.shift);
  keys_[way] = key;
  stamps_[way] = ++clock_;
  ++stats_.fills;
  return target;
}

[[gnu::always_inline]] inline TlbEntry& Tlb::replace(std::size_t way, const TlbEntry& entry, std::uint64_t key) {
  // Most evictions keep the page size and the PCID, and then the counts and the lists stay
  // as they are: the other ones go out of line, so that this needs few registers.
  if (((keys_[way] ^ key) & 3) != 0 || entries_[way].pcid != entry.pcid) [[unlikely]] {
    return replace_moving(way, entry, key);
  }
  return store(way, entry, key);
}

[[gnu::noinline]] TlbEntry& Tlb::replace_moving(std::size_t way, const TlbEntry& entry, std::uint64_t key) {
  --resident_[(keys_[way] & 3) - 1];
  ++resident_[(key & 3) - 1];
  if (entries_[way].pcid != entry.pcid) {
    unlink(way);
    link(way, entry.pcid);
  }
  return store(way, entry, key);
}

// Out of line for the same reason as replace_moving.
[[gnu::noinline]] TlbEntry& Tlb::occupy(std::size_t way, const TlbEntry& entry, std::uint64_t key) {
  link(way, entry.pcid);
  ++resident_[(key & 3) - 1];
  return store(way, entry, key);
}

TlbEntry& Tlb::fill(std::size_t way, const TlbEntry& entry, std::uint64_t key) {
  return keys_[way] != 0 ? replace(way, entry, key) : occupy(way, entry, key);
}

void Tlb::remove(std::size_t way) {
  --resident_[(keys_[way] & 3) - 1];
  unlink(way);
  entries_[way].shift = 0;
  keys_[way] = 0;
  stamps_[way] = 0;
  ++stats_.invalidations;
}

std::size_t Tlb::find_larger(VirtAddr address, std::uint16_t pcid) const {
  std::size_t way = kNone;
  if (resident_[1] != 0) way = find(address, pcid, 1);
  if (way == kNone && resident_[2] != 0) way = find(address, pcid, 2);
  return way;
}

std::size_t Tlb::find_in_set_of_any_size(std::uint64_t key, std::size_t first, std::uint16_t pcid) const {
  for (std::size_t way = first; way != first + ways_; ++way) {
    if (keys_[way] == key && matches(entries_[way], pcid)) return way;
  }
  return kNone;
}

TlbEntry& Tlb::insert(const TlbEntry& entry) {
  // A lookup of this page would hit the way replaced: a refill replaces it.
  const std::uint64_t key = key_of(entry.tag, size_index(entry.shift));
  const std::size_t set = first_way(entry.tag);
  for (std::size_t way = set; way != set + ways_; ++way) {
    if (keys_[way] == key && matches(entries_[way], entry.pcid)) return fill(way, entry, key);
  }
  return insert_absent(entry);
}

template <unsigned ways>
TlbEntry& Tlb::insert_absent_in_set(const TlbEntry& entry) {
  // The first empty way, or the way with the oldest stamp (least recently used for LRU,
  // first filled for FIFO). Empty ways have stamp 0 and every filled way a later one, so
  // the first way with the smallest stamp is exactly that choice. Which way is oldest is
  // not predictable, so the search is written for conditional moves: a tournament for 4
  // and 8 ways, otherwise two interleaved halves (even and odd ways) to halve the chain
  // of dependent comparisons.
  const std::size_t set = ways != 0 ? static_cast<std::size_t>(entry.tag & set_mask_) * ways : first_way(entry.tag);
  const std::uint64_t* const stamps = &stamps_[set];
  const std::uint64_t key = key_of(entry.tag, size_index(entry.shift));
  Candidate oldest;
  if constexpr (ways != 0) {
    const std::uint64_t packed = oldest_way<ways>(stamps);
    oldest = Candidate{packed / ways, packed % ways};
  } else {
    std::size_t even = 0;
    std::size_t odd = 1;
    std::uint64_t even_stamp = stamps[0];
    std::uint64_t odd_stamp = ways_ > 1 ? stamps[1] : ~std::uint64_t{0};
    std::size_t way = 2;
    for (; way + 1 < ways_; way += 2) {
      const std::uint64_t stamp0 = stamps[way];
      const std::uint64_t stamp1 = stamps[way + 1];
      const bool older0 = stamp0 < even_stamp;
      const bool older1 = stamp1 < odd_stamp;
      even_stamp = older0 ? stamp0 : even_stamp;
      even = older0 ? way : even;
      odd_stamp = older1 ? stamp1 : odd_stamp;
      odd = older1 ? way + 1 : odd;
    }
    if (way < ways_) {
      const bool older = stamps[way] < even_stamp;
      even_stamp = older ? stamps[way] : even_stamp;
      even = older ? way : even;
    }
    // Stamps are distinct except the zeros of empty ways; on a tie the lower way comes first.
    const bool take_odd = odd_stamp < even_stamp || (odd_stamp == even_stamp && odd < even);
    oldest = take_odd ? Candidate{odd_stamp, odd} : Candidate{even_stamp, even};
  }
  const std::size_t slot = set + oldest.way;
  // A way is empty exactly when its stamp is 0, so a nonzero oldest stamp means a full
  // set: the fill evicts.
  if (oldest.stamp != 0) {
    if (replacement_ == TlbReplacement::kRandom) [[unlikely]] return evict_at_random(set, entry);
    ++stats_.evictions;
    return replace(slot, entry, key);
  }
  return occupy(slot, entry, key);
}

template TlbEntry& Tlb::insert_absent_in_set<4>(const TlbEntry& entry);
template TlbEntry& Tlb::insert_absent_in_set<8>(const TlbEntry& entry);
template TlbEntry& Tlb::insert_absent_in_set<0>(const TlbEntry& entry);

// Out of line, so that the common fills make no call and need no registers saved.
[[gnu::noinline]] TlbEntry& Tlb::evict_at_random(std::size_t set, const TlbEntry& entry) {
  const std::size_t slot = set + random_.uniform_below(ways_);
  ++stats_.evictions;
  return replace(slot, entry, key_of(entry.tag, size_index(entry.shift)));
}

void Tlb::invalidate_page(VirtAddr address, std::uint16_t pcid, bool include_global) {
  if (include_global) {
    // The entries to remove are exactly those a lookup under `pcid` would hit: find()'s
    // unrolled search, repeated until it finds none (a global entry and one of `pcid` can
    // both hold the page).
    for (unsigned s = 0; s < kSizes; ++s) {
      if (resident_[s] == 0) continue;
      for (std::size_t way = find(address, pcid, s); way != kNone; way = find(address, pcid, s)) remove(way);
    }
    return;
  }
  for (unsigned s = 0; s < kSizes; ++s) {
    if (resident_[s] == 0) continue;
    const std::uint64_t tag = address >> kShifts[s];
    const std::uint64_t key = key_of(tag, s);
    const std::size_t set = first_way(tag);
    for (std::size_t way = set; way != set + ways_; ++way) {
      if (keys_[way] == key &&
          (entries_[way].has(TlbEntry::kGlobal) ? include_global : entries_[way].pcid == pcid)) {
        remove(way);
      }
    }
  }
}

void Tlb::flush_pcid(std::uint16_t pcid) {
  ++stats_.flushes;
  for (std::uint32_t way = pcid_head_[pcid % kPcids]; way != kNoWay;) {
    const std::uint32_t next = pcid_next_[way];
    if (entries_[way].pcid == pcid && !entries_[way].has(TlbEntry::kGlobal)) remove(way);
    way = next;
  }
}

void Tlb::flush(bool include_global) {
  ++stats_.flushes;
  for (std::size_t way = 0; way < entries_.size(); ++way) {
    if (entries_[way].valid() && (include_global || !entries_[way].has(TlbEntry::kGlobal))) remove(way);
  }
}

unsigned Tlb::occupancy() const {
  return resident_[0] + resident_[1] + resident_[2];
}

}  // namespace ossim::mmu
