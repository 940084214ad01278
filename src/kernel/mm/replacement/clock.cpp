// CLOCK (second chance) and enhanced CLOCK (not-recently-used classes of (referenced,
// dirty)), over a ring of frames with a hand.
//
// CLOCK: a reference sets the page's use bit (a page brought in has it set). To evict,
// the hand sweeps: a page with the use bit set loses it and is passed over; the first
// without it is the victim. The new page takes the victim's frame and the hand moves
// past it.
//
// Enhanced CLOCK (Silberschatz's enhanced second chance): classes (0,0) < (0,1) < (1,0) <
// (1,1) of (use, dirty). Sweep 1 looks for (0,0) changing nothing; sweep 2 looks for
// (0,1), clearing use bits as it passes; if neither found, repeat (every use bit is now
// clear). A write sets the dirty bit, which only eviction (write-back) clears.

#include <set>
#include <unordered_map>
#include <vector>

#include "kernel/mm/replacement/policies.hpp"

namespace ossim::kernel {

namespace {

class ClockPolicy final : public ReplacementPolicy {
 public:
  ClockPolicy(std::size_t frames, bool enhanced) : enhanced_(enhanced) { grow(frames); }

  std::string_view name() const override { return enhanced_ ? "enhanced_clock" : "clock"; }

  void on_fault(PageKey page, bool write) override {
    std::size_t slot;
    if (pending_slot_ != kNone) {
      slot = pending_slot_;  // the frame the last victim left
      pending_slot_ = kNone;
      free_.erase(slot);
    } else {
      if (free_.empty()) grow(ring_.size() + 1);
      slot = *free_.begin();
      free_.erase(free_.begin());
    }
    ring_[slot] = Slot{page, true, write, true};
    where_[page] = slot;
  }

  void on_access(PageKey page, bool write) override {
    Slot& slot = ring_[where_.at(page)];
    slot.used = true;
    slot.dirty = slot.dirty || write;
  }

  void on_free(PageKey page) override {
    auto it = where_.find(page);
    if (it == where_.end()) return;
    ring_[it->second].occupied = false;
    free_.insert(it->second);
    where_.erase(it);
  }

  PageKey pick_victim() override {
    const std::size_t victim = enhanced_ ? sweep_enhanced() : sweep();
    Slot& slot = ring_[victim];
    slot.occupied = false;
    where_.erase(slot.page);
    free_.insert(victim);
    pending_slot_ = victim;
    hand_ = (victim + 1) % ring_.size();
    return slot.page;
  }

  std::size_t resident() const override { return where_.size(); }

 private:
  struct Slot {
    PageKey page = 0;
    bool used = false;
    bool dirty = false;
    bool occupied = false;
  };
  static constexpr std::size_t kNone = ~std::size_t{0};

  void grow(std::size_t frames) {
    while (ring_.size() < frames) {
      free_.insert(ring_.size());
      ring_.push_back(Slot{});
    }
  }

  std::size_t sweep() {
    for (;;) {
      Slot& slot = ring_[hand_];
      if (slot.occupied) {
        if (!slot.used) return hand_;
        slot.used = false;
      }
      hand_ = (hand_ + 1) % ring_.size();
    }
  }

  std::size_t sweep_enhanced() {
    for (;;) {
      // Pass 1: (0,0), touching nothing.
      for (std::size_t i = 0; i < ring_.size(); ++i) {
        const std::size_t at = (hand_ + i) % ring_.size();
        if (ring_[at].occupied && !ring_[at].used && !ring_[at].dirty) return at;
      }
      // Pass 2: (0,1), clearing use bits on the way.
      for (std::size_t i = 0; i < ring_.size(); ++i) {
        const std::size_t at = (hand_ + i) % ring_.size();
        Slot& slot = ring_[at];
        if (!slot.occupied) continue;
        if (!slot.used && slot.dirty) return at;
        slot.used = false;
      }
    }
  }

  bool enhanced_;
  std::vector<Slot> ring_;
  std::set<std::size_t> free_;  // empty frames, lowest first
  std::unordered_map<PageKey, std::size_t> where_;
  std::size_t hand_ = 0;
  std::size_t pending_slot_ = kNone;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_clock_policy(const ReplacementOptions& options) {
  return std::make_unique<ClockPolicy>(options.frames, false);
}

std::unique_ptr<ReplacementPolicy> make_enhanced_clock_policy(const ReplacementOptions& options) {
  return std::make_unique<ClockPolicy>(options.frames, true);
}

}  // namespace ossim::kernel
