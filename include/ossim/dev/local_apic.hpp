#pragma once

/// @file
/// The local APIC: the per-CPU half of the interrupt system.
///
/// The devices layer, from the CPU outwards:
///   - LocalApic (this file): one per CPU; holds requested (IRR) and in-service (ISR)
///     vectors and decides by priority what the CPU may take next.
///   - LocalTimer: the per-CPU APIC timer, which requests a vector on its local APIC.
///   - InterruptController: the I/O APIC's redirection table plus the APIC bus that
///     carries device interrupts and IPIs to the local APICs, with their latencies.
///   - Console: a tty device that raises an I/O APIC line when input arrives.
///
/// Priorities follow the x86 rules: a vector's priority class is vector >> 4; the
/// processor priority (PPR) is the higher of the task priority (TPR) and the class of the
/// highest vector in service; a requested vector is deliverable only if its class is
/// strictly above the PPR's class. So a higher class preempts a running handler, while the
/// same or a lower class waits for the EOI.

#include <array>
#include <cstdint>
#include <functional>
#include <utility>

#include "ossim/dev/interrupt_target.hpp"

namespace ossim::dev {

/// How an interrupt source signals: a one-time edge, or a level held until serviced.
enum class Trigger : std::uint8_t { kEdge, kLevel };

/// What acknowledge() returns when nothing is deliverable (the spurious-interrupt case of
/// an INTA cycle that finds no pending vector).
inline constexpr int kSpuriousInterrupt = -1;

/// Vectors 0..15 are reserved for exceptions and are illegal as interrupt vectors.
inline constexpr std::uint8_t kFirstInterruptVector = 16;

/// Event counts of one local APIC, for statistics and tests.
struct LocalApicCounters {
  /// Valid requests received, including those merged into an already pending vector.
  std::uint64_t requests = 0;
  /// Requests for a vector whose IRR bit was already set (they coalesce, as on hardware).
  std::uint64_t merged = 0;
  /// Requests for vectors below 16, which are ignored.
  std::uint64_t illegal_vectors = 0;
  /// Vectors moved from IRR to ISR by acknowledge().
  std::uint64_t acknowledged = 0;
  /// acknowledge() calls that found nothing deliverable.
  std::uint64_t spurious = 0;
  /// EOIs that retired an in-service vector.
  std::uint64_t eois = 0;
  /// EOIs with nothing in service (ignored).
  std::uint64_t stray_eois = 0;
  /// Calls made to the connected InterruptTarget.
  std::uint64_t notifications = 0;
};

class LocalApic {
 public:
  /// Called on the EOI of a vector that was accepted as level-triggered, so that the
  /// I/O APIC can clear the remote-IRR bit of the lines routed to it.
  using LevelEoiListener = std::function<void(std::uint8_t vector)>;

  /// `id` is the APIC id, which is the index of the CPU the APIC belongs to.
  explicit LocalApic(unsigned id) : id_(id) {}
  LocalApic(const LocalApic&) = delete;
  LocalApic& operator=(const LocalApic&) = delete;

  unsigned id() const { return id_; }

  /// Wires the APIC to its CPU. The target must outlive the APIC (or be disconnected).
  void connect(InterruptTarget& target) { target_ = &target; }
  void disconnect() { target_ = nullptr; }
  /// Installed by the InterruptController that owns this APIC.
  void set_level_eoi_listener(LevelEoiListener listener) { level_eoi_listener_ = std::move(listener); }

  /// Accepts a fixed-mode interrupt: sets the vector's IRR bit (merging with a pending
  /// request for the same vector) and records its trigger mode (the TMR bit). Vectors
  /// below 16 are counted as illegal and ignored. Notifies the target if an interrupt is
  /// deliverable afterwards.
  void request(std::uint8_t vector, Trigger trigger = Trigger::kEdge);

  /// True if the highest requested vector's class is above the processor priority class.
  bool has_deliverable() const;

  /// The CPU's interrupt-acknowledge cycle: moves the highest requested vector into
  /// service and returns it, or returns kSpuriousInterrupt if nothing is deliverable.
  int acknowledge();

  /// End of interrupt: retires the highest in-service vector (ignored, and counted, if
  /// none is in service). If that vector was level-triggered, the level-EOI listener is
  /// told. Notifies the target if something became deliverable.
  void eoi();

  /// Sets the TPR. Lowering it may make a pending vector deliverable, which notifies.
  void set_task_priority(std::uint8_t priority);
  std::uint8_t task_priority() const { return tpr_; }
  /// The PPR, computed as the SDM defines it from TPR and the highest in-service vector.
  std::uint8_t processor_priority() const;

  /// The vector's IRR bit.
  bool requested(std::uint8_t vector) const;
  /// The vector's ISR bit.
  bool in_service(std::uint8_t vector) const;
  /// The vector's TMR bit (set if its last accepted request was level-triggered).
  bool level_triggered(std::uint8_t vector) const;

  const LocalApicCounters& counters() const { return counters_; }

 private:
  /// One bit per vector, in four 64-bit words so the highest bit is found in O(1).
  using VectorBits = std::array<std::uint64_t, 4>;

  void notify_if_deliverable();

  unsigned id_;
  std::uint8_t tpr_ = 0;
  VectorBits irr_{};
  VectorBits isr_{};
  VectorBits tmr_{};
  InterruptTarget* target_ = nullptr;
  LevelEoiListener level_eoi_listener_;
  LocalApicCounters counters_;
};

}  // namespace ossim::dev
