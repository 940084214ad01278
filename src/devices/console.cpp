#include "ossim/dev/console.hpp"

#include <algorithm>
#include <utility>

namespace ossim::dev {

namespace {

// Heap order for pending injections: a min-heap on (when, sequence) under std::*_heap.
bool arrives_later(const auto& a, const auto& b) {
  return a.when > b.when || (a.when == b.when && a.sequence > b.sequence);
}

}  // namespace

Console::Console(sim::Engine& engine, InterruptController& controller, unsigned irq)
    : engine_(engine),
      controller_(controller),
      irq_(irq),
      arrival_event_([this] { arrive_due(); }, "console-input") {}

void Console::write(std::string_view bytes) {
  output_.append(bytes);
  bytes_written_ += bytes.size();
  if (output_listener_) output_listener_(bytes);
}

void Console::inject_input(sim::Tick at, std::string bytes) {
  if (bytes.empty()) return;
  // Clamped here, not only by the engine, so that ordering uses the real arrival time.
  const sim::Tick when = std::max(at, engine_.now());
  pending_.push_back(Injection{when, next_sequence_++, std::move(bytes)});
  std::push_heap(pending_.begin(), pending_.end(), arrives_later<Injection, Injection>);
  arm_arrival_event();
}

std::size_t Console::read_input(char* buffer, std::size_t max) {
  const std::size_t count = std::min(max, input_.size());
  std::copy_n(input_.begin(), count, buffer);
  input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(count));
  bytes_read_ += count;
  return count;
}

void Console::arrive_due() {
  bool arrived = false;
  while (!pending_.empty() && pending_.front().when <= engine_.now()) {
    std::pop_heap(pending_.begin(), pending_.end(), arrives_later<Injection, Injection>);
    const std::string& bytes = pending_.back().bytes;
    input_.insert(input_.end(), bytes.begin(), bytes.end());
    pending_.pop_back();
    arrived = true;
  }
  arm_arrival_event();
  // Raised after the buffer is filled, so a handler run synchronously sees the bytes.
  if (arrived) {
    ++interrupts_raised_;
    controller_.raise(irq_);
  }
}

void Console::arm_arrival_event() {
  if (pending_.empty()) {
    engine_.cancel(arrival_event_);
    return;
  }
  const sim::Tick next = pending_.front().when;
  if (!arrival_event_.scheduled() || arrival_event_.when() != next) {
    engine_.reschedule(arrival_event_, next);
  }
}

}  // namespace ossim::dev
