#pragma once

/// @file
/// The pending-event set: a 4-ary min-heap of (time, sequence, event) entries.
///
/// Order is (time, insertion sequence): two events at the same tick fire in the order they
/// were (re)scheduled, so a run is reproducible bit for bit. Each event stores its heap
/// slot, so reschedule and cancel are O(log n) without searching. The heap's array only
/// grows past its largest size so far; a steady state schedules and pops without
/// allocating. A 4-ary heap keeps the four children of a node in adjacent entries, which
/// halves the depth of a binary heap and keeps each level's comparison in one or two cache
/// lines.

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
    event.queue_ = this;
    heap_.push_back(Entry{when, next_sequence_++, &event});
    sift_up(static_cast<std::uint32_t>(heap_.size() - 1));
  }

  /// Moves an event to a new time; schedules it if it was not scheduled. Counts as a new
  /// insertion for tie-breaking.
  void reschedule(Event& event, Tick when) {
    if (event.queue_ != this) {
      if (event.scheduled()) event.queue_->cancel(event);
      schedule(event, when);
      return;
    }
    const std::uint32_t slot = event.slot_;
    const Tick old_when = heap_[slot].when;
    event.when_ = when;
    heap_[slot].when = when;
    heap_[slot].sequence = next_sequence_++;
    if (when < old_when) {
      sift_up(slot);
    } else {
      sift_down(slot);
    }
  }

  /// Removes a scheduled event; does nothing if it is not scheduled here.
  void cancel(Event& event) {
    if (event.queue_ != this) return;
    remove_at(event.slot_);
  }

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }

  /// The time of the earliest pending event, or kTickNever.
  Tick next_time() const { return heap_.empty() ? kTickNever : heap_.front().when; }

  /// Removes and returns the earliest event (which is no longer scheduled afterwards).
  /// Precondition: !empty().
  Event& pop() {
    Event& first = *heap_.front().event;
    remove_at(0);
    return first;
  }

  /// Pre-sizes the heap so that up to `events` pending events never allocate.
  void reserve(std::size_t events) { heap_.reserve(events); }

 private:
  struct Entry {
    Tick when;
    std::uint64_t sequence;
    Event* event;
  };
  static constexpr std::uint32_t kArity = 4;

  static bool before(const Entry& a, const Entry& b) {
    return a.when < b.when || (a.when == b.when && a.sequence < b.sequence);
  }

  void place(std::uint32_t slot, const Entry& entry) {
    heap_[slot] = entry;
    entry.event->slot_ = slot;
  }

  void sift_up(std::uint32_t slot) {
    const Entry moving = heap_[slot];
    while (slot > 0) {
      const std::uint32_t parent = (slot - 1) / kArity;
      if (!before(moving, heap_[parent])) break;
      place(slot, heap_[parent]);
      slot = parent;
    }
    place(slot, moving);
  }

  void sift_down(std::uint32_t slot) {
    const Entry moving = heap_[slot];
    const auto size = static_cast<std::uint32_t>(heap_.size());
    for (;;) {
      const std::uint32_t first_child = slot * kArity + 1;
      if (first_child >= size) break;
      const std::uint32_t last_child =
          first_child + kArity <= size ? first_child + kArity : size;
      std::uint32_t best = first_child;
      for (std::uint32_t child = first_child + 1; child < last_child; ++child) {
        if (before(heap_[child], heap_[best])) best = child;
      }
      if (!before(heap_[best], moving)) break;
      place(slot, heap_[best]);
      slot = best;
    }
    place(slot, moving);
  }

  void remove_at(std::uint32_t slot) {
    Event& removed = *heap_[slot].event;
    removed.queue_ = nullptr;
    removed.slot_ = Event::kNoSlot;
    const Entry last = heap_.back();
    heap_.pop_back();
    if (slot == heap_.size()) return;
    place(slot, last);
    if (slot > 0 && before(last, heap_[(slot - 1) / kArity])) {
      sift_up(slot);
    } else {
      sift_down(slot);
    }
  }

  std::vector<Entry> heap_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace ossim::sim
