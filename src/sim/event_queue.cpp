#include "ossim/sim/event_queue.hpp"

#include <algorithm>
#include <bit>

namespace ossim::sim {
namespace {

/// Epochs are made wide enough to hold about this many entries each.
constexpr std::uint64_t kMinEpochEvents = 512;
/// A bucket with more entries than this is split into a finer rung rather than sorted.
constexpr std::uint32_t kSortThreshold = 48;
/// At most this many buckets in one rung (a coarser rung holds more per bucket).
constexpr std::uint64_t kMaxBuckets = std::uint64_t{1} << 22;
/// How many entries beyond those in the bottom have their events prefetched.
constexpr std::uint32_t kPrefetchDistance = 16;
/// A refill takes buckets into the bottom until it holds at least this many entries (and
/// adds no bucket that would take it past kBottomMax).
constexpr std::uint32_t kBottomTarget = 32;
constexpr std::uint32_t kBottomMax = 64;
/// Appends to an epoch fetch the line this many entries past the end.
constexpr std::size_t kEpochAhead = 8;

/// Buckets of up to this many entries are sorted by insertion.
constexpr std::size_t kInsertionSortMax = 12;

/// Appends T(fields...) to an array whose growth is rare. The growth path is kept out of
/// line, as a tail call, so that the usual append needs no stack frame: `insert`, the
/// hottest caller, would otherwise save six registers on every call for a branch it
/// almost never takes. The item is built in place from its fields (in registers): an item
/// built first and passed by reference would be written to the stack a word at a time
/// and copied with 16-byte moves, a failed store-to-load forward.
template <typename T, typename... Fields>
[[gnu::noinline]] void append_growing(std::vector<T>& array, Fields... fields) {
  array.emplace_back(fields...);
}
template <typename T, typename... Fields>
void append(std::vector<T>& array, Fields... fields) {
  if (array.size() == array.capacity()) [[unlikely]] return append_growing(array, fields...);
  array.emplace_back(fields...);  // (the compiler sees that this cannot grow)
}

/// Inserts T(fields...) into `sorted`, whose elements from `first` on are in `before`
/// order and whose elements before `first` are consumed, dropping those if they are most
/// of the array. The general case of EventQueue::insert_bottom, out of line for the same
/// reason as append_growing.
template <typename T, typename Before, typename... Fields>
[[gnu::noinline]] void insert_sorted_making_room(std::vector<T>& sorted, std::size_t& first, Before before,
                                                 Fields... fields) {
  const T item(fields...);
  if (first >= 64 && 2 * first >= sorted.size()) {
    sorted.erase(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(first));
    first = 0;
  }
  std::size_t at = sorted.size();
  while (at > first && before(item, sorted[at - 1])) --at;
  sorted.insert(sorted.begin() + static_cast<std::ptrdiff_t>(at), item);
}

}  // namespace

Event::~Event() {
  if (queue_ != nullptr) queue_->cancel(*this);
  if (stale_ != 0) home_->bury(*this);
}

EventQueue::~EventQueue() {
  for_each_entry([this](const Entry& entry) {
    if (dead(entry)) return;
    Event& event = *entry.event;
    if (event.queue_ == this) event.queue_ = nullptr;
    if (event.home_ == this) {
      event.home_ = nullptr;
      event.stale_ = 0;
    }
  });
}

// ---- Stale entries --------------------------------------------------------------------------

bool EventQueue::dead(const Entry& entry) const {
  if (dead_.empty()) return false;
  const auto found = dead_.find(entry.event);
  return found != dead_.end() && entry.sequence < found->second.below;
}

bool EventQueue::live_slow(const Entry& entry) {
  if (!dead_.empty()) {
    const auto found = dead_.find(entry.event);
    if (found != dead_.end() && entry.sequence < found->second.below) {
      if (--found->second.count == 0) dead_.erase(found);
      --stale_count_;
      return false;
    }
  }
  Event& event = *entry.event;
  if (event.queue_ == this && event.sequence_ == entry.sequence) return true;
  --event.stale_;
  --stale_count_;
  return false;
}

void EventQueue::bury(Event& event) {
  Dead& dead = dead_[&event];
  dead.below = next_sequence_;
  dead.count += event.stale_;
  event.stale_ = 0;
  event.home_ = nullptr;
}

void EventQueue::purge(Event& event) {
  filter([&](const Entry& entry) {
    if (entry.event != &event) return true;
    if (dead(entry)) {
      const auto found = dead_.find(entry.event);
      if (--found->second.count == 0) dead_.erase(found);
    }
    --stale_count_;
    return false;
  });
  event.stale_ = 0;
  event.home_ = nullptr;
  if (size_ == 0 && stale_count_ == 0) forget_ranges();
}

void EventQueue::collect() {
  ++stats_.collections;
  filter([this](const Entry& entry) { return live_slow(entry); });
  assert(stale_count_ == 0 && dead_.empty());
}

template <typename Visit>
void EventQueue::for_each_entry(Visit visit) const {
  for (std::size_t i = bottom_pos_; i < bottom_.size(); ++i) visit(bottom_[i]);
  for (unsigned r = 0; r < rung_count_; ++r) {
    const Rung& rung = rungs_[r];
    for (std::uint32_t i = rung.first[rung.current]; i < rung.first[rung.buckets]; ++i) visit(rung.entries[i]);
    for (std::uint32_t b = rung.current; b < rung.buckets; ++b) {
      for (std::uint32_t n = rung.extra[b]; n != kNone; n = pool_[n].next) visit(pool_[n].entry);
    }
  }
  for (unsigned e = epoch_current_; e < epoch_count_; ++e) {
    for (const Entry& entry : epochs_[e]) visit(entry);
  }
  for (const Entry& entry : far_) visit(entry);
}

template <typename Keep>
void EventQueue::filter(Keep keep) {
  // `keep` usually reads each entry's event, in an order the host cannot predict: fetch
  // ahead in the arrays.
  constexpr std::size_t kAhead = 16;
  std::size_t kept = 0;
  for (std::size_t i = bottom_pos_; i < bottom_.size(); ++i) {
    if (i + kAhead < bottom_.size()) __builtin_prefetch(bottom_[i + kAhead].event, 1);
    if (keep(bottom_[i])) bottom_[kept++] = bottom_[i];
  }
  bottom_.resize(kept);
  bottom_pos_ = 0;
  if (rung_count_ > 0) {
    spare_pool_.clear();
    for (unsigned r = 0; r < rung_count_; ++r) {
      Rung& rung = rungs_[r];
      std::uint32_t out = rung.first[rung.current];
      std::uint32_t begin = out;
      for (std::uint32_t b = rung.current; b < rung.buckets; ++b) {
        const std::uint32_t end = rung.first[b + 1];
        for (std::uint32_t i = begin; i < end; ++i) {
          if (i + kAhead < rung.entries.size()) __builtin_prefetch(rung.entries[i + kAhead].event, 1);
          if (keep(rung.entries[i])) rung.entries[out++] = rung.entries[i];
        }
        rung.first[b + 1] = out;
        begin = end;
        std::uint32_t head = kNone;
        for (std::uint32_t n = rung.extra[b]; n != kNone; n = pool_[n].next) {
          if (!keep(pool_[n].entry)) continue;
          spare_pool_.push_back(Node{pool_[n].entry, head});
          head = static_cast<std::uint32_t>(spare_pool_.size() - 1);
        }
        rung.extra[b] = head;
      }
    }
    pool_.swap(spare_pool_);
    stop_prefetch();
  }
  auto filter_array = [&](std::vector<Entry>& entries) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i + kAhead < entries.size()) __builtin_prefetch(entries[i + kAhead].event, 1);
      if (keep(entries[i])) entries[out++] = entries[i];
    }
    entries.resize(out);
  };
  for (unsigned e = epoch_current_; e < epoch_count_; ++e) filter_array(epochs_[e]);
  filter_array(far_);
}

