#pragma once

/// @file
/// The discrete-event engine: simulated time, the pending-event queue, the fibers that
/// simulated threads run on, and the seeded random streams. One Engine is one simulation;
/// there are no globals, so any number of engines can live in one process.
///
///     Engine engine({.seed = 42});
///     CallbackEvent hello([&] { std::puts("t = 1 us"); });
///     engine.schedule(hello, 1 * kMicrosecond);
///     engine.run();

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ossim/sim/event.hpp"
#include "ossim/sim/event_queue.hpp"
#include "ossim/sim/fiber.hpp"
#include "ossim/sim/random.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::sim {

struct EngineConfig {
  /// The scenario seed every random stream is derived from.
  std::uint64_t seed = 1;
  /// Bytes of stack per fiber (virtual; the host commits only touched pages).
  std::size_t fiber_stack_bytes = 128 * 1024;
  /// An inaccessible page under each fiber stack, so overflows fault on the host.
  bool fiber_guard_pages = true;
  /// How fibers switch stacks: ossim's own switch where the build has it, or Boost.Context.
  FiberSwitch fiber_switch = FiberSwitch::kNative;
};

class Engine {
 public:
  explicit Engine(const EngineConfig& config = {});
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  /// The time of the event being fired (or of the last one fired).
  Tick now() const { return now_; }

  /// Schedules `event` at absolute time `when`. A time in the past is a bug in the
  /// caller; it is clamped to now() so that time never runs backwards.
  void schedule(Event& event, Tick when) { queue_.schedule(event, when < now_ ? now_ : when); }
  void schedule_in(Event& event, Tick delay) { schedule(event, tick_add(now_, delay)); }
  void reschedule(Event& event, Tick when) { queue_.reschedule(event, when < now_ ? now_ : when); }
  void cancel(Event& event) { queue_.cancel(event); }

  /// The time of the next pending event, or kTickNever when none is pending.
  Tick next_event_time() const { return queue_.next_time(); }
  std::size_t pending_events() const { return queue_.size(); }
  std::uint64_t events_fired() const { return events_fired_; }

  /// Fires the earliest pending event. Returns false if there was none.
  bool step();
  /// Fires events until none is pending or stop() is called.
  void run();
  /// Fires every event due at or before `limit`, then advances now() to `limit` (unless
  /// stop() was called first). Events after `limit` stay pending.
  void run_until(Tick limit);
  /// Makes the current run() or run_until() return after the event being fired.
  void stop() { stop_requested_ = true; }

  /// For a fiber (a CPU's context) that has run ahead to `until` and would now schedule
  /// `resume` there and yield to the host: fires, on the caller's stack, the events the
  /// host would fire before `resume`, as long as each may run in any context
  /// (FireContext::kAny). Returns true when `resume`'s turn comes with none left before
  /// it: now() is `until` and `resume` is not scheduled, so the caller runs on as if
  /// resumed. Otherwise returns false with `resume` scheduled at `until`, ordered among
  /// ties as if scheduled at the call, and the caller must yield (yield_fiber): the next
  /// event switches fibers (another CPU's), stop() was called, or no run() or run_until()
  /// covering `until` is in progress (step() fires exactly one event, never more).
  /// Precondition: !resume.scheduled().
  bool run_ahead_to(Event& resume, Tick until);
  /// Suspends the calling fiber (not the host) until an event or another fiber resumes
  /// it. If the host would fire a ResumeFiberEvent next (a run() or run_until() is in
  /// progress, stop() was not called, and it is due within the run's limit), the caller
  /// fires it here by switching straight to its fiber; otherwise it switches to the host.
  /// Either way events fire in the same order.
  void yield_fiber();
  /// Whether an event's handler is running on a fiber, fired by run_ahead_to(). Such a
  /// handler runs as if on the host: code asking which CPU it runs on must get none.
  bool firing_on_fiber() const { return firing_on_fiber_; }

  std::uint64_t seed() const { return seed_; }
  /// The random stream of a named component: same seed and name, same numbers.
  RandomStream random_stream(std::string_view component) const { return RandomStream(seed_, component); }

  FiberRuntime& fibers() { return fibers_; }

 private:
  /// Takes the earliest pending event off the queue as firing it does: the clock moves to
  /// its time and it counts as fired. Precondition: !queue_.empty().
  Event& take_next();
  void fire_next();

  Tick now_ = 0;
  std::uint64_t seed_;
  std::uint64_t events_fired_ = 0;
  bool stop_requested_ = false;
  bool firing_on_fiber_ = false;
  // While run() or run_until() is in progress: the time it may run to.
  bool running_ = false;
  Tick run_limit_ = 0;
  EventQueue queue_;
  FiberRuntime fibers_;
};

}  // namespace ossim::sim
