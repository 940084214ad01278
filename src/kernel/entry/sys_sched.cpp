// Scheduling syscalls: nice values (getpriority, setpriority).

#include <algorithm>
#include <vector>

#include "kernel/entry/syscall_table.hpp"
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

}  // namespace

SyscallResult sys_getpriority(SyscallCall& call) {
  // The raw syscall returns 20 - nice (1..40), so that no result looks like an error;
  // for several tasks, the highest priority (lowest nice) among them.
  const std::vector<Task*> targets =
      OSSIM_TRY(priority_targets(call, static_cast<int>(call.args[0]), static_cast<int>(call.args[1])));
  if (targets.empty()) return Errno::kESRCH;
  int lowest_nice = sys::kNiceMax;
  for (const Task* task : targets) lowest_nice = std::min(lowest_nice, task->se.nice);
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
    if (!privileged && nice < task->se.nice) return Errno::kEACCES;
    call.kernel.scheduler().set_nice(*task, nice, call.cpu().now(), &call.cpu());
  }
  return 0;
}

}  // namespace ossim::kernel
