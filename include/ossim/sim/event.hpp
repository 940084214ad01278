#pragma once

/// @file
/// Events: the things that happen at a simulated time.
///
/// An Event is owned by the component that schedules it (usually as a member), so
/// scheduling never allocates. An event is pending in at most one queue at a time. The
/// queue keeps small (time, sequence, event) entries; the event keeps the sequence of its
/// one current entry, so reschedule and cancel are O(1): an entry whose sequence is no
/// longer the event's is stale, and the queue drops it when it meets it.

#include <cstdint>
#include <functional>
#include <utility>

#include "ossim/sim/tick.hpp"

namespace ossim::sim {

class EventQueue;
class Engine;

/// Where an event's handler may run. Most handlers only change state and schedule other
/// events, so a CPU's fiber that has run ahead to them may fire them on its own stack
/// (Engine::run_ahead_to). A handler that switches fibers must run on the host
/// (kHostOnly), except one that does nothing but resume a fiber (kResumesFiber, which
/// only ResumeFiberEvent has): a fiber giving up control may fire that one by switching
/// to the fiber directly (Engine::yield_fiber).
enum class FireContext : std::uint8_t { kAny, kHostOnly, kResumesFiber };

/// Something that happens at a simulated time. Derive and implement fire(), or use
/// CallbackEvent. Destroying a scheduled event cancels it.
class Event {
 public:
  /// `name` must outlive the event (a string literal); it appears in traces and errors.
  explicit Event(const char* name = "event", FireContext context = FireContext::kAny)
      : context_(context), name_(name) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  virtual ~Event();

  bool scheduled() const { return queue_ != nullptr; }
  /// The time the event is (or was last) scheduled for.
  Tick when() const { return when_; }
  const char* name() const { return name_; }
  FireContext fire_context() const { return context_; }

 protected:
  /// Called by the queue at when(); the event is no longer scheduled when it runs, so it
  /// may schedule itself again.
  virtual void fire() = 0;

 private:
  friend class EventQueue;
  friend class Engine;

  Tick when_ = 0;
  std::uint64_t sequence_ = 0;  // insertion order, for ties; names the current entry
  EventQueue* queue_ = nullptr;  // the queue it is pending in
  // Stale entries (left by cancels and reschedules) not yet dropped, all in home_.
  EventQueue* home_ = nullptr;
  std::uint32_t stale_ = 0;
  FireContext context_;
  const char* name_;
};

/// An event that calls a function. The function is stored once, when the event is built;
/// scheduling it costs nothing more than scheduling any other event.
class CallbackEvent final : public Event {
 public:
  explicit CallbackEvent(std::function<void()> callback, const char* name = "callback",
                         FireContext context = FireContext::kAny)
      : Event(name, context), callback_(std::move(callback)) {}

 private:
  void fire() override { callback_(); }
  std::function<void()> callback_;
};

}  // namespace ossim::sim
