// Scheduling syscalls: nice values (getpriority, setpriority), policies and their
// parameters (sched_setscheduler, sched_setparam, sched_setattr and their getters), CPU
// affinity, and prctl's task name. Validation follows Linux's __sched_setscheduler and
// sched_copy_attr: the errno values are Linux's.

#include <algorithm>
#include <vector>

#include "ossim/sys/sched.hpp"
#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/timespec.hpp"
#include "kernel/entry/user_copy.hpp"
#include "kernel/sched/scheduler.hpp"

namespace ossim::kernel {

namespace {

/// The live tasks `which` and `who` name (Linux's PRIO_PROCESS: one task, PRIO_PGRP: the
/// tasks of a process group, PRIO_USER: the tasks of a user; who == 0 means the caller's),
/// or EINVAL for an unknown `which`.
Result<std::vector<Task*>> priority_targets(SyscallCall& call, int which, int who) {
  std::vector<Task*> targets;
  const auto live = [](const Task& task) { return !task.idle && task.state != TaskState::kDead; };
  switch (which) {
    case sys::kPrioProcess: {
      Task* task = who == 0 ? &call.task : call.kernel.find_task(who);
      if (task != nullptr && live(*task)) targets.push_back(task);
      return targets;
    }
    case sys::kPrioProcessGroup: {
      const pid_t pgid = who == 0 ? call.task.pgid : who;
      for (const auto& [tid, task] : call.kernel.task_table()) {
        if (live(*task) && task->pgid == pgid) targets.push_back(task.get());
      }
      return targets;
    }
    case sys::kPrioUser: {
      const auto uid = who == 0 ? call.task.uid : static_cast<sys::uid_t>(who);
      for (const auto& [tid, task] : call.kernel.task_table()) {
        if (live(*task) && task->uid == uid) targets.push_back(task.get());
      }
      return targets;
    }
    default: return Errno::kEINVAL;
  }
}

/// The live task a sched_* pid names (0: the caller); EINVAL for a negative pid, ESRCH
/// for one that names no live task.
Result<Task*> sched_target(SyscallCall& call, std::uint64_t pid_argument) {
  const auto pid = static_cast<pid_t>(pid_argument);
  if (pid < 0) return Errno::kEINVAL;
  Task* task = pid == 0 ? &call.task : call.kernel.find_task(pid);
  if (task == nullptr || task->idle || task->state == TaskState::kDead || task->state == TaskState::kZombie) {
    return Errno::kESRCH;
  }
  return task;
}

/// Applies `params` to `task`: EBUSY when admission control refuses it.
SyscallResult apply_params(SyscallCall& call, Task& task, const SchedParams& params) {
  if (!call.kernel.scheduler().set_params(task, params, call.cpu().now(), &call.cpu())) return Errno::kEBUSY;
  return 0;
}

SyscallResult set_scheduler(SyscallCall& call, int policy, bool keep_policy) {
  Task* task = OSSIM_TRY(sched_target(call, call.args[0]));
  if (call.args[keep_policy ? 1 : 2] == 0) return Errno::kEINVAL;
  const sys::sched_param param =
      OSSIM_TRY(get_user(call.task, UserPtr<sys::sched_param>{call.args[keep_policy ? 1 : 2]}));
  SchedParams params = task->se.params;
  if (!keep_policy) {
    params.reset_on_fork = (policy & sys::kSchedResetOnFork) != 0;
    policy &= ~sys::kSchedResetOnFork;
    // SCHED_DEADLINE needs sched_setattr's parameters.
    if (!valid_policy(policy) || policy == sys::kSchedDeadline) return Errno::kEINVAL;
    params.policy = policy;
  }
  if (params.policy == sys::kSchedDeadline) return Errno::kEINVAL;
  OSSIM_TRY(check_priority(params.policy, param.sched_priority));
  params.rt_priority = param.sched_priority;
  return apply_params(call, *task, params);
}

/// Reads a user sched_attr of the size it declares (Linux's sched_copy_attr): a size of 0
/// means the first version's; a smaller one, or a larger one with non-zero bytes past
/// ossim's, is E2BIG (and the size ossim knows is written back). Fields past the
/// caller's size keep the values in `into`.
Status copy_sched_attr(Task& task, mmu::VirtAddr address, sys::sched_attr& into) {
  std::uint32_t size = OSSIM_TRY(get_user(task, UserPtr<std::uint32_t>{address}));
  if (size == 0) size = sys::kSchedAttrSizeVer0;
  const auto too_big = [&]() -> Status {
    OSSIM_TRY(put_user(task, UserPtr<std::uint32_t>{address}, sys::kSchedAttrSize));
    return Errno::kE2BIG;
  };
  if (size < sys::kSchedAttrSizeVer0 || size > 4096) return too_big();
  for (std::uint32_t offset = sys::kSchedAttrSize; offset < size; ++offset) {
    if (OSSIM_TRY(get_user(task, UserPtr<std::uint8_t>{address + offset})) != 0) return too_big();
  }
  OSSIM_TRY(copy_from_user(task, &into, address, std::min(size, sys::kSchedAttrSize)));
  into.size = size;
  return {};
}

}  // namespace

SyscallResult sys_getpriority(SyscallCall& call) {
  // The raw syscall returns 20 - nice (1..40), so that no result looks like an error;
  // for several tasks, the highest priority (lowest nice) among them.
  const std::vector<Task*> targets =
      OSSIM_TRY(priority_targets(call, static_cast<int>(call.args[0]), static_cast<int>(call.args[1])));
  if (targets.empty()) return Errno::kESRCH;
  int lowest_nice = sys::kNiceMax;
  for (const Task* task : targets) lowest_nice = std::min(lowest_nice, task->se.params.nice);
  return 20 - lowest_nice;
}

SyscallResult sys_setpriority(SyscallCall& call) {
  const std::vector<Task*> targets =
      OSSIM_TRY(priority_targets(call, static_cast<int>(call.args[0]), static_cast<int>(call.args[1])));
  if (targets.empty()) return Errno::kESRCH;
  const int nice = std::clamp(static_cast<int>(call.args[2]), sys::kNiceMin, sys::kNiceMax);
  // Root (CAP_SYS_NICE) may do anything; another user may only lower its own tasks'
  // priority. Every task is root so far.
  const bool privileged = call.task.uid == 0;
  for (Task* task : targets) {
    if (!privileged && task->uid != call.task.uid) return Errno::kEPERM;
    if (!privileged && nice < task->se.params.nice) return Errno::kEACCES;
    SchedParams params = task->se.params;
    params.nice = nice;
    call.kernel.scheduler().set_params(*task, params, call.cpu().now(), &call.cpu());
  }
  return 0;
}

SyscallResult sys_sched_setscheduler(SyscallCall& call) {
  return set_scheduler(call, static_cast<int>(call.args[1]), false);
}

SyscallResult sys_sched_setparam(SyscallCall& call) { return set_scheduler(call, 0, true); }

SyscallResult sys_sched_getscheduler(SyscallCall& call) {
  const Task* task = OSSIM_TRY(sched_target(call, call.args[0]));
  return task->se.params.policy | (task->se.params.reset_on_fork ? sys::kSchedResetOnFork : 0);
}

SyscallResult sys_sched_getparam(SyscallCall& call) {
  if (call.args[1] == 0) return Errno::kEINVAL;
  const Task* task = OSSIM_TRY(sched_target(call, call.args[0]));
  const sys::sched_param param{is_rt_policy(task->se.params.policy) ? task->se.params.rt_priority : 0};
  OSSIM_TRY(put_user(call.task, UserPtr<sys::sched_param>{call.args[1]}, param));
  return 0;
}

SyscallResult sys_sched_get_priority_max(SyscallCall& call) {
  const auto policy = static_cast<int>(call.args[0]);
  if (!valid_policy(policy)) return Errno::kEINVAL;
  return is_rt_policy(policy) ? sys::kRtPriorityMax : 0;
}

SyscallResult sys_sched_get_priority_min(SyscallCall& call) {
  const auto policy = static_cast<int>(call.args[0]);
  if (!valid_policy(policy)) return Errno::kEINVAL;
  return is_rt_policy(policy) ? sys::kRtPriorityMin : 0;
}

SyscallResult sys_sched_rr_get_interval(SyscallCall& call) {
  const Task* task = OSSIM_TRY(sched_target(call, call.args[0]));
  // SCHED_FIFO has no time slice (0); SCHED_RR and the sliced fair policies have the
  // configured quantum.
  const sim::Tick slice = task->se.params.policy == sys::kSchedFifo ? 0 : call.kernel.config().scheduler.quantum;
  OSSIM_TRY(put_user(call.task, UserPtr<sys::timespec>{call.args[1]}, to_timespec(slice)));
  return 0;
}

SyscallResult sys_sched_setattr(SyscallCall& call) {
  if (call.args[1] == 0 || call.args[2] != 0) return Errno::kEINVAL;
  Task* task = OSSIM_TRY(sched_target(call, call.args[0]));
  const SchedParams& now = task->se.params;
  // Fields the caller's (shorter) struct does not have keep the task's values.
  sys::sched_attr attr;
  attr.sched_tickets = now.tickets;
  attr.sched_expected_runtime = now.expected_runtime == sim::kTickNever ? 0 : now.expected_runtime / sim::kNanosecond;
  OSSIM_TRY(copy_sched_attr(call.task, call.args[1], attr));

  const SchedParams params = OSSIM_TRY(params_from_attr(attr, now));
  return apply_params(call, *task, params);
}

SyscallResult sys_sched_getattr(SyscallCall& call) {
  const auto size = static_cast<std::uint32_t>(call.args[2]);
  if (call.args[1] == 0 || call.args[3] != 0 || size < sys::kSchedAttrSizeVer0 || size > 4096) {
    return Errno::kEINVAL;
  }
  const Task* task = OSSIM_TRY(sched_target(call, call.args[0]));
  const SchedParams& params = task->se.params;
  sys::sched_attr attr;
  attr.size = std::min(size, sys::kSchedAttrSize);
  attr.sched_policy = static_cast<std::uint32_t>(params.policy);
  attr.sched_flags = params.reset_on_fork ? sys::kSchedFlagResetOnFork : 0;
  attr.sched_nice = params.nice;
  attr.sched_priority = is_rt_policy(params.policy) ? static_cast<std::uint32_t>(params.rt_priority) : 0;
  if (params.policy == sys::kSchedDeadline) {
    attr.sched_runtime = params.dl_runtime / sim::kNanosecond;
    attr.sched_deadline = params.dl_deadline / sim::kNanosecond;
    attr.sched_period = params.dl_period / sim::kNanosecond;
  }
  attr.sched_tickets = params.tickets;
  attr.sched_expected_runtime = params.expected_runtime == sim::kTickNever ? 0 : params.expected_runtime / sim::kNanosecond;
  OSSIM_TRY(copy_to_user(call.task, call.args[1], &attr, attr.size));
  return 0;
}

SyscallResult sys_sched_setaffinity(SyscallCall& call) {
  Task* task = OSSIM_TRY(sched_target(call, call.args[0]));
  // A shorter mask has its missing CPUs clear; bytes past the 64 CPUs ossim has are
  // not read (Linux copies at most cpumask_size()).
  const std::uint64_t length = std::min<std::uint64_t>(call.args[1], sizeof(sys::cpu_mask_t));
  sys::cpu_mask_t mask = 0;
  OSSIM_TRY(copy_from_user(call.task, &mask, call.args[2], length));
  const unsigned cpus = call.kernel.scheduler().cpu_count();
  if (cpus < 64) mask &= (sys::cpu_mask_t{1} << cpus) - 1;
  if (mask == 0) return Errno::kEINVAL;
  SchedParams params = task->se.params;
  params.cpus_allowed = mask;
  return apply_params(call, *task, params);
}

SyscallResult sys_sched_getaffinity(SyscallCall& call) {
  const std::uint64_t length = call.args[1];
  // The buffer must hold every possible CPU and be a whole number of longs.
  if (length < sizeof(sys::cpu_mask_t) || (length % sizeof(std::uint64_t)) != 0) return Errno::kEINVAL;
  const Task* task = OSSIM_TRY(sched_target(call, call.args[0]));
  const unsigned cpus = call.kernel.scheduler().cpu_count();
  sys::cpu_mask_t mask = task->se.params.cpus_allowed;
  if (cpus < 64) mask &= (sys::cpu_mask_t{1} << cpus) - 1;
  OSSIM_TRY(put_user(call.task, UserPtr<sys::cpu_mask_t>{call.args[2]}, mask));
  return static_cast<std::int64_t>(sizeof(sys::cpu_mask_t));
}

SyscallResult sys_prctl(SyscallCall& call) {
  Task& task = call.task;
  switch (static_cast<int>(call.args[0])) {
    case sys::kPrSetName: {
      // The name is cut to TASK_COMM_LEN - 1 bytes, as Linux does.
      std::string name;
      for (std::size_t i = 0; i + 1 < sys::kTaskCommLen; ++i) {
        const char c = OSSIM_TRY(get_user(task, UserPtr<char>{call.args[1] + i}));
        if (c == '\0') break;
        name.push_back(c);
      }
      task.name = std::move(name);
      return 0;
    }
    case sys::kPrGetName: {
      char name[sys::kTaskCommLen] = {};
      task.name.copy(name, sys::kTaskCommLen - 1);
      OSSIM_TRY(copy_to_user(task, call.args[1], name, sizeof name));
      return 0;
    }
    default: return Errno::kEINVAL;
  }
}

SyscallResult sys_sched_job_complete(SyscallCall& call) {
  // Times in nanoseconds since boot (CLOCK_MONOTONIC); a release in the future is EINVAL.
  const sim::Tick now = call.cpu().now();
  const std::uint64_t release_ns = call.args[0];
  const std::uint64_t deadline_ns = call.args[1];
  const std::uint64_t max_ns = sim::kTickNever / sim::kNanosecond;
  if (release_ns > max_ns || deadline_ns > max_ns || release_ns * sim::kNanosecond > now) return Errno::kEINVAL;
  TaskAccounting& acct = call.task.acct;
  ++acct.jobs;
  if (deadline_ns != 0) {
    const sim::Tick deadline = deadline_ns * sim::kNanosecond;
    const std::int64_t lateness = now >= deadline ? static_cast<std::int64_t>(now - deadline)
                                                  : -static_cast<std::int64_t>(deadline - now);
    if (lateness > 0) ++acct.deadline_misses;
    acct.max_lateness = std::max(acct.max_lateness, lateness);
    acct.total_lateness += lateness;
  }
  return 0;
}

}  // namespace ossim::kernel
