#include "ossim/sim/event_queue.hpp"

#include <algorithm>
#include <bit>

namespace ossim::sim {

Event::~Event() {
  if (queue_ != nullptr) queue_->cancel(*this);
}

EventQueue::~EventQueue() {
  auto detach_list = [](Event* event) {
    while (event != nullptr) {
      Event* next = event->next_;
      event->queue_ = nullptr;
      event = next;
    }
  };
  auto detach_pile = [](const Pile& pile) {
    for (const PileEntry& entry : pile.items) {
      if (entry.event != nullptr) entry.event->queue_ = nullptr;
    }
  };
  detach_list(bottom_head_);
  for (unsigned r = 0; r < rung_count_; ++r) {
    for (Event* head : rungs_[r].heads) detach_list(head);
  }
  for (unsigned e = epoch_current_; e < epoch_count_; ++e) detach_pile(epochs_[e]);
  detach_pile(far_);
}

// ---- Insertion and removal ----------------------------------------------------------------

void EventQueue::forget_ranges() {
  bottom_head_ = bottom_tail_ = nullptr;
  bottom_last_ = 0;
  rung_count_ = 0;
  for (unsigned e = 0; e < epoch_count_; ++e) {
    epochs_[e].items.clear();
    epochs_[e].live = 0;
  }
  epoch_count_ = 0;
  epoch_current_ = 0;
  far_.items.clear();
  far_.live = 0;
  far_min_ = kTickNever;
  far_max_ = 0;
}

void EventQueue::insert(Event& event) {
  const Tick when = event.when_;
  if (when <= bottom_last_) {
    ++stats_.sorted_inserts;
    insert_bottom(event);
    return;
  }
  // The rungs cover consecutive ranges, the innermost (finest) one first in time; the
  // epochs come after the outermost rung, the far array after the epochs.
  for (unsigned r = rung_count_; r-- > 0;) {
    if (when <= rungs_[r].last) {
      push_bucket(rungs_[r], r, event);
      return;
    }
  }
  if (epoch_count_ > 0 && when <= epochs_last_) {
    const auto epoch = static_cast<std::uint16_t>((when - epochs_start_) >> epoch_shift_);
    append(epochs_[epoch], event, kEpoch, epoch);
    return;
  }
  append(far_, event, kFar, 0);
  far_min_ = std::min(far_min_, when);
  far_max_ = std::max(far_max_, when);
}

void EventQueue::append(Pile& pile, Event& event, Tier tier, std::uint16_t group) {
  // Holes are closed once they outnumber the events, so an array stays O(events) even when
  // events are rescheduled again and again with no pops in between.
  if (pile.items.size() >= 2 * pile.live + 64) close_holes(pile);
  event.tier_ = tier;
  event.group_ = group;
  event.where_ = static_cast<std::uint32_t>(pile.items.size());
  pile.items.push_back(PileEntry{event.when_, &event});
  ++pile.live;
}

void EventQueue::close_holes(Pile& pile) {
  std::vector<PileEntry>& items = pile.items;
  std::size_t hole = 0;
  std::size_t end = items.size();
  for (;;) {
    while (hole < end && items[hole].event != nullptr) ++hole;
    while (end > hole && items[end - 1].event == nullptr) --end;
    if (hole >= end) break;
    items[hole] = items[end - 1];
    items[hole].event->where_ = static_cast<std::uint32_t>(hole);
    --end;
  }
  items.resize(hole);
}

void EventQueue::remove(Event& event) {
  switch (event.tier_) {
    case kBottom:
      unlink_bottom(event);
      return;
    case kFar:
      far_.items[event.where_].event = nullptr;
      --far_.live;
      return;
    case kEpoch:
      epochs_[event.group_].items[event.where_].event = nullptr;
      --epochs_[event.group_].live;
      return;
    default: {
      Rung& rung = rungs_[event.tier_ - kFirstRung];
      if (event.prev_ != nullptr) {
        event.prev_->next_ = event.next_;
      } else {
        rung.heads[event.where_] = event.next_;
      }
      if (event.next_ != nullptr) event.next_->prev_ = event.prev_;
      return;
    }
  }
}

void EventQueue::insert_bottom(Event& event) {
  event.tier_ = kBottom;
  // New events usually belong near the end: scan from the tail.
  Event* after = bottom_tail_;
  while (after != nullptr && before(event, *after)) after = after->prev_;
  event.prev_ = after;
  event.next_ = after != nullptr ? after->next_ : bottom_head_;
  if (event.next_ != nullptr) {
    event.next_->prev_ = &event;
  } else {
    bottom_tail_ = &event;
  }
  if (after != nullptr) {
    after->next_ = &event;
  } else {
    bottom_head_ = &event;
  }
}

void EventQueue::unlink_bottom(Event& event) {
  if (event.prev_ != nullptr) {
    event.prev_->next_ = event.next_;
  } else {
    bottom_head_ = event.next_;
  }
  if (event.next_ != nullptr) {
    event.next_->prev_ = event.prev_;
  } else {
    bottom_tail_ = event.prev_;
  }
}

void EventQueue::push_bucket(Rung& rung, unsigned rung_index, Event& event) {
  const auto bucket = static_cast<std::uint32_t>((event.when_ - rung.start) >> rung.shift);
  Event*& head = rung.heads[bucket];
  event.tier_ = static_cast<std::uint8_t>(kFirstRung + rung_index);
  event.where_ = bucket;
  event.prev_ = nullptr;
  event.next_ = head;
  if (head != nullptr) head->prev_ = &event;
  head = &event;
}

// ---- Refilling the bottom -----------------------------------------------------------------

bool EventQueue::refill_bottom() {
  for (;;) {
    if (rung_count_ == 0) {
      if (epoch_count_ == 0) {
        if (far_.live == 0) return false;
        deal_far_into_epochs();
      }
      while (epoch_current_ < epoch_count_ && epochs_[epoch_current_].live == 0) {
        epochs_[epoch_current_].items.clear();
        ++epoch_current_;
      }
      if (epoch_current_ == epoch_count_) {
        // Every epoch is used up: what they covered has been consumed.
        bottom_last_ = epochs_last_;
        epoch_count_ = 0;
        continue;
      }
      spread_epoch_into_new_rung(epoch_current_++);
    }
    Rung& rung = rungs_[rung_count_ - 1];
    const auto buckets = static_cast<std::uint32_t>(rung.heads.size());
    while (rung.current < buckets && rung.heads[rung.current] == nullptr) ++rung.current;
    if (rung.current == buckets) {
      // This rung is used up: everything it covered has been consumed.
      bottom_last_ = rung.last;
      --rung_count_;
      continue;
    }
    const std::uint32_t bucket = rung.current;
    // The buckets are consumed in order: fetch the events a few buckets ahead now, so
    // they are in cache when due. Nearer buckets' first events are in cache already, so
    // fetch further down their chains.
    // (Each stage follows one more link of a chain the stage before brought in.)
    if (bucket + 3 * kPrefetchDistance < buckets) __builtin_prefetch(rung.heads[bucket + 3 * kPrefetchDistance]);
    for (std::uint32_t stage = 2; stage >= 1; --stage) {
      const std::uint32_t ahead = bucket + stage * kPrefetchDistance;
      if (ahead >= buckets) continue;
      const Event* link = rung.heads[ahead];
      for (std::uint32_t hop = stage; link != nullptr && hop < 3; ++hop) link = link->next_;
      if (link != nullptr) __builtin_prefetch(link);
    }
    const Tick bucket_start = rung.start + (static_cast<Tick>(bucket) << rung.shift);
    // Everything before this bucket is consumed; a later insertion before it belongs in
    // the bottom. (Rungs start after bottom_last_, so bucket_start > 0.)
    assert(bucket_start > bottom_last_);
    bottom_last_ = bucket_start - 1;
    if (rung.heads[bucket]->next_ != nullptr && rung.shift > 0 && rung_count_ < kMaxRungs &&
        bucket_holds_more_than(rung.heads[bucket], kSortThreshold)) {
      split_bucket(rung, bucket);
      continue;
    }
    sort_bucket_into_bottom(rung, bucket);
    return true;
  }
}

void EventQueue::deal_far_into_epochs() {
  ++stats_.epoch_builds;
  // Spans of a power-of-two width covering [far_min_, far_max_]: up to kEpochs of them,
  // fewer for a small queue so that each rung built from one is worth building.
  const std::uint64_t wanted = std::clamp<std::uint64_t>(far_.live / kMinEpochEvents, 1, kEpochs);
  const Tick span = far_max_ - far_min_;
  unsigned shift = 0;
  while (shift < 63 && (span >> shift) >= wanted) ++shift;
  epoch_shift_ = shift;
  epoch_count_ = static_cast<unsigned>(span >> shift) + 1;
  epoch_current_ = 0;
  epochs_start_ = far_min_;
  const unsigned __int128 last =
      static_cast<unsigned __int128>(far_min_) + (static_cast<unsigned __int128>(epoch_count_) << shift) - 1;
  epochs_last_ = last > kTickNever ? kTickNever : static_cast<Tick>(last);
  // Every event is told its new place, in an order the host cannot predict: fetch ahead.
  constexpr std::size_t kAhead = 16;
  const std::size_t count = far_.items.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (i + kAhead < count && far_.items[i + kAhead].event != nullptr) __builtin_prefetch(far_.items[i + kAhead].event, 1);
    const PileEntry& entry = far_.items[i];
    if (entry.event == nullptr) continue;
    const auto epoch = static_cast<std::uint16_t>((entry.when - epochs_start_) >> epoch_shift_);
    append(epochs_[epoch], *entry.event, kEpoch, epoch);
  }
  far_.items.clear();
  far_.live = 0;
  far_min_ = kTickNever;
  far_max_ = 0;
}

