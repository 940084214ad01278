#include "ossim/dev/local_timer.hpp"

namespace ossim::dev {

LocalTimer::LocalTimer(sim::Engine& engine, LocalApic& apic)
    : engine_(engine), apic_(apic), expiry_event_([this] { expire(); }, "local-timer") {}

void LocalTimer::arm_one_shot(sim::Tick deadline) {
  mode_ = TimerMode::kOneShot;
  period_ = 0;
  engine_.reschedule(expiry_event_, deadline);
}

bool LocalTimer::arm_periodic(sim::Tick first_expiry, sim::Tick period) {
  if (period == 0) return false;
  mode_ = TimerMode::kPeriodic;
  period_ = period;
  engine_.reschedule(expiry_event_, first_expiry);
  return true;
}

void LocalTimer::disarm() {
  mode_ = TimerMode::kDisarmed;
  period_ = 0;
  engine_.cancel(expiry_event_);
}

void LocalTimer::expire() {
  ++expirations_;
  // The next expiry is programmed before the interrupt is requested, so a handler that
  // re-arms or disarms from inside the request sees (and overrides) a consistent timer.
  if (mode_ == TimerMode::kPeriodic) {
    // The event fires exactly at its time, so adding the period to it walks the exact
    // grid first_expiry + k * period.
    engine_.schedule(expiry_event_, sim::tick_add(expiry_event_.when(), period_));
  } else {
    mode_ = TimerMode::kDisarmed;
  }
  if (!masked_) {
    ++interrupts_requested_;
    apic_.request(vector_);
  }
}

}  // namespace ossim::dev
