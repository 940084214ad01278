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

void Engine::run() {
  stop_requested_ = false;
  while (!stop_requested_ && !queue_.empty()) fire_next();
}

void Engine::run_until(Tick limit) {
  stop_requested_ = false;
  while (!stop_requested_ && !queue_.empty() && queue_.next_time() <= limit) fire_next();
  if (!stop_requested_ && limit > now_) now_ = limit;
}

}  // namespace ossim::sim