void EventQueue::spread_epoch_into_new_rung(unsigned epoch) {
  ++stats_.spreads;
  Pile& pile = epochs_[epoch];
  const Tick start = epochs_start_ + (static_cast<Tick>(epoch) << epoch_shift_);
  const Tick width_less_one = (Tick{1} << epoch_shift_) - 1;
  const Tick last = epochs_last_ - start <= width_less_one ? epochs_last_ : start + width_less_one;

  // About one event per bucket: the smallest bucket width giving at most `events` buckets.
  Rung& rung = rungs_[0];
  rung_count_ = 1;
  const std::uint64_t events = pile.live;
  const Tick span = last - start;
  unsigned shift = 0;
  while (shift < 63 && ((span >> shift) >= events || (span >> shift) >= kMaxBuckets)) ++shift;
  rung.start = start;
  rung.last = last;
  rung.shift = shift;
  rung.current = 0;
  rung.heads.assign((span >> shift) + 1, nullptr);

  // The events and buckets are touched in an order the host cannot predict, so fetch
  // ahead in two stages: far ahead, the bucket slot; nearer, the event and the bucket's
  // current first event (whose back link the push writes).
  constexpr std::size_t kAhead = 16;
  const std::size_t count = pile.items.size();
  const auto bucket_of = [&](Tick when) { return (when - rung.start) >> rung.shift; };
  for (std::size_t i = 0; i < count; ++i) {
    if (i + 2 * kAhead < count && pile.items[i + 2 * kAhead].event != nullptr) {
      __builtin_prefetch(&rung.heads[bucket_of(pile.items[i + 2 * kAhead].when)]);
    }
    if (i + kAhead < count && pile.items[i + kAhead].event != nullptr) {
      const PileEntry& soon = pile.items[i + kAhead];
      __builtin_prefetch(soon.event, 1);
      if (const Event* head = rung.heads[bucket_of(soon.when)]; head != nullptr) __builtin_prefetch(head, 1);
    }
    const PileEntry& entry = pile.items[i];
    if (entry.event != nullptr) push_bucket(rung, 0, *entry.event);
  }
  pile.items.clear();
  pile.live = 0;
  // Everything before this epoch is consumed; a later insertion before it belongs in the
  // bottom.
  bottom_last_ = start - 1;
}

