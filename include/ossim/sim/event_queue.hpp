#pragma once

/// @file
/// The pending-event set: a ladder queue (Tang, Goh and Thng, "Ladder Queue: An O(1)
/// Priority Queue Structure for Large-Scale Discrete Event Simulation", ACM TOMACS 2005),
/// arranged so that the work per event is a few sequential passes and cache-resident
/// random writes rather than pointer chasing through memory.
///
/// Events fire in (time, insertion sequence) order; a reschedule counts as a new
/// insertion. Four tiers hold disjoint, increasing ranges of time:
///
///   bottom  a short list sorted by (time, sequence): the events due next
///   rungs   a stack of bucket arrays, each finer than the one before, each bucket an
///           unsorted linked list covering a fixed span of time
///   epochs  up to 64 consecutive wide spans of time, each an unsorted array
///   far     an unsorted array of everything later than the epochs cover
///
/// Scheduling appends to an epoch or to the far array, or pushes onto a bucket, or
/// (rarely) inserts into the short bottom list. When the bottom runs dry, the earliest
/// non-empty bucket of the innermost rung is sorted into it, or split into a finer rung if
/// it holds too many events. When the rungs run dry, the next epoch is spread over a new
/// rung sized so that a bucket holds about one event; a rung's bucket array is thus about
/// a sixty-fourth of the queue and stays in cache. When the epochs run dry, the far array
/// is dealt out into new epochs. Every event moves a bounded number of times, so schedule,
/// pop, reschedule and cancel are O(1) amortized. Events carry their own links and
/// position, so nothing allocates per event; arrays only grow past their largest size so
/// far. A cancelled event leaves a hole in its array, closed when holes outnumber events.

