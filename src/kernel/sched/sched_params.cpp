#include "kernel/sched/sched_params.hpp"

#include <algorithm>

#include "ossim/sys/flags.hpp"

namespace ossim::kernel {

namespace {

/// SCHED_DEADLINE's parameter rules (Linux's __checkparam_dl): 0 < runtime <= deadline <=
/// period (a period of 0 means the deadline), runtime at least 1024 ns, deadline below 2^63.
bool valid_deadline_params(const sys::sched_attr& attr) {
  const std::uint64_t period = attr.sched_period == 0 ? attr.sched_deadline : attr.sched_period;
  if (attr.sched_deadline == 0 || attr.sched_runtime < 1024) return false;
  if ((attr.sched_deadline >> 63) != 0 || (period >> 63) != 0) return false;
  return attr.sched_runtime <= attr.sched_deadline && attr.sched_deadline <= period;
}

}  // namespace

Status check_priority(int policy, int priority) {
  if (is_rt_policy(policy)) {
    if (priority < sys::kRtPriorityMin || priority > sys::kRtPriorityMax) return Errno::kEINVAL;
  } else if (priority != 0) {
    return Errno::kEINVAL;
  }
  return {};
}

Result<SchedParams> params_from_attr(const sys::sched_attr& attr, const SchedParams& current) {
  constexpr std::uint64_t kKnownFlags = sys::kSchedFlagResetOnFork | sys::kSchedFlagReclaim |
                                        sys::kSchedFlagDlOverrun | sys::kSchedFlagKeepPolicy |
                                        sys::kSchedFlagKeepParams;
  if ((attr.sched_flags & ~kKnownFlags) != 0) return Errno::kEINVAL;
  SchedParams params = current;
  const int policy =
      (attr.sched_flags & sys::kSchedFlagKeepPolicy) != 0 ? current.policy : static_cast<int>(attr.sched_policy);
  if (!valid_policy(policy)) return Errno::kEINVAL;
  params.policy = policy;
  params.reset_on_fork = (attr.sched_flags & sys::kSchedFlagResetOnFork) != 0;
  if ((attr.sched_flags & sys::kSchedFlagKeepParams) == 0) {
    OSSIM_TRY(check_priority(policy, static_cast<int>(attr.sched_priority)));
    params.rt_priority = static_cast<int>(attr.sched_priority);
    if (is_fair_policy(policy)) params.nice = std::clamp(attr.sched_nice, sys::kNiceMin, sys::kNiceMax);
    if (policy == sys::kSchedDeadline) {
      if (!valid_deadline_params(attr)) return Errno::kEINVAL;
      params.dl_runtime = attr.sched_runtime * sim::kNanosecond;
      params.dl_deadline = attr.sched_deadline * sim::kNanosecond;
      params.dl_period = (attr.sched_period == 0 ? attr.sched_deadline : attr.sched_period) * sim::kNanosecond;
    }
  } else if (policy == sys::kSchedDeadline && current.policy != sys::kSchedDeadline) {
    return Errno::kEINVAL;  // no deadline parameters to keep
  }
  if (attr.sched_tickets != 0) params.tickets = attr.sched_tickets;
  params.expected_runtime =
      attr.sched_expected_runtime == 0 ? sim::kTickNever : attr.sched_expected_runtime * sim::kNanosecond;
  return params;
}

}  // namespace ossim::kernel