Tick EventQueue::bucket_last(const Rung& rung, std::uint32_t bucket) {
  // The last bucket of a rung reaching the end of time may be cut short: compare the room
  // left before adding, so nothing wraps past kTickNever.
  const Tick start = rung.start + (static_cast<Tick>(bucket) << rung.shift);
  const Tick width_less_one = (Tick{1} << rung.shift) - 1;
  return rung.last - start <= width_less_one ? rung.last : start + width_less_one;
}

bool EventQueue::bucket_holds_more_than(const Event* head, std::uint32_t limit) {
  for (std::uint32_t seen = 0; head != nullptr; head = head->next_) {
    if (++seen > limit) return true;
  }
  return false;
}

void EventQueue::split_bucket(Rung& parent, std::uint32_t bucket) {
  std::uint32_t events = 0;
  for (const Event* e = parent.heads[bucket]; e != nullptr; e = e->next_) ++events;
  const unsigned finer = std::min<unsigned>(parent.shift, static_cast<unsigned>(std::bit_width(events) - 1));
  Rung& child = rungs_[rung_count_];
  const auto child_index = rung_count_++;
  child.start = parent.start + (static_cast<Tick>(bucket) << parent.shift);
  child.last = bucket_last(parent, bucket);
  child.shift = parent.shift - finer;
  child.current = 0;
  child.heads.assign(std::size_t{1} << finer, nullptr);
  Event* event = parent.heads[bucket];
  while (event != nullptr) {
    Event* next = event->next_;
    push_bucket(child, child_index, *event);
    event = next;
  }
  parent.heads[bucket] = nullptr;
  parent.current = bucket + 1;
}

