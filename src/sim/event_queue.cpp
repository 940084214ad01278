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
  detach_list(bottom_head_);
  for (unsigned r = 0; r < rung_count_; ++r) {
    for (Event* head : rungs_[r].heads) detach_list(head);
  }
  for (const TopEntry& entry : top_) {
    if (entry.event != nullptr) entry.event->queue_ = nullptr;
  }
}

// ---- Insertion and removal ----------------------------------------------------------------

void EventQueue::forget_ranges() {
  bottom_head_ = bottom_tail_ = nullptr;
  bottom_last_ = 0;
  rung_count_ = 0;
  top_.clear();
  top_live_ = 0;
  top_min_ = kTickNever;
  top_max_ = 0;
}

void EventQueue::insert(Event& event) {
  const Tick when = event.when_;
  if (when <= bottom_last_) {
    insert_bottom(event);
    return;
  }
  // The rungs cover consecutive ranges, the innermost (finest) one first in time.
  for (unsigned r = rung_count_; r-- > 0;) {
    if (when <= rungs_[r].last) {
      push_bucket(rungs_[r], r, event);
      return;
    }
  }
  // Cancelled entries stay as holes until the next spread; without pops in between, they
  // are closed here once they outnumber the live ones, so the array stays O(live).
  if (top_.size() >= 2 * top_live_ + 64) close_top_holes();
  event.tier_ = kTop;
  event.where_ = static_cast<std::uint32_t>(top_.size());
  top_.push_back(TopEntry{when, &event});
  ++top_live_;
  top_min_ = std::min(top_min_, when);
  top_max_ = std::max(top_max_, when);
}

void EventQueue::remove(Event& event) {
  switch (event.tier_) {
    case kBottom:
      unlink_bottom(event);
      return;
    case kTop:
      top_[event.where_].event = nullptr;  // a hole, closed by the next spread
      --top_live_;
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
      if (top_live_ == 0) {
        top_.clear();
        top_min_ = kTickNever;
        top_max_ = 0;
        return false;
      }
      spread_top_into_new_rung();
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
    if (rung.shift > 0 && rung_count_ < kMaxRungs && bucket_holds_more_than(rung.heads[bucket], kSortThreshold)) {
      split_bucket(rung, bucket);
      continue;
    }
    sort_bucket_into_bottom(rung, bucket);
    return true;
  }
}

void EventQueue::close_top_holes() {
  // Fill the holes (left by spreads and cancellations) with live entries from the end, so
  // only the entries that move have their events told their new index.
  std::size_t hole = 0;
  std::size_t end = top_.size();
  for (;;) {
    while (hole < end && top_[hole].event != nullptr) ++hole;
    while (end > hole && top_[end - 1].event == nullptr) --end;
    if (hole >= end) break;
    top_[hole] = top_[end - 1];
    top_[hole].event->where_ = static_cast<std::uint32_t>(hole);
    --end;
  }
  top_.resize(hole);
}

Tick EventQueue::window_end(std::size_t wanted) {
  if (top_live_ <= wanted) return kTickNever;
  // Evenly spaced samples of the live times; the wanted fraction's quantile ends the
  // window. The samples depend only on the queue's contents, so runs stay reproducible.
  samples_.clear();
  const std::size_t step = std::max<std::size_t>(1, top_.size() / kWindowSamples);
  for (std::size_t i = 0; i < top_.size(); i += step) {
    if (top_[i].event != nullptr) samples_.push_back(top_[i].when);
  }
  if (samples_.empty()) return kTickNever;
  const std::size_t rank = samples_.size() * wanted / top_live_;
  std::nth_element(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(rank), samples_.end());
  return samples_[rank];
}

void EventQueue::spread_top_into_new_rung() {
  ++stats_.spreads;
  const std::size_t wanted = std::max(kMinWindowEvents, top_live_ / 2);
  const Tick window_last = window_end(wanted);
  // top_min_ and top_max_ bound the top's times (cancellations only loosen them).
  const Tick latest = window_last != kTickNever ? std::min(window_last, top_max_) : top_max_;
  const std::uint64_t events = std::min<std::uint64_t>(wanted, top_live_);

  Rung& rung = rungs_[0];
  rung_count_ = 1;
  const Tick span = latest - top_min_;
  // About one event per bucket: the smallest bucket width giving at most `events` buckets.
  unsigned shift = 0;
  while (shift < 63 && ((span >> shift) >= events || (span >> shift) >= kMaxBuckets)) ++shift;
  const std::uint64_t buckets = (span >> shift) + 1;
  rung.start = top_min_;
  const unsigned __int128 last =
      static_cast<unsigned __int128>(top_min_) + (static_cast<unsigned __int128>(buckets) << shift) - 1;
  // The rung ends exactly at the window's end, so that the top keeps only later events.
  rung.last = window_last != kTickNever ? window_last : (last > kTickNever ? kTickNever : static_cast<Tick>(last));
  rung.shift = shift;
  rung.current = 0;
  rung.heads.assign(buckets, nullptr);

  // Move the window into the buckets, leaving holes. The events and buckets are touched
  // in an order the host cannot predict, so fetch ahead in two stages: far ahead, the
  // bucket slot; nearer, the event and the bucket's current first event (whose back link
  // the push writes).
  constexpr std::size_t kAhead = 16;
  const std::size_t count = top_.size();
  const auto in_window = [&](const TopEntry& entry) { return entry.event != nullptr && entry.when <= rung.last; };
  const auto bucket_of = [&](Tick when) { return (when - rung.start) >> rung.shift; };
  Tick survivors_min = kTickNever;
  for (std::size_t i = 0; i < count; ++i) {
    if (i + 2 * kAhead < count && in_window(top_[i + 2 * kAhead])) {
      __builtin_prefetch(&rung.heads[bucket_of(top_[i + 2 * kAhead].when)]);
    }
    if (i + kAhead < count && in_window(top_[i + kAhead])) {
      const TopEntry& soon = top_[i + kAhead];
      __builtin_prefetch(soon.event, 1);
      if (const Event* head = rung.heads[bucket_of(soon.when)]; head != nullptr) __builtin_prefetch(head, 1);
    }
    TopEntry& entry = top_[i];
    if (entry.event == nullptr) continue;
    if (entry.when > rung.last) {
      survivors_min = std::min(survivors_min, entry.when);
      continue;
    }
    push_bucket(rung, 0, *entry.event);
    entry.event = nullptr;
    --top_live_;
  }
  close_top_holes();
  top_min_ = survivors_min;
  if (top_.empty()) top_max_ = 0;
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
  std::sort(sort_buffer_.begin(), sort_buffer_.end(), [](const Event* a, const Event* b) { return before(*a, *b); });
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
