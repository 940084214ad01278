#include "ossim/dev/interrupt_controller.hpp"

#include <algorithm>

namespace ossim::dev {

InterruptController::InterruptController(sim::Engine& engine, unsigned cpu_count,
                                         const InterruptControllerConfig& config)
    : engine_(engine),
      config_(config),
      lines_(config.irq_lines),
      // A delivery may make a CPU send more messages; those due at once go in the same batch.
      in_flight_(
          engine, [this](Message& message) { apics_[message.cpu]->request(message.vector, message.trigger); },
          nullptr, "apic-bus-delivery") {
  apics_.reserve(cpu_count);
  for (unsigned cpu = 0; cpu < cpu_count; ++cpu) {
    apics_.push_back(std::make_unique<LocalApic>(cpu));
    apics_.back()->set_level_eoi_listener([this](std::uint8_t vector) { on_level_eoi(vector); });
  }
}

bool InterruptController::reject() {
  ++counters_.rejected;
  return false;
}

bool InterruptController::route(unsigned irq, std::uint8_t vector, unsigned dest_cpu,
                                Trigger trigger) {
  if (!valid_line(irq) || dest_cpu >= cpu_count() || vector < kFirstInterruptVector) {
    return reject();
  }
  RedirectionEntry& entry = lines_[irq];
  entry.vector = vector;
  entry.dest_cpu = dest_cpu;
  entry.trigger = trigger;
  if (trigger == Trigger::kEdge) entry.remote_irr = false;
  deliver_level_if_pending(entry);
  return true;
}

bool InterruptController::mask(unsigned irq) {
  if (!valid_line(irq)) return reject();
  lines_[irq].masked = true;
  return true;
}

bool InterruptController::unmask(unsigned irq) {
  if (!valid_line(irq)) return reject();
  lines_[irq].masked = false;
  deliver_level_if_pending(lines_[irq]);
  return true;
}

bool InterruptController::is_masked(unsigned irq) const {
  return !valid_line(irq) || lines_[irq].masked;
}

bool InterruptController::line_asserted(unsigned irq) const {
  return valid_line(irq) && lines_[irq].asserted;
}

bool InterruptController::remote_irr(unsigned irq) const {
  return valid_line(irq) && lines_[irq].remote_irr;
}

bool InterruptController::raise(unsigned irq) {
  if (!valid_line(irq)) return reject();
  RedirectionEntry& entry = lines_[irq];
  if (entry.masked || (entry.trigger == Trigger::kLevel && entry.remote_irr)) {
    ++counters_.lost_edges;
    return false;
  }
  send_line_interrupt(entry);
  return true;
}

bool InterruptController::set_line(unsigned irq, bool asserted) {
  if (!valid_line(irq)) return reject();
  RedirectionEntry& entry = lines_[irq];
  const bool rising = asserted && !entry.asserted;
  entry.asserted = asserted;
  if (entry.trigger == Trigger::kLevel) {
    deliver_level_if_pending(entry);
  } else if (rising) {
    if (entry.masked) {
      ++counters_.lost_edges;
    } else {
      send_line_interrupt(entry);
    }
  }
  return true;
}

void InterruptController::send_line_interrupt(RedirectionEntry& entry) {
  // Remote-IRR is set when the message leaves the I/O APIC, not when it arrives, so a
  // level line is never sent twice while a message or a handler is outstanding.
  if (entry.trigger == Trigger::kLevel) entry.remote_irr = true;
  ++counters_.irq_messages;
  send(sim::tick_add(engine_.now(), config_.irq_latency), entry.dest_cpu, entry.vector,
       entry.trigger);
}

void InterruptController::deliver_level_if_pending(RedirectionEntry& entry) {
  if (entry.trigger == Trigger::kLevel && entry.asserted && !entry.masked && !entry.remote_irr) {
    send_line_interrupt(entry);
  }
}

// The EOI message carries only the vector; like the 82093AA, every level entry with that
// vector clears its remote-IRR, whichever CPU sent the EOI. (Hence OSes give each level
// line its own vector.)
void InterruptController::on_level_eoi(std::uint8_t vector) {
  for (RedirectionEntry& entry : lines_) {
    if (entry.trigger != Trigger::kLevel || !entry.remote_irr || entry.vector != vector) continue;
    entry.remote_irr = false;
    deliver_level_if_pending(entry);
  }
}

bool InterruptController::send_ipi(sim::Tick sent_at, unsigned from_cpu, unsigned to_cpu,
                                   std::uint8_t vector) {
  if (from_cpu >= cpu_count() || to_cpu >= cpu_count() || vector < kFirstInterruptVector) {
    return reject();
  }
  ++counters_.ipis_sent;
  send(sim::tick_add(std::max(sent_at, engine_.now()), config_.ipi_latency), to_cpu, vector,
       Trigger::kEdge);
  return true;
}

unsigned InterruptController::broadcast_ipi(sim::Tick sent_at, unsigned from_cpu,
                                            std::uint8_t vector, bool include_self) {
  if (from_cpu >= cpu_count() || vector < kFirstInterruptVector) {
    reject();
    return 0;
  }
  const sim::Tick when = sim::tick_add(std::max(sent_at, engine_.now()), config_.ipi_latency);
  unsigned sent = 0;
  for (unsigned cpu = 0; cpu < cpu_count(); ++cpu) {
    if (cpu == from_cpu && !include_self) continue;
    ++counters_.ipis_sent;
    send(when, cpu, vector, Trigger::kEdge);
    ++sent;
  }
  return sent;
}

// A message due now is handed over at once, so a zero-latency line behaves like a wire;
// anything later waits in the in-flight queue.
void InterruptController::send(sim::Tick when, unsigned cpu, std::uint8_t vector,
                               Trigger trigger) {
  if (when <= engine_.now()) {
    apics_[cpu]->request(vector, trigger);
    return;
  }
  in_flight_.push(when, Message{cpu, vector, trigger});
}

}  // namespace ossim::dev
