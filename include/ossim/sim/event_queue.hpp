#pragma once

/// @file
/// The pending-event set: a ladder queue (Tang, Goh and Thng, "Ladder Queue: An O(1)
/// Priority Queue Structure for Large-Scale Discrete Event Simulation", ACM TOMACS 2005)
/// of small entries, (time, sequence, event pointer), so that the queue's own passes move
/// 24-byte entries through arrays and never touch the events themselves. An event is
/// touched when it is scheduled and when it is popped (or cancelled), and nothing in
/// between.
///
/// Events fire in (time, insertion sequence) order; a reschedule counts as a new
/// insertion. Four tiers hold disjoint, increasing ranges of time:
///
///   bottom  a short array sorted by (time, sequence): the entries due next
///   rungs   a stack of bucket arrays, each finer than the one before: entries
///           counting-sorted by bucket, each bucket covering a fixed span of time and
///           unsorted within (later arrivals on a short list per bucket)
///   epochs  up to 64 consecutive wide spans of time, each an unsorted array
///   far     an unsorted array of everything later than the epochs cover
///
/// Scheduling appends to an epoch or to the far array, or pushes onto a bucket, or
/// (rarely) inserts into the short bottom array. When the bottom runs dry, the next few
/// buckets of the innermost rung (a few dozen entries) are sorted into it, or the next
/// bucket is split into a finer rung if it holds too many entries. Taking several buckets
/// at a time keeps the refill off the path of most pops (a bucket holds about one entry).
/// When the rungs run dry, the next epoch is spread over a new
/// rung sized so that a bucket holds about one entry. When the epochs run dry, the far
/// array is dealt out into new epochs. Every entry moves a bounded number of times, so
/// schedule, pop, reschedule and cancel are O(1) amortized. Arrays only grow past their
/// largest size so far; nothing allocates per event.
///
/// Cancellation is lazy. An event records the sequence of its current entry; cancel and
/// reschedule leave the old entry in place, stale. Stale entries are dropped when they
/// reach the head of the bottom, or all at once when they outnumber the pending events
/// (a collection), or when the queue becomes empty. While no stale entry exists (the
/// usual case), the head is known to be live without looking at its event. An event
/// destroyed while it still has stale entries is remembered by address, with the
/// sequence below which its entries are dead, so a dead event is never read.

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "ossim/sim/event.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::sim {

class EventQueue {
 public:
  EventQueue() = default;
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;
  /// Pending events are detached (they become unscheduled), so events may outlive the
  /// queue.
  ~EventQueue();

  /// Schedules an event that is not scheduled. Precondition: !event.scheduled().
  void schedule(Event& event, Tick when) { schedule_reserved(event, when, next_sequence_++); }

  /// A sequence for schedule_reserved(), taken now.
  std::uint64_t reserve_sequence() { return next_sequence_++; }
  /// schedule() with a sequence from reserve_sequence(): among events due at the same
  /// time, the event comes where it would have had it been scheduled when the sequence
  /// was reserved. Precondition: !event.scheduled(), and each reserved sequence used once.
  void schedule_reserved(Event& event, Tick when, std::uint64_t sequence) {
    assert(!event.scheduled() && sequence < next_sequence_);
    if (event.stale_ != 0 && event.home_ != this) event.home_->purge(event);
    event.home_ = this;
    event.when_ = when;
    event.sequence_ = sequence;
    event.queue_ = this;
    ++size_;
    insert(when, sequence, &event);
    if (when < next_time_) next_time_ = when;
  }

  /// Moves an event to a new time; schedules it if it was not scheduled. Counts as a new
  /// insertion for tie-breaking.
  void reschedule(Event& event, Tick when) {
    if (event.scheduled()) event.queue_->cancel(event);
    schedule(event, when);
  }

  /// Removes a scheduled event; does nothing if it is not scheduled here.
  void cancel(Event& event) {
    if (event.queue_ != this) return;
    event.queue_ = nullptr;
    ++event.stale_;  // its entry stays behind, stale
    ++stale_count_;
    --size_;
    if (size_ == 0) {
      become_empty();
      return;
    }
    if (event.when_ == next_time_) settle();
    if (stale_count_ > size_ + kCollectSlack) collect();
  }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  /// The time of the earliest pending event, or kTickNever. One load, kept exact by every
  /// operation: CPUs ask this before each of theirs.
  Tick next_time() const { return next_time_; }

  /// The earliest event, left pending. Precondition: !empty().
  const Event& peek() {
    if (bottom_pos_ == bottom_.size()) settle();
    return *bottom_[bottom_pos_].event;
  }

