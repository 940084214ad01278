#include "kernel/sched/policy_registry.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kernel/sched/cfs.hpp"
#include "kernel/sched/fifo.hpp"
#include "kernel/sched/lottery.hpp"
#include "kernel/sched/mlfq.hpp"
#include "kernel/sched/round_robin.hpp"
#include "kernel/sched/shortest_job.hpp"
#include "kernel/sched/stride.hpp"

namespace ossim::kernel {

namespace {

template <typename Class>
std::unique_ptr<SchedClass> make(Scheduler& core, unsigned cpus, const SchedulerConfig& config) {
  return std::make_unique<Class>(core, cpus, config);
}

// clang-format off
const SchedulingPolicy kPolicies[] = {
    {"fifo", "first in, first out: each task runs until it blocks", &make<FifoClass>},
    {"sjf", "shortest declared job first, non-preemptive", &make<SjfClass>},
    {"stcf", "shortest time to completion first: a shorter arrival preempts", &make<StcfClass>},
    {"rr", "round robin with a fixed quantum", &make<RoundRobinClass>},
    {"mlfq", "multi-level feedback queue (OSTEP's rules 1-5)", &make<MlfqClass>},
    {"lottery", "lottery scheduling: a random draw among the tickets each quantum", &make<LotteryClass>},
    {"stride", "stride scheduling: deterministic proportional share by tickets", &make<StrideClass>},
    {"cfs", "Linux's Completely Fair Scheduler", &make<CfsClass>},
    {"rt_fifo", "workload tasks SCHED_FIFO at their priority", nullptr},
    {"rt_rr", "workload tasks SCHED_RR at their priority", nullptr},
    {"edf", "periodic tasks SCHED_DEADLINE (EDF with CBS)", nullptr},
    {"rm", "periodic tasks SCHED_FIFO at rate-monotonic priorities", nullptr},
};
// clang-format on

}  // namespace

std::span<const SchedulingPolicy> scheduling_policies() { return kPolicies; }

const SchedulingPolicy* find_scheduling_policy(std::string_view name) {
  for (const SchedulingPolicy& policy : kPolicies) {
    if (policy.name == name) return &policy;
  }
  return nullptr;
}

std::unique_ptr<SchedClass> make_fair_class(Scheduler& core, unsigned cpus, const SchedulerConfig& config) {
  const SchedulingPolicy* policy = find_scheduling_policy(config.policy);
  if (policy == nullptr) {
    throw std::invalid_argument(fmt::format("unknown scheduling policy \"{}\" (known: {})", config.policy,
                                            fmt::join(scheduling_policy_names(), ", ")));
  }
  if (policy->make_fair_class != nullptr) return policy->make_fair_class(core, cpus, config);
  const SchedulingPolicy* fair = find_scheduling_policy(config.fair);
  if (fair == nullptr || fair->make_fair_class == nullptr) {
    throw std::invalid_argument(fmt::format("kernel.scheduler.fair: \"{}\" is not a fair-slot policy", config.fair));
  }
  return fair->make_fair_class(core, cpus, config);
}

std::vector<std::string_view> scheduling_policy_names() {
  std::vector<std::string_view> names;
  for (const SchedulingPolicy& policy : kPolicies) names.push_back(policy.name);
  return names;
}

bool is_fair_slot_policy(std::string_view name) {
  const SchedulingPolicy* policy = find_scheduling_policy(name);
  return policy != nullptr && policy->make_fair_class != nullptr;
}

}  // namespace ossim::kernel