void EventQueue::sort_bucket_into_bottom(Rung& rung, std::uint32_t bucket) {
  Event* head = rung.heads[bucket];
  rung.heads[bucket] = nullptr;
  rung.current = bucket + 1;
  bottom_last_ = bucket_last(rung, bucket);
  if (head->next_ == nullptr) {  // the common case: one event
    head->tier_ = kBottom;
    head->prev_ = nullptr;
    bottom_head_ = bottom_tail_ = head;
    return;
  }
  sort_buffer_.clear();
  for (Event* event = head; event != nullptr; event = event->next_) sort_buffer_.push_back(event);
  const auto by_time = [](const Event* a, const Event* b) { return before(*a, *b); };
  if (sort_buffer_.size() <= kInsertionSortMax) {
    // A few events (the usual case): an insertion sort, without std::sort's set-up.
    for (std::size_t i = 1; i < sort_buffer_.size(); ++i) {
      Event* const event = sort_buffer_[i];
      std::size_t j = i;
      for (; j > 0 && by_time(event, sort_buffer_[j - 1]); --j) sort_buffer_[j] = sort_buffer_[j - 1];
      sort_buffer_[j] = event;
    }
  } else {
    std::sort(sort_buffer_.begin(), sort_buffer_.end(), by_time);
  }
  Event* previous = nullptr;
  for (Event* event : sort_buffer_) {
    event->tier_ = kBottom;
    event->prev_ = previous;
    event->next_ = nullptr;
    if (previous != nullptr) {
      previous->next_ = event;
    } else {
      bottom_head_ = event;
    }
    previous = event;
  }
  bottom_tail_ = previous;
}
}  // namespace ossim::sim
