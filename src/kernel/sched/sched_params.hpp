#pragma once

// A task's scheduling parameters: what sched_setattr(2) sets and fork copies. The class
// a task belongs to follows from `policy` (Scheduler::class_for); each class reads the
// fields that concern it.

#include <cstdint>

#include "ossim/sim/tick.hpp"
#include "ossim/sys/sched.hpp"

namespace ossim::kernel {

struct SchedParams {
  int policy = sys::kSchedOther;
  int rt_priority = 0;     // SCHED_FIFO, SCHED_RR: 1-99; 0 otherwise
  int nice = 0;            // SCHED_OTHER, SCHED_BATCH: -20..19
  std::uint32_t tickets = sys::kDefaultTickets;      // lottery, stride
  sim::Tick expected_runtime = sim::kTickNever;      // SJF, STCF: declared job length
  sim::Tick dl_runtime = 0;                          // SCHED_DEADLINE
  sim::Tick dl_deadline = 0;
  sim::Tick dl_period = 0;
  bool reset_on_fork = false;  // children go back to SCHED_OTHER, nice 0 (or their nice if < 0)
  /// The CPUs the task may run on (bit n: CPU n); sched_setaffinity.
  sys::cpu_mask_t cpus_allowed = ~sys::cpu_mask_t{0};
};

/// Whether a policy is one of the real-time ones (the rt class).
inline bool is_rt_policy(int policy) { return policy == sys::kSchedFifo || policy == sys::kSchedRr; }
/// Whether a policy is scheduled by the fair slot.
inline bool is_fair_policy(int policy) {
  return policy == sys::kSchedOther || policy == sys::kSchedBatch || policy == sys::kSchedIdle;
}

}  // namespace ossim::kernel