  /// Removes and returns the earliest event (which is no longer scheduled afterwards).
  /// Precondition: !empty().
  Event& pop() {
    if (bottom_pos_ == bottom_.size()) settle();
    // The bottom's head is always live (settle() skips stale entries).
    Event& first = *bottom_[bottom_pos_++].event;
    first.queue_ = nullptr;
    --size_;
    // One event further on, so that the events are in cache when their turn comes.
    if (ahead_ != ahead_end_) prefetch_event(*ahead_++);
    if (size_ == 0) {
      become_empty();
    } else if (bottom_pos_ != bottom_.size() && stale_count_ == 0) {
      next_time_ = bottom_[bottom_pos_].when;
    } else {
      settle();
    }
    return first;
  }

  /// Pre-sizes the far array so that up to `events` pending events never allocate there.
  void reserve(std::size_t events) { far_.reserve(events); }

  /// Counters describing the queue's work (for tests and benchmarks).
  struct Stats {
    std::uint64_t epoch_builds = 0;  // far arrays dealt out into epochs
    std::uint64_t spreads = 0;       // rungs built from an epoch
    std::uint64_t splits = 0;        // buckets split into finer rungs
    std::uint64_t sorted_inserts = 0;  // schedules that went straight into the sorted bottom
    std::uint64_t collections = 0;   // sweeps dropping every stale entry
  };
  const Stats& stats() const { return stats_; }
  /// Entries held for cancelled or rescheduled events, not yet dropped (for tests).
  std::size_t stale_entries() const { return stale_count_; }

 private:
  friend class Event;

  struct Entry {
    Entry() {}  // left uninitialized: arrays of entries are sized, then written
    Entry(Tick w, std::uint64_t s, Event* e) : when(w), sequence(s), event(e) {}
    Tick when;
    std::uint64_t sequence;
    Event* event;
  };
  /// An entry in a rung bucket's list.
  struct Node {
    Node() {}  // left uninitialized, as Entry
    Node(const Entry& e, std::uint32_t n) : entry(e), next(n) {}
    Node(Tick when, std::uint64_t sequence, Event* event, std::uint32_t n) : entry(when, sequence, event), next(n) {}
    Entry entry;
    std::uint32_t next;
  };
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  static constexpr unsigned kEpochs = 64;
  static constexpr unsigned kMaxRungs = 24;
  // (More tuning constants are in event_queue.cpp.)
  /// Stale entries are all dropped once they outnumber the pending events by this much.
  static constexpr std::size_t kCollectSlack = 1024;

  /// A rung: its entries sorted by bucket (a counting sort), each bucket a range of
  /// `entries`; entries scheduled into a bucket after the rung was built go on a list of
  /// nodes in pool_.
  struct Rung {
    Tick start = 0;
    Tick last = 0;            // last tick covered (inclusive, so kTickNever fits)
    unsigned shift = 0;       // each bucket covers 2^shift ticks
    std::uint32_t buckets = 0;
    std::uint32_t current = 0;     // first bucket not yet consumed
    std::vector<std::uint32_t> first;  // bucket b is entries[first[b], first[b + 1])
    std::vector<std::uint32_t> extra;  // first node of each bucket's list of later entries
    std::vector<Entry> entries;
  };

  /// An event destroyed while stale entries for it remained.
  struct Dead {
    std::uint64_t below;  // its entries have sequences below this
    std::uint64_t count;  // how many of them are left
  };

  /// Fetches the part of an event the queue and its caller touch (from the vtable pointer
  /// to stale_), which may span two cache lines.
  static void prefetch_event(const Entry& entry) {
    __builtin_prefetch(entry.event, 1);
    __builtin_prefetch(&entry.event->stale_, 1);
  }

  static bool before(const Entry& a, const Entry& b) {
    return a.when < b.when || (a.when == b.when && a.sequence < b.sequence);
  }

  /// Whether an entry is its event's current one. A stale entry is accounted for (it is
  /// being dropped), so call this once per entry being dropped.
  bool live(const Entry& entry) { return stale_count_ == 0 || live_slow(entry); }
  bool live_slow(const Entry& entry);
  /// Whether an entry belongs to a destroyed event (such an entry's event is not read).
  bool dead(const Entry& entry) const;

