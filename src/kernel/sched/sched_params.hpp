#pragma once

// A task's scheduling parameters: what sched_setattr(2) sets and fork copies. The class
// a task belongs to follows from `policy` (Scheduler::class_for); each class reads the
// fields that concern it.

#include <cstdint>

#include "ossim/sim/tick.hpp"
#include "ossim/sys/sched.hpp"
#include "kernel/result.hpp"

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

/// Whether `policy` is one ossim schedules (sched_setscheduler's valid_policy).
inline bool valid_policy(int policy) {
  return is_fair_policy(policy) || is_rt_policy(policy) || policy == sys::kSchedDeadline;
}

/// The priority range check of __sched_setscheduler: 1-99 for the real-time policies, 0
/// for the others; EINVAL otherwise.
Status check_priority(int policy, int priority);

/// The parameters a sched_attr asks for, starting from a task's `current` ones (Linux's
/// sched_setattr checks, in its order): EINVAL for unknown flags or policies, a bad
/// priority, or SCHED_DEADLINE parameters outside 1024 ns <= runtime <= deadline <=
/// period < 2^63 ns. ossim's fields: tickets 0 keeps the current ones; an expected
/// runtime of 0 means unknown.
Result<SchedParams> params_from_attr(const sys::sched_attr& attr, const SchedParams& current);

}  // namespace ossim::kernel
