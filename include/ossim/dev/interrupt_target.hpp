#pragma once

/// @file
/// The wire from an interrupt controller to a CPU's INTR input.

namespace ossim::dev {

/// What a local APIC signals when it has an interrupt the CPU may be able to take. The CPU
/// (cpu::Cpu implements this) checks at its next operation boundary; a halted CPU wakes.
/// Called from host context (an event) or from code running on any CPU's fiber.
class InterruptTarget {
 public:
  virtual void interrupt_requested() = 0;

 protected:
  ~InterruptTarget() = default;
};

}  // namespace ossim::dev