  /// An empty queue starts over: the tiers' time ranges no longer constrain where new
  /// entries go (insertions before the last popped time would otherwise all land in the
  /// sorted bottom).
  void forget_ranges();
  void become_empty();
  /// Makes the bottom's head the earliest live entry, dropping stale ones and refilling
  /// as needed, and sets next_time_ from it. Precondition: the queue is not empty.
  void settle();
  /// Drops every stale entry.
  void collect();
  /// Drops the entries of `event`, which are all stale, and makes it forget them (it is
  /// being scheduled in another queue).
  void purge(Event& event);
  /// Remembers that `event`, being destroyed, still has stale entries here.
  void bury(Event& event);
  /// Visits every entry (read only).
  template <typename Visit>
  void for_each_entry(Visit visit) const;
  /// Keeps only the entries for which `keep` is true (called once per entry).
  template <typename Keep>
  void filter(Keep keep);

  // The entry being inserted comes as its three fields, not as an Entry: an Entry built
  // in the caller and passed by reference is written a word at a time and then copied
  // with 16-byte moves, a failed store-to-load forward (and a wait) on every schedule.
  void insert(Tick when, std::uint64_t sequence, Event* event);
  void insert_bottom(Tick when, std::uint64_t sequence, Event* event);
  /// Puts an entry on its bucket's list of later arrivals.
  void push_bucket(Rung& rung, Tick when, std::uint64_t sequence, Event* event);
  /// Sets up `rung`'s buckets (start, last and shift set) and sorts `count` entries into them.
  static void build_rung(Rung& rung, std::uint64_t buckets, const Entry* entries, std::size_t count);
  bool bucket_empty(const Rung& rung, std::uint32_t bucket) const {
    return rung.first[bucket] == rung.first[bucket + 1] && rung.extra[bucket] == kNone;
  }
  std::size_t bucket_size(const Rung& rung, std::uint32_t bucket) const;
  /// Copies the entries of buckets [bucket, end) into `out`, in bucket order (unsorted
  /// within a bucket), and consumes them.
  void take_buckets(Rung& rung, std::uint32_t bucket, std::uint32_t end, std::vector<Entry>& out);
  /// Makes the bottom non-empty; false when every tier is empty.
  bool refill_bottom();
  /// Points the prefetch cursor (ahead_) past the entries of `rung` up to index `from`,
  /// unless it already walks that rung further on.
  void aim_prefetch(Rung& rung, std::uint32_t from);
  /// Stops the prefetch cursor (its rung is being rebuilt or compacted).
  void stop_prefetch() {
    ahead_ = ahead_end_ = nullptr;
    ahead_rung_ = nullptr;
  }
  void deal_far_into_epochs();
  void spread_epoch_into_new_rung(unsigned epoch);
  /// The last tick a bucket covers (the rung's last for a bucket cut short).
  static Tick bucket_last(const Rung& rung, std::uint32_t bucket);
  void split_bucket(Rung& parent, std::uint32_t bucket);
  /// Sorts buckets [bucket, end) of the innermost rung into the bottom.
  void sort_buckets_into_bottom(Rung& rung, std::uint32_t bucket, std::uint32_t end, bool small_buckets);

  std::size_t size_ = 0;
  std::size_t stale_count_ = 0;  // stale entries held, including dead events'
  std::uint64_t next_sequence_ = 0;
  Tick next_time_ = kTickNever;

  std::vector<Entry> bottom_;  // sorted; entries before bottom_pos_ are consumed
  std::size_t bottom_pos_ = 0;
  Tick bottom_last_ = 0;  // entries at or before this time belong in the bottom

  Rung rungs_[kMaxRungs];
  unsigned rung_count_ = 0;
  std::vector<Node> pool_;  // the nodes of every rung's buckets
  std::vector<Node> spare_pool_;
  std::vector<Entry> scratch_;
  // The prefetch cursor: each pop prefetches the event of *ahead_ and advances it, through
  // the entries of the rung being consumed, some way past those already in the bottom.
  const Entry* ahead_ = nullptr;
  const Entry* ahead_end_ = nullptr;
  const Rung* ahead_rung_ = nullptr;

  std::vector<Entry> epochs_[kEpochs];
  unsigned epoch_count_ = 0;    // 0: no epochs
  unsigned epoch_current_ = 0;  // first epoch not yet spread
  Tick epochs_start_ = 0;
  Tick epochs_last_ = 0;
  unsigned epoch_shift_ = 0;    // each epoch covers 2^epoch_shift_ ticks

  std::vector<Entry> far_;
  Tick far_min_ = kTickNever;  // bounds on the far array's times
  Tick far_max_ = 0;

  std::unordered_map<const Event*, Dead> dead_;
  Stats stats_;
};

}  // namespace ossim::sim
