#pragma once

/// @file
/// The system's interrupt fabric: the I/O APIC that turns device lines into vectors, the
/// local APICs of all CPUs, and the APIC bus between them that carries device interrupts
/// and inter-processor interrupts (IPIs).
///
/// Each device line has a redirection entry (vector, destination CPU, mask, trigger mode).
/// Lines start masked, as after an I/O APIC reset. Delivery is physical and fixed-mode:
/// one destination CPU per line, no logical or lowest-priority destinations.
///
///   - Edge lines: raise() sends the vector once. An edge on a masked line is lost.
///   - Level lines: set_line(irq, true) holds the line. The I/O APIC sends the vector and
///     sets the entry's remote-IRR bit; it sends again only after the local APIC's EOI for
///     that vector clears remote-IRR while the line is still asserted and unmasked. A line
///     asserted while masked is delivered when it is unmasked.
///
/// Messages travel with a latency: irq_latency for device interrupts, ipi_latency for IPIs.
/// In-flight messages wait in one queue ordered by (arrival time, send order), served by
/// one owned event, so equal arrival times keep the order in which they were sent.
///
/// Bad arguments (a line or CPU index out of range, a vector below 16) never crash: the
/// call does nothing, returns false (or 0) and is counted in `rejected`.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ossim/dev/local_apic.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/timed_queue.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::dev {

struct InterruptControllerConfig {
  /// Redirection entries (device lines) of the I/O APIC.
  unsigned irq_lines = 24;
  /// From the ICR write on the sending CPU to the vector's IRR bit at the target.
  sim::Tick ipi_latency = 100 * sim::kNanosecond;
  /// From a device line's edge or assertion to the IRR bit; 0 delivers synchronously.
  sim::Tick irq_latency = 0;
};

/// Event counts of the I/O APIC and the APIC bus.
struct InterruptControllerCounters {
  /// Device interrupt messages sent to a local APIC (edge and level).
  std::uint64_t irq_messages = 0;
  /// Edges dropped: on masked lines, or raise() on a level line whose remote-IRR is set.
  std::uint64_t lost_edges = 0;
  /// IPI messages sent (a broadcast counts once per target).
  std::uint64_t ipis_sent = 0;
  /// Calls ignored because an argument was out of range.
  std::uint64_t rejected = 0;
};

class InterruptController {
 public:
  /// Builds `cpu_count` local APICs with ids 0..cpu_count-1 and `config.irq_lines`
  /// masked, edge-triggered redirection entries.
  InterruptController(sim::Engine& engine, unsigned cpu_count,
                      const InterruptControllerConfig& config = {});
  InterruptController(const InterruptController&) = delete;
  InterruptController& operator=(const InterruptController&) = delete;

  unsigned cpu_count() const { return static_cast<unsigned>(apics_.size()); }
  unsigned irq_lines() const { return static_cast<unsigned>(lines_.size()); }
  const InterruptControllerConfig& config() const { return config_; }

  /// The local APIC of CPU `cpu`. This is a wiring-time call: an index out of range is a
  /// broken machine description and throws std::out_of_range.
  LocalApic& local_apic(unsigned cpu) { return *apics_.at(cpu); }
  const LocalApic& local_apic(unsigned cpu) const { return *apics_.at(cpu); }

  /// Programs line `irq` to send `vector` to CPU `dest_cpu` with `trigger`; the mask bit
  /// is left as it is. Returns false (and changes nothing) if irq or dest_cpu is out of
  /// range or the vector is below 16. Switching a line to edge clears its remote-IRR.
  bool route(unsigned irq, std::uint8_t vector, unsigned dest_cpu, Trigger trigger = Trigger::kEdge);
  /// Sets the mask bit. Returns false if irq is out of range.
  bool mask(unsigned irq);
  /// Clears the mask bit; an asserted level line is delivered now. False if out of range.
  bool unmask(unsigned irq);
  /// True for masked lines, and for lines that do not exist (they never deliver).
  bool is_masked(unsigned irq) const;

  /// One edge on line `irq`. Returns true if an interrupt message was sent; false if the
  /// line is masked (the edge is lost, counted in lost_edges), out of range, or is a
  /// level line whose remote-IRR is set. On a level line the edge is a momentary
  /// assertion.
  bool raise(unsigned irq);
  /// Drives line `irq` to `asserted`. On an edge line a rising transition acts as
  /// raise(). Returns false only if irq is out of range.
  bool set_line(unsigned irq, bool asserted);
  /// The line's current level (as last set by set_line()).
  bool line_asserted(unsigned irq) const;
  /// The entry's remote-IRR bit: a level interrupt was sent and its EOI has not come back.
  bool remote_irr(unsigned irq) const;

  /// Sends `vector` from CPU `from_cpu` to CPU `to_cpu`. The message arrives at
  /// max(sent_at, now) + ipi_latency; `sent_at` is the sender's local time, which may run
  /// ahead of the engine. Returns false if a CPU is out of range or the vector is below 16.
  bool send_ipi(sim::Tick sent_at, unsigned from_cpu, unsigned to_cpu, std::uint8_t vector);
  /// Sends `vector` to every CPU, or every CPU but the sender unless `include_self`, in
  /// CPU order. Returns the number of IPIs sent (0 on bad arguments).
  unsigned broadcast_ipi(sim::Tick sent_at, unsigned from_cpu, std::uint8_t vector,
                         bool include_self);

  /// Messages sent but not yet arrived.
  std::size_t in_flight() const { return in_flight_.size(); }
  const InterruptControllerCounters& counters() const { return counters_; }

 private:
  struct RedirectionEntry {
    std::uint8_t vector = 0;
    unsigned dest_cpu = 0;
    Trigger trigger = Trigger::kEdge;
    bool masked = true;
    bool remote_irr = false;
    bool asserted = false;
  };
  struct Message {
    unsigned cpu;
    std::uint8_t vector;
    Trigger trigger;
  };

  bool valid_line(unsigned irq) const { return irq < lines_.size(); }
  bool reject();
  void send_line_interrupt(RedirectionEntry& entry);
  void deliver_level_if_pending(RedirectionEntry& entry);
  void on_level_eoi(std::uint8_t vector);
  void send(sim::Tick when, unsigned cpu, std::uint8_t vector, Trigger trigger);

  sim::Engine& engine_;
  InterruptControllerConfig config_;
  std::vector<std::unique_ptr<LocalApic>> apics_;
  std::vector<RedirectionEntry> lines_;
  sim::TimedQueue<Message> in_flight_;  // messages on the APIC bus
  InterruptControllerCounters counters_;
};

}  // namespace ossim::dev