// ---- Insertion ----------------------------------------------------------------------------

void EventQueue::forget_ranges() {
  bottom_.clear();
  bottom_pos_ = 0;
  bottom_last_ = 0;
  rung_count_ = 0;
  pool_.clear();
  stop_prefetch();
  for (unsigned e = 0; e < epoch_count_; ++e) epochs_[e].clear();
  epoch_count_ = 0;
  epoch_current_ = 0;
  far_.clear();
  far_min_ = kTickNever;
  far_max_ = 0;
}

void EventQueue::become_empty() {
  // Only stale entries are left: account for them (their events forget them).
  if (stale_count_ != 0) {
    filter([this](const Entry& entry) { return live_slow(entry); });
    assert(stale_count_ == 0 && dead_.empty());
  }
  forget_ranges();
  next_time_ = kTickNever;
}

void EventQueue::settle() {
  for (;;) {
    if (bottom_pos_ == bottom_.size()) {
      [[maybe_unused]] const bool refilled = refill_bottom();
      assert(refilled);
    }
    const Entry& head = bottom_[bottom_pos_];
    if (live(head)) {
      next_time_ = head.when;
      return;
    }
    ++bottom_pos_;
  }
}

void EventQueue::insert(Tick when, std::uint64_t sequence, Event* event) {
  // Each path ends in a call or an append, in tail position (see append()).
  if (when <= bottom_last_) {
    ++stats_.sorted_inserts;
    return insert_bottom(when, sequence, event);
  }
  // The rungs cover consecutive ranges, the innermost (finest) one first in time; the
  // epochs come after the outermost rung, the far array after the epochs.
  if (rung_count_ != 0 && when <= rungs_[0].last) {
    unsigned r = rung_count_ - 1;
    while (when > rungs_[r].last) --r;
    return push_bucket(rungs_[r], when, sequence, event);
  }
  if (epoch_count_ > 0 && when <= epochs_last_) {
    std::vector<Entry>& epoch = epochs_[(when - epochs_start_) >> epoch_shift_];
    // Appends go to up to 64 arrays in turn, too many streams for the host's prefetcher:
    // fetch the line a few entries on (harmless past the end).
    __builtin_prefetch(epoch.data() + epoch.size() + kEpochAhead, 1);
    return append(epoch, when, sequence, event);
  }
  far_min_ = std::min(far_min_, when);
  far_max_ = std::max(far_max_, when);
  append(far_, when, sequence, event);
}

