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

unsigned Tlb::pick_victim(unsigned first_way) {
  for (unsigned w = 0; w < ways_; ++w) {
    if (!entries_[first_way + w].valid()) return first_way + w;
  }
  if (replacement_ == TlbReplacement::kRandom) {
    return first_way + static_cast<unsigned>(random_.uniform_below(ways_));
  }
  // LRU and FIFO both evict the smallest stamp (last use, or fill time).
  unsigned victim = first_way;
  for (unsigned w = 1; w < ways_; ++w) {
    if (entries_[first_way + w].stamp < entries_[victim].stamp) victim = first_way + w;
  }
  return victim;
}

void Tlb::insert(const TlbEntry& entry) {
  const std::uint64_t tag = entry.tag;
  const unsigned first_way = static_cast<unsigned>((tag & set_mask_) * ways_);
  unsigned slot = ways_ + first_way;  // "none"
  for (unsigned w = 0; w < ways_; ++w) {
    const TlbEntry& e = entries_[first_way + w];
    if (e.valid() && e.tag == tag && e.shift == entry.shift &&
        (e.pcid == entry.pcid || e.has(TlbEntry::kGlobal))) {
      slot = first_way + w;  // refill of the translation a lookup would find
      --resident_[size_index(e.shift)];
      break;
    }
  }
  if (slot == ways_ + first_way) {
    slot = pick_victim(first_way);
    if (entries_[slot].valid()) {
      ++stats_.evictions;
      --resident_[size_index(entries_[slot].shift)];
    }
  }
  entries_[slot] = entry;
  entries_[slot].stamp = ++clock_;
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
