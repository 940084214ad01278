#pragma once

/// @file
/// The local APIC timer of one CPU.
///
/// Two modes: one-shot at an absolute deadline (which also serves as TSC-deadline mode: a
/// tickless kernel reprograms the next deadline each time) and periodic on the exact grid
/// first_expiry + k * period, computed without accumulated drift. Each expiry requests the
/// timer's vector on the local APIC unless the timer is masked; a masked timer still
/// expires and counts expirations, like the LVT timer entry's mask bit.
///
/// As after reset, the timer starts disarmed and masked, with vector 0: program it with
/// set_vector() and set_masked(false) before expecting interrupts.

#include <cstdint>

#include "ossim/dev/local_apic.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::dev {

enum class TimerMode : std::uint8_t { kDisarmed, kOneShot, kPeriodic };

class LocalTimer {
 public:
  /// The timer requests its vector on `apic`; both references must outlive the timer.
  LocalTimer(sim::Engine& engine, LocalApic& apic);
  LocalTimer(const LocalTimer&) = delete;
  LocalTimer& operator=(const LocalTimer&) = delete;

  void set_vector(std::uint8_t vector) { vector_ = vector; }
  std::uint8_t vector() const { return vector_; }
  void set_masked(bool masked) { masked_ = masked; }
  bool masked() const { return masked_; }

  /// Expires once at `deadline` (now() if it is already past), replacing any previous
  /// programming.
  void arm_one_shot(sim::Tick deadline);
  /// Expires at first_expiry + k * period for k = 0, 1, 2, ..., replacing any previous
  /// programming. A first_expiry in the past is moved to now(). Returns false, changing
  /// nothing, if period is 0.
  bool arm_periodic(sim::Tick first_expiry, sim::Tick period);
  /// Stops the timer; a pending expiry does not happen.
  void disarm();

  bool armed() const { return mode_ != TimerMode::kDisarmed; }
  TimerMode mode() const { return mode_; }
  /// The time of the next expiry, or kTickNever when disarmed.
  sim::Tick next_expiry() const { return armed() ? expiry_event_.when() : sim::kTickNever; }
  /// The period in periodic mode, 0 otherwise.
  sim::Tick period() const { return mode_ == TimerMode::kPeriodic ? period_ : 0; }

  /// Expiries so far, masked or not.
  std::uint64_t expirations() const { return expirations_; }
  /// Expiries that requested the vector (the unmasked ones).
  std::uint64_t interrupts_requested() const { return interrupts_requested_; }

 private:
  void expire();

  sim::Engine& engine_;
  LocalApic& apic_;
  std::uint8_t vector_ = 0;
  bool masked_ = true;
  TimerMode mode_ = TimerMode::kDisarmed;
  sim::Tick period_ = 0;
  std::uint64_t expirations_ = 0;
  std::uint64_t interrupts_requested_ = 0;
  sim::CallbackEvent expiry_event_;
};

}  // namespace ossim::dev
