#pragma once

/// @file
/// An event whose only work is to resume a fiber: a CPU's run event, which resumes the
/// context the CPU runs when the engine reaches the CPU's clock.

#include <functional>
#include <utility>

#include "ossim/sim/event.hpp"
#include "ossim/sim/fiber.hpp"

namespace ossim::sim {

/// Fired on the host, it switches to its fiber. A fiber that gives up control while this
/// event is the next one due (Engine::yield_fiber) fires it in the host's place by
/// switching to that fiber directly: one switch instead of two through the host.
class ResumeFiberEvent final : public Event {
 public:
  /// `prepare` runs when the event fires, on whichever fiber fires it, and returns the
  /// fiber to resume (not finished, and not the fiber firing it). `name` must outlive
  /// the event.
  ResumeFiberEvent(FiberRuntime& fibers, std::function<Fiber&()> prepare, const char* name)
      : Event(name, FireContext::kResumesFiber), fibers_(fibers), prepare_(std::move(prepare)) {}

 private:
  friend class Engine;
  Fiber& prepare() { return prepare_(); }
  void fire() override { fibers_.switch_to(prepare_()); }

  FiberRuntime& fibers_;
  std::function<Fiber&()> prepare_;
};

}  // namespace ossim::sim
