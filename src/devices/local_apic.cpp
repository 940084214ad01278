#include "ossim/dev/local_apic.hpp"

#include <bit>
#include <cstddef>

namespace ossim::dev {

namespace {

constexpr int kNoVector = -1;

bool test_bit(const std::array<std::uint64_t, 4>& bits, std::uint8_t vector) {
  return (bits[vector >> 6] >> (vector & 63)) & 1;
}

void set_bit(std::array<std::uint64_t, 4>& bits, std::uint8_t vector) {
  bits[vector >> 6] |= std::uint64_t{1} << (vector & 63);
}

void clear_bit(std::array<std::uint64_t, 4>& bits, std::uint8_t vector) {
  bits[vector >> 6] &= ~(std::uint64_t{1} << (vector & 63));
}

// The highest set vector, or kNoVector: at most four word tests and one countl_zero.
int highest(const std::array<std::uint64_t, 4>& bits) {
  for (std::size_t word = bits.size(); word-- > 0;) {
    if (bits[word] != 0) return static_cast<int>(word * 64) + 63 - std::countl_zero(bits[word]);
  }
  return kNoVector;
}

int priority_class(int vector) { return vector >> 4; }

}  // namespace

void LocalApic::request(std::uint8_t vector, Trigger trigger) {
  if (vector < kFirstInterruptVector) {
    ++counters_.illegal_vectors;
    return;
  }
  ++counters_.requests;
  if (test_bit(irr_, vector)) ++counters_.merged;
  set_bit(irr_, vector);
  if (trigger == Trigger::kLevel) {
    set_bit(tmr_, vector);
  } else {
    clear_bit(tmr_, vector);
  }
  notify_if_deliverable();
}

std::uint8_t LocalApic::processor_priority() const {
  const int isrv = highest(isr_);
  if (isrv == kNoVector || priority_class(tpr_) >= priority_class(isrv)) return tpr_;
  return static_cast<std::uint8_t>(isrv & 0xF0);
}

bool LocalApic::has_deliverable() const {
  const int irrv = highest(irr_);
  return irrv != kNoVector && priority_class(irrv) > priority_class(processor_priority());
}

int LocalApic::acknowledge() {
  if (!has_deliverable()) {
    ++counters_.spurious;
    return kSpuriousInterrupt;
  }
  // Nothing left in IRR can be deliverable afterwards: every remaining vector is lower
  // than the one now in service, so its class is at most the new PPR's class.
  const auto vector = static_cast<std::uint8_t>(highest(irr_));
  clear_bit(irr_, vector);
  set_bit(isr_, vector);
  ++counters_.acknowledged;
  return vector;
}

void LocalApic::eoi() {
  const int isrv = highest(isr_);
  if (isrv == kNoVector) {
    ++counters_.stray_eois;
    return;
  }
  const auto vector = static_cast<std::uint8_t>(isrv);
  clear_bit(isr_, vector);
  ++counters_.eois;
  // The listener may re-deliver a still-asserted line, which re-enters request(); the
  // APIC's state is consistent by then.
  if (test_bit(tmr_, vector) && level_eoi_listener_) level_eoi_listener_(vector);
  notify_if_deliverable();
}

void LocalApic::set_task_priority(std::uint8_t priority) {
  tpr_ = priority;
  notify_if_deliverable();
}

bool LocalApic::requested(std::uint8_t vector) const { return test_bit(irr_, vector); }

bool LocalApic::in_service(std::uint8_t vector) const { return test_bit(isr_, vector); }

bool LocalApic::level_triggered(std::uint8_t vector) const { return test_bit(tmr_, vector); }

void LocalApic::notify_if_deliverable() {
  if (target_ == nullptr || !has_deliverable()) return;
  ++counters_.notifications;
  target_->interrupt_requested();
}

}  // namespace ossim::dev
