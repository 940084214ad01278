#pragma once

/// @file
/// The system console: a UART-like tty device.
///
/// Output is captured in the Console object (each simulation has its own; nothing goes to
/// the host's stdout unless an output listener sends it there). Input is scripted: bytes
/// injected for a simulated time arrive in the input buffer exactly then, in (time, call
/// order) order, and the console raises its I/O APIC line (an edge) so that a driver reads
/// them. Arrivals at the same tick raise the line once.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ossim/dev/interrupt_controller.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/timed_queue.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::dev {

class Console {
 public:
  using OutputListener = std::function<void(std::string_view bytes)>;

  /// The console raises line `irq` of `controller`; route and unmask the line to receive
  /// its interrupts. The engine and controller must outlive the console.
  Console(sim::Engine& engine, InterruptController& controller, unsigned irq);
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  unsigned irq() const { return irq_; }

  /// Appends to the captured output and passes the bytes to the output listener, if any.
  void write(std::string_view bytes);
  /// Everything written since construction or the last clear_output().
  const std::string& output() const { return output_; }
  void clear_output() { output_.clear(); }
  /// Called with each write() (e.g. to echo to the host terminal); empty to remove.
  void set_output_listener(OutputListener listener) { output_listener_ = std::move(listener); }

  /// Schedules `bytes` to arrive at time `at` (now() if `at` is past). Empty injections
  /// are ignored.
  void inject_input(sim::Tick at, std::string bytes);
  /// Moves up to `max` arrived bytes into `buffer`; returns how many were moved.
  std::size_t read_input(char* buffer, std::size_t max);
  /// Bytes arrived and not yet read.
  std::size_t input_available() const { return input_.size(); }
  /// Injections that have not arrived yet.
  std::size_t pending_injections() const { return pending_.size(); }

  std::uint64_t bytes_written() const { return bytes_written_; }
  std::uint64_t bytes_read() const { return bytes_read_; }
  /// Times the console raised its line.
  std::uint64_t interrupts_raised() const { return interrupts_raised_; }

 private:
  sim::Engine& engine_;
  InterruptController& controller_;
  unsigned irq_;
  std::string output_;
  OutputListener output_listener_;
  std::deque<char> input_;
  std::uint64_t bytes_written_ = 0;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t interrupts_raised_ = 0;
  sim::TimedQueue<std::string> pending_;  // injected input not yet arrived
};

}  // namespace ossim::dev