void EventQueue::push_bucket(Rung& rung, Tick when, std::uint64_t sequence, Event* event) {
  const auto bucket = static_cast<std::uint32_t>((when - rung.start) >> rung.shift);
  std::uint32_t& head = rung.extra[bucket];
  const std::uint32_t next = head;
  head = static_cast<std::uint32_t>(pool_.size());
  append(pool_, when, sequence, event, next);
}

void EventQueue::insert_bottom(Tick when, std::uint64_t sequence, Event* event) {
  if (bottom_pos_ == bottom_.size()) {
    bottom_.clear();
    bottom_pos_ = 0;
    return append(bottom_, when, sequence, event);
  }
  // Whether the new entry comes before `other` (before(), on the fields: see insert()).
  const auto comes_before = [when, sequence](const Entry& other) {
    return when < other.when || (when == other.when && sequence < other.sequence);
  };
  // The bottom is short (a few dozen entries at most, a handful in a small queue), and the
  // slots before bottom_pos_ are free: an entry goes in from whichever end is nearer,
  // moving the entries it passes by one. An entry due before the head (an event at "now")
  // costs one store.
  const std::size_t middle = bottom_pos_ + (bottom_.size() - bottom_pos_) / 2;
  if (bottom_pos_ > 0 && comes_before(bottom_[middle])) {
    std::size_t at = --bottom_pos_;
    for (; !comes_before(bottom_[at + 1]); ++at) bottom_[at] = bottom_[at + 1];
    bottom_[at] = Entry{when, sequence, event};
    return;
  }
  // Bound the consumed prefix (a queue whose every entry is in the bottom never refills it).
  if (bottom_.size() == bottom_.capacity() || (bottom_pos_ >= 64 && 2 * bottom_pos_ >= bottom_.size())) {
    return insert_sorted_making_room(bottom_, bottom_pos_, before, when, sequence, event);
  }
  bottom_.emplace_back(when, sequence, event);  // (cannot grow: see above)
  std::size_t at = bottom_.size() - 1;
  for (; at > bottom_pos_ && comes_before(bottom_[at - 1]); --at) bottom_[at] = bottom_[at - 1];
  bottom_[at] = Entry{when, sequence, event};
}

// ---- Refilling the bottom -----------------------------------------------------------------

