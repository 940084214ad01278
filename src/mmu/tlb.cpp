#include "ossim/mmu/tlb.hpp"

#include <bit>
#include <stdexcept>
#include <utility>

namespace ossim::mmu {

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
  entries_.resize(config_.entries);
}

void Tlb::remove(TlbEntry& entry) {
  --resident_[size_index(entry.shift)];
  entry.shift = 0;
  ++stats_.invalidations;
}

void Tlb::insert(const TlbEntry& entry) {
  // One pass over the set finds, in order of preference: the entry a lookup of this page
  // would hit (a refill replaces it), an empty way, or the way with the oldest stamp
  // (least recently used for LRU, first filled for FIFO).
  const std::uint64_t tag = entry.tag;
  TlbEntry* const set = &entries_[(tag & set_mask_) * ways_];
  TlbEntry* empty = nullptr;
  TlbEntry* oldest = set;
  std::uint64_t oldest_stamp = ~std::uint64_t{0};  // kept in a register: no reload per way
  TlbEntry* slot = nullptr;
  for (TlbEntry* way = set; way != set + ways_; ++way) {
    if (!way->valid()) {
      if (empty == nullptr) empty = way;
      continue;
    }
    if (way->tag == tag && way->shift == entry.shift && (way->pcid == entry.pcid || way->has(TlbEntry::kGlobal))) {
      slot = way;
      break;
    }
    if (way->stamp < oldest_stamp) {
      oldest_stamp = way->stamp;
      oldest = way;
    }
  }
  if (slot == nullptr) {
    if (empty != nullptr) {
      slot = empty;
    } else {
      slot = replacement_ == TlbReplacement::kRandom ? set + random_.uniform_below(ways_) : oldest;
      ++stats_.evictions;
    }
  }
  if (slot->valid()) --resident_[size_index(slot->shift)];
  *slot = entry;
  slot->stamp = ++clock_;
  ++resident_[size_index(entry.shift)];
  ++stats_.fills;
}

void Tlb::invalidate_page(VirtAddr address, std::uint16_t pcid, bool include_global) {
  for (unsigned s = 0; s < kSizes; ++s) {
    if (resident_[s] == 0) continue;
    const std::uint64_t tag = address >> kShifts[s];
    TlbEntry* way = &entries_[(tag & set_mask_) * ways_];
    for (TlbEntry* end = way + ways_; way != end; ++way) {
      if (way->valid() && way->tag == tag && way->shift == kShifts[s] &&
          (way->has(TlbEntry::kGlobal) ? include_global : way->pcid == pcid)) {
        remove(*way);
      }
    }
  }
}

void Tlb::flush_pcid(std::uint16_t pcid) {
  ++stats_.flushes;
  for (TlbEntry& e : entries_) {
    if (e.valid() && e.pcid == pcid && !e.has(TlbEntry::kGlobal)) remove(e);
  }
}

void Tlb::flush(bool include_global) {
  ++stats_.flushes;
  for (TlbEntry& e : entries_) {
    if (e.valid() && (include_global || !e.has(TlbEntry::kGlobal))) remove(e);
  }
}

unsigned Tlb::occupancy() const {
  return resident_[0] + resident_[1] + resident_[2];
}

}  // namespace ossim::mmu
