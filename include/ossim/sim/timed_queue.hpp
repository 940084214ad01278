#pragma once

/// @file
/// Items that arrive at simulated times, through one event the queue owns: console input
/// injected for later, interrupt messages in flight on the APIC bus. Items due at the same
/// tick arrive in the order they were pushed. An arrival may push more items; those due
/// at once arrive in the same batch.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "ossim/sim/engine.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::sim {

template <typename T>
class TimedQueue {
 public:
  /// `arrive` is called with each item when it falls due; `after_batch`, if set, once after
  /// all the items due at a firing have arrived. `name` must outlive the queue.
  TimedQueue(Engine& engine, std::function<void(T&)> arrive, std::function<void()> after_batch = nullptr,
             const char* name = "timed-queue")
      : engine_(engine),
        arrive_(std::move(arrive)),
        after_batch_(std::move(after_batch)),
        event_([this] { arrive_due(); }, name) {}

  /// Queues `item` to arrive at `when` (clamped to the engine's now).
  void push(Tick when, T item) {
    items_.push_back(Timed{when < engine_.now() ? engine_.now() : when, next_sequence_++, std::move(item)});
    std::push_heap(items_.begin(), items_.end(), later);
    arm();
  }

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

 private:
  struct Timed {
    Tick when;
    std::uint64_t sequence;
    T item;
  };
  static bool later(const Timed& a, const Timed& b) {
    return a.when > b.when || (a.when == b.when && a.sequence > b.sequence);
  }

  void arrive_due() {
    while (!items_.empty() && items_.front().when <= engine_.now()) {
      std::pop_heap(items_.begin(), items_.end(), later);
      T item = std::move(items_.back().item);
      items_.pop_back();
      arrive_(item);
    }
    arm();
    if (after_batch_) after_batch_();
  }

  void arm() {
    if (items_.empty()) {
      engine_.cancel(event_);
      return;
    }
    const Tick next = items_.front().when;
    if (!event_.scheduled() || event_.when() != next) engine_.reschedule(event_, next);
  }

  Engine& engine_;
  std::function<void(T&)> arrive_;
  std::function<void()> after_batch_;
  std::vector<Timed> items_;  // a min-heap on (when, sequence)
  std::uint64_t next_sequence_ = 0;
  CallbackEvent event_;
};

}  // namespace ossim::sim