#include <cassert>
#include <cstddef>
#include <cstdint>
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
  void schedule(Event& event, Tick when) {
    assert(!event.scheduled());
    event.when_ = when;
    event.sequence_ = next_sequence_++;
    event.queue_ = this;
    ++size_;
    insert(event);
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
    remove(event);
    event.queue_ = nullptr;
    --size_;
    if (size_ == 0) {
      become_empty();
    } else if (event.when_ == next_time_) {
      find_next_time();
    }
  }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  /// The time of the earliest pending event, or kTickNever. One load, kept exact by every
  /// operation: CPUs ask this before each of theirs.
  Tick next_time() const { return next_time_; }

  /// Removes and returns the earliest event (which is no longer scheduled afterwards).
  /// Precondition: !empty().
  Event& pop() {
    if (bottom_head_ == nullptr) refill_bottom();
    Event& first = *bottom_head_;
    unlink_bottom(first);
    first.queue_ = nullptr;
    --size_;
    if (size_ == 0) {
      become_empty();
    } else if (bottom_head_ != nullptr) {
      next_time_ = bottom_head_->when_;
    } else {
      find_next_time();
    }
    return first;
  }

  /// Pre-sizes the far array so that up to `events` pending events never allocate there.
  void reserve(std::size_t events) { far_.items.reserve(events); }

  /// Counters describing the queue's work (for tests and benchmarks).
  struct Stats {
    std::uint64_t epoch_builds = 0;  // far arrays dealt out into epochs
    std::uint64_t spreads = 0;       // rungs built from an epoch
    std::uint64_t splits = 0;        // buckets split into finer rungs
    std::uint64_t sorted_inserts = 0;  // schedules that went straight into the sorted bottom
  };
  const Stats& stats() const { return stats_; }

 private:
  enum Tier : std::uint8_t { kBottom = 1, kFar = 2, kEpoch = 3, kFirstRung = 4 };
  static constexpr unsigned kEpochs = 64;
  /// Epochs are made wide enough to hold about this many events each.
  static constexpr std::uint64_t kMinEpochEvents = 512;
  static constexpr unsigned kMaxRungs = 24;
  /// A bucket with more events than this is split into a finer rung rather than sorted.
  static constexpr std::uint32_t kSortThreshold = 48;
  /// At most this many buckets in one rung (a coarser rung holds more per bucket).
  static constexpr std::uint64_t kMaxBuckets = std::uint64_t{1} << 22;
  /// How many buckets ahead of the one being consumed the events are prefetched.
  static constexpr std::uint32_t kPrefetchDistance = 8;
  /// Buckets of up to this many events are sorted by insertion.
  static constexpr std::size_t kInsertionSortMax = 12;

  struct Rung {
    Tick start = 0;
    Tick last = 0;            // last tick covered (inclusive, so kTickNever fits)
    unsigned shift = 0;       // each bucket covers 2^shift ticks
    std::uint32_t current = 0;  // first bucket not yet consumed
    std::vector<Event*> heads;  // doubly linked bucket lists (a null head: empty bucket)
  };

  struct PileEntry {
    Tick when;
    Event* event;  // nullptr: a hole (cancelled, or moved on)
  };
  /// An unsorted array of events: an epoch, or the far array.
  struct Pile {
    std::vector<PileEntry> items;
    std::size_t live = 0;
  };

  static bool before(const Event& a, const Event& b) {
    return a.when_ < b.when_ || (a.when_ == b.when_ && a.sequence_ < b.sequence_);
  }

  /// An empty queue starts over: the tiers' time ranges no longer constrain where new
  /// events go (insertions before the last popped time would otherwise all land in the
  /// sorted bottom list).
  void forget_ranges();
  void become_empty() {
    forget_ranges();
    next_time_ = kTickNever;
  }
  /// Recomputes next_time_ (the exact earliest time, kept up to date by every operation)
  /// when the earliest event may have gone: the bottom's head, refilling it if needed.
  /// Precondition: the queue is not empty.
  void find_next_time() {
    if (bottom_head_ == nullptr) refill_bottom();
    next_time_ = bottom_head_->when_;
  }
  void insert(Event& event);
  void remove(Event& event);
  void insert_bottom(Event& event);
  void unlink_bottom(Event& event);
  void push_bucket(Rung& rung, unsigned rung_index, Event& event);
  /// Makes the bottom non-empty; false when the queue is empty.
  bool refill_bottom();
  void append(Pile& pile, Event& event, Tier tier, std::uint16_t group);
  /// Fills holes with entries from the end, telling the moved events their new index.
  static void close_holes(Pile& pile);
  void deal_far_into_epochs();
  void spread_epoch_into_new_rung(unsigned epoch);
  /// The last tick a bucket covers (the rung's last for a bucket cut short).
  static Tick bucket_last(const Rung& rung, std::uint32_t bucket);
  static bool bucket_holds_more_than(const Event* head, std::uint32_t limit);
  void split_bucket(Rung& parent, std::uint32_t bucket);
  void sort_bucket_into_bottom(Rung& rung, std::uint32_t bucket);

  std::size_t size_ = 0;
  std::uint64_t next_sequence_ = 0;
  Tick next_time_ = kTickNever;

  Event* bottom_head_ = nullptr;
  Event* bottom_tail_ = nullptr;
  Tick bottom_last_ = 0;  // events at or before this time belong in the bottom

  Rung rungs_[kMaxRungs];
  unsigned rung_count_ = 0;

  Pile epochs_[kEpochs];
  unsigned epoch_count_ = 0;    // 0: no epochs
  unsigned epoch_current_ = 0;  // first epoch not yet spread
  Tick epochs_start_ = 0;
  Tick epochs_last_ = 0;
  unsigned epoch_shift_ = 0;    // each epoch covers 2^epoch_shift_ ticks

  Pile far_;
  Tick far_min_ = kTickNever;  // bounds on the far array's times
  Tick far_max_ = 0;

  Stats stats_;
  std::vector<Event*> sort_buffer_;
};

}  // namespace ossim::sim
