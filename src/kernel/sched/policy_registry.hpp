#pragma once

// The registry of scheduling policies a scenario can name (SchedulerConfig::policy).
//
// Adding a general-purpose policy: one file (a SchedClass with the constructor
// `(Scheduler&, unsigned cpus, const SchedulerConfig&)`) and one line in
// policy_registry.cpp.

#include <memory>
#include <span>
#include <string_view>

#include "ossim/kernel/scheduler_config.hpp"
#include "kernel/sched/sched_class.hpp"

namespace ossim::kernel {

class Scheduler;

struct SchedulingPolicy {
  std::string_view name;
  std::string_view summary;
  /// Makes the policy's class for the fair slot; nullptr for the real-time policies
  /// (rt_fifo, rt_rr, edf, rm), which choose what the scenario's tasks get from the
  /// real-time and deadline classes, and leave the fair slot to SchedulerConfig::fair.
  std::unique_ptr<SchedClass> (*make_fair_class)(Scheduler& core, unsigned cpus, const SchedulerConfig& config);
};

/// Every policy, in the order scheduling_policy_names() lists them.
std::span<const SchedulingPolicy> scheduling_policies();
/// The policy called `name`, or nullptr.
const SchedulingPolicy* find_scheduling_policy(std::string_view name);
/// The fair slot's class for `config`: its policy if that is a fair-slot one, else its
/// `fair`. Throws std::invalid_argument for an unknown name.
std::unique_ptr<SchedClass> make_fair_class(Scheduler& core, unsigned cpus, const SchedulerConfig& config);

}  // namespace ossim::kernel
