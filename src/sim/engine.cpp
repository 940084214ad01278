#include "ossim/sim/engine.hpp"

#include "ossim/sim/resume_fiber_event.hpp"

namespace ossim::sim {

namespace {

/// Sets a flag for the length of a scope, and clears it on the way out (also when an
/// event's handler throws).
class FlagScope {
 public:
  explicit FlagScope(bool& flag) : flag_(flag) { flag_ = true; }
  FlagScope(const FlagScope&) = delete;
  FlagScope& operator=(const FlagScope&) = delete;
  ~FlagScope() { flag_ = false; }

 private:
  bool& flag_;
};

}  // namespace

Engine::Engine(const EngineConfig& config)
    : seed_(config.seed), fibers_(config.fiber_stack_bytes, config.fiber_guard_pages, config.fiber_switch) {}

Engine::~Engine() = default;

Event& Engine::take_next() {
  Event& event = queue_.pop();
  now_ = event.when_;
  ++events_fired_;
  return event;
}

void Engine::fire_next() { take_next().fire(); }

bool Engine::step() {
  if (queue_.empty()) return false;
  fire_next();
  return true;
}

void Engine::run() { run_until(kTickNever); }

void Engine::run_until(Tick limit) {
  stop_requested_ = false;
  run_limit_ = limit;
  const FlagScope running(running_);
  while (!stop_requested_ && !queue_.empty() && queue_.next_time() <= limit) fire_next();
  if (!stop_requested_ && limit != kTickNever && limit > now_) now_ = limit;
}

bool Engine::run_ahead_to(Event& resume, Tick until) {
  if (until < now_) until = now_;
  const std::uint64_t sequence = queue_.reserve_sequence();
  if (running_ && until <= run_limit_) {
    while (!stop_requested_) {
      // Whether `resume`'s turn has come: nothing pending, or the next event after it.
      const Event* next = queue_.empty() ? nullptr : &queue_.peek();
      if (next == nullptr || next->when_ > until || (next->when_ == until && next->sequence_ > sequence)) {
        now_ = until;
        return true;
      }
      if (next->fire_context() != FireContext::kAny) break;
      const FlagScope on_fiber(firing_on_fiber_);
      fire_next();
    }
  }
  queue_.schedule_reserved(resume, until, sequence);
  return false;
}

void Engine::yield_fiber() {
  // What the host's run_until() loop would do next once this fiber switched to it.
  if (running_ && !stop_requested_ && !queue_.empty()) {
    const Event& next = queue_.peek();
    if (next.fire_context() == FireContext::kResumesFiber && next.when_ <= run_limit_) {
      fibers_.switch_to(static_cast<ResumeFiberEvent&>(take_next()).prepare());
      return;
    }
  }
  fibers_.switch_to(fibers_.host());
}

}  // namespace ossim::sim