bool EventQueue::refill_bottom() {
  for (;;) {
    if (rung_count_ == 0) {
      if (epoch_count_ == 0) {
        if (far_.empty()) return false;
        deal_far_into_epochs();
      }
      while (epoch_current_ < epoch_count_ && epochs_[epoch_current_].empty()) ++epoch_current_;
      if (epoch_current_ == epoch_count_) {
        // Every epoch is used up: what they covered has been consumed.
        bottom_last_ = epochs_last_;
        epoch_count_ = 0;
        continue;
      }
      spread_epoch_into_new_rung(epoch_current_++);
    }
    Rung& rung = rungs_[rung_count_ - 1];
    while (rung.current < rung.buckets && bucket_empty(rung, rung.current)) ++rung.current;
    if (rung.current == rung.buckets) {
      // This rung is used up: everything it covered has been consumed.
      bottom_last_ = rung.last;
      if (--rung_count_ == 0) pool_.clear();
      continue;
    }
    const std::uint32_t bucket = rung.current;
    const Tick bucket_start = rung.start + (static_cast<Tick>(bucket) << rung.shift);
    // Everything before this bucket is consumed; a later insertion before it belongs in
    // the bottom. (Rungs start after bottom_last_, so bucket_start > 0.)
    assert(bucket_start > bottom_last_);
    bottom_last_ = bucket_start - 1;
    const std::size_t size = bucket_size(rung, bucket);
    if (rung.shift > 0 && rung_count_ < kMaxRungs && size > kSortThreshold) {
      split_bucket(rung, bucket);
      continue;
    }
    // Take the following buckets too, up to kBottomTarget entries, stopping before one
    // that would make the bottom too long to sort by insertion.
    std::uint32_t end = bucket + 1;
    std::size_t taken = size;
    const bool small_buckets = size <= kInsertionSortMax;
    while (taken < kBottomTarget && end < rung.buckets) {
      const std::size_t next = bucket_size(rung, end);
      if (taken + next > kBottomMax || next > kInsertionSortMax) break;
      taken += next;
      ++end;
    }
    aim_prefetch(rung, rung.first[end]);
    sort_buckets_into_bottom(rung, bucket, end, small_buckets);
    return true;
  }
}

void EventQueue::aim_prefetch(Rung& rung, std::uint32_t from) {
  // Pops move the cursor one entry each, and every entry of the rung up to `from` is in
  // the bottom or consumed, so once aimed the cursor stays kPrefetchDistance or more
  // ahead of the pops. It is re-aimed (with a burst of prefetches) only when the pops
  // move to another rung, or it was stopped.
  const Entry* const at = rung.entries.data() + from;
  if (ahead_rung_ == &rung && ahead_ >= at) return;
  ahead_rung_ = &rung;
  ahead_ = at;
  ahead_end_ = rung.entries.data() + rung.first[rung.buckets];
  for (std::uint32_t i = 0; i < kPrefetchDistance && ahead_ != ahead_end_; ++i) prefetch_event(*ahead_++);
}

std::size_t EventQueue::bucket_size(const Rung& rung, std::uint32_t bucket) const {
  std::size_t size = rung.first[bucket + 1] - rung.first[bucket];
  for (std::uint32_t n = rung.extra[bucket]; n != kNone; n = pool_[n].next) ++size;
  return size;
}

void EventQueue::take_buckets(Rung& rung, std::uint32_t bucket, std::uint32_t end, std::vector<Entry>& out) {
  out.assign(rung.entries.begin() + rung.first[bucket], rung.entries.begin() + rung.first[end]);
  rung.current = end;
  std::uint32_t b = bucket;
  while (b < end && rung.extra[b] == kNone) ++b;
  if (b == end) return;  // the usual case: no later arrivals
  // Later arrivals go after the entries of their own bucket, so that the entries stay in
  // bucket order (a small rung, covering most pending events, gets many of them).
  out.resize(rung.first[b] - rung.first[bucket]);
  for (; b < end; ++b) {
    out.insert(out.end(), rung.entries.begin() + rung.first[b], rung.entries.begin() + rung.first[b + 1]);
    for (std::uint32_t n = rung.extra[b]; n != kNone; n = pool_[n].next) out.push_back(pool_[n].entry);
    rung.extra[b] = kNone;
  }
}

