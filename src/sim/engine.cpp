#include "ossim/sim/engine.hpp"

namespace ossim::sim {

Engine::Engine(const EngineConfig& config)
    : seed_(config.seed), fibers_(config.fiber_stack_bytes, config.fiber_guard_pages) {}

Engine::~Engine() = default;

void Engine::fire_next() {
  Event& event = queue_.pop();
  now_ = event.when_;
  ++events_fired_;
  event.fire();
}

bool Engine::step() {
  if (queue_.empty()) return false;
  fire_next();
  return true;
}

void Engine::run() { run_until(kTickNever); }

void Engine::run_until(Tick limit) {
  stop_requested_ = false;
  running_ = true;
  run_limit_ = limit;
  struct NotRunning {
    bool& running;
    ~NotRunning() { running = false; }
  } not_running{running_};  // also when an event throws
  while (!stop_requested_ && !queue_.empty() && queue_.next_time() <= limit) fire_next();
  if (!stop_requested_ && limit != kTickNever && limit > now_) now_ = limit;
}

bool Engine::run_ahead_to(Event& resume, Tick until) {
  if (until < now_) until = now_;
  const std::uint64_t sequence = queue_.reserve_sequence();
  if (running_ && until <= run_limit_) {
    while (!stop_requested_) {
      if (queue_.empty()) {
        now_ = until;
        return true;
      }
      const Event& next = queue_.peek();
      if (next.when_ > until || (next.when_ == until && next.sequence_ > sequence)) {
        now_ = until;
        return true;
      }
      if (next.fire_context() == FireContext::kHostOnly) break;
      firing_on_fiber_ = true;
      struct Done {
        bool& flag;
        ~Done() { flag = false; }
      } done{firing_on_fiber_};  // also when the handler throws
      fire_next();
    }
  }
  queue_.schedule_reserved(resume, until, sequence);
  return false;
}

}  // namespace ossim::sim