void EventQueue::build_rung(Rung& rung, std::uint64_t buckets, const Entry* entries, std::size_t count) {
  rung.buckets = static_cast<std::uint32_t>(buckets);
  rung.current = 0;
  rung.extra.assign(buckets, kNone);
  // A counting sort by bucket: counts at b + 2, so that after the prefix sums first[b + 1]
  // is where bucket b starts, and after the scatter where it ends (where b + 1 starts).
  std::vector<std::uint32_t>& first = rung.first;
  first.assign(buckets + 2, 0);
  const Tick start = rung.start;
  const unsigned shift = rung.shift;
  for (std::size_t i = 0; i < count; ++i) ++first[((entries[i].when - start) >> shift) + 2];
  for (std::size_t b = 2; b < buckets + 2; ++b) first[b] += first[b - 1];
  rung.entries.resize(count);
  Entry* const out = rung.entries.data();
  for (std::size_t i = 0; i < count; ++i) out[first[((entries[i].when - start) >> shift) + 1]++] = entries[i];
}

void EventQueue::deal_far_into_epochs() {
  ++stats_.epoch_builds;
  // Spans of a power-of-two width covering [far_min_, far_max_]: up to kEpochs of them,
  // fewer for a small queue so that each rung built from one is worth building.
  const std::uint64_t wanted = std::clamp<std::uint64_t>(far_.size() / kMinEpochEvents, 1, kEpochs);
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
  for (const Entry& entry : far_) {
    std::vector<Entry>& epoch = epochs_[(entry.when - epochs_start_) >> epoch_shift_];
    __builtin_prefetch(epoch.data() + epoch.size() + kEpochAhead, 1);
    epoch.push_back(entry);
  }
  far_.clear();
  far_min_ = kTickNever;
  far_max_ = 0;
}

void EventQueue::spread_epoch_into_new_rung(unsigned epoch) {
  ++stats_.spreads;
  std::vector<Entry>& entries = epochs_[epoch];
  const Tick start = epochs_start_ + (static_cast<Tick>(epoch) << epoch_shift_);
  const Tick width_less_one = (Tick{1} << epoch_shift_) - 1;
  const Tick last = epochs_last_ - start <= width_less_one ? epochs_last_ : start + width_less_one;

  // About one entry per bucket: the smallest bucket width giving at most `count` buckets.
  Rung& rung = rungs_[0];
  rung_count_ = 1;
  pool_.clear();
  stop_prefetch();  // the rung's entries are about to be rewritten
  const std::uint64_t count = entries.size();
  const Tick span = last - start;
  unsigned shift = 0;
  while (shift < 63 && ((span >> shift) >= count || (span >> shift) >= kMaxBuckets)) ++shift;
  rung.start = start;
  rung.last = last;
  rung.shift = shift;
  build_rung(rung, (span >> shift) + 1, entries.data(), entries.size());
  entries.clear();
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

void EventQueue::split_bucket(Rung& parent, std::uint32_t bucket) {
  ++stats_.splits;
  const Tick start = parent.start + (static_cast<Tick>(bucket) << parent.shift);
  const Tick last = bucket_last(parent, bucket);
  take_buckets(parent, bucket, bucket + 1, scratch_);
  const auto count = scratch_.size();
  const unsigned finer = std::min<unsigned>(parent.shift, static_cast<unsigned>(std::bit_width(count) - 1));
  Rung& child = rungs_[rung_count_++];
  if (ahead_rung_ == &child) stop_prefetch();  // the child's entries are about to be rewritten
  child.start = start;
  child.last = last;
  child.shift = parent.shift - finer;
  build_rung(child, std::uint64_t{1} << finer, scratch_.data(), count);
}

void EventQueue::sort_buckets_into_bottom(Rung& rung, std::uint32_t bucket, std::uint32_t end,
                                          bool small_buckets) {
  bottom_last_ = bucket_last(rung, end - 1);
  take_buckets(rung, bucket, end, bottom_);
  bottom_pos_ = 0;
  if (bottom_.size() == 1) return;
  if (small_buckets) {
    // The entries are in bucket order, each bucket a handful: an insertion sort moves
    // each only within its bucket, without std::sort's set-up.
    for (std::size_t i = 1; i < bottom_.size(); ++i) {
      if (!before(bottom_[i], bottom_[i - 1])) continue;
      const Entry entry = bottom_[i];
      std::size_t j = i;
      for (; j > 0 && before(entry, bottom_[j - 1]); --j) bottom_[j] = bottom_[j - 1];
      bottom_[j] = entry;
    }
  } else {
    std::sort(bottom_.begin(), bottom_.end(), before);
  }
}

}  // namespace ossim::sim
