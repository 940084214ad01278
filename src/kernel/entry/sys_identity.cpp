// Identity syscalls: pids, process groups, sessions, credentials.

#include "kernel/entry/syscall_table.hpp"

namespace ossim::kernel {

SyscallResult sys_getpid(SyscallCall& call) { return call.task.tgid; }
SyscallResult sys_gettid(SyscallCall& call) { return call.task.tid; }
SyscallResult sys_getuid(SyscallCall& call) { return call.task.uid; }
SyscallResult sys_getgid(SyscallCall& call) { return call.task.gid; }

SyscallResult sys_getppid(SyscallCall& call) {
  const Task* parent = call.task.group_leader->parent;
  return parent != nullptr ? parent->tgid : 0;
}

namespace {

/// The process (group leader) with pid `pid`, 0 meaning the caller's.
Task* find_process(SyscallCall& call, pid_t pid) {
  if (pid == 0) return call.task.group_leader;
  Task* task = call.kernel.find_task(pid);
  if (task == nullptr || task->state == TaskState::kDead) return nullptr;
  return task->group_leader;
}

}  // namespace

SyscallResult sys_getpgid(SyscallCall& call) {
  const auto pid = static_cast<pid_t>(call.args[0]);
  if (pid < 0) return Errno::kESRCH;
  Task* process = find_process(call, pid);
  if (process == nullptr) return Errno::kESRCH;
  return process->pgid;
}

SyscallResult sys_getsid(SyscallCall& call) {
  const auto pid = static_cast<pid_t>(call.args[0]);
  if (pid < 0) return Errno::kESRCH;
  Task* process = find_process(call, pid);
  if (process == nullptr) return Errno::kESRCH;
  return process->sid;
}

SyscallResult sys_setpgid(SyscallCall& call) {
  // setpgid(2): the caller or one of its children; into an existing group of the same
  // session, or a new group named after the process.
  auto pid = static_cast<pid_t>(call.args[0]);
  auto pgid = static_cast<pid_t>(call.args[1]);
  Task& self = *call.task.group_leader;
  if (pgid < 0) return Errno::kEINVAL;
  if (pid == 0) pid = self.tgid;
  if (pgid == 0) pgid = pid;
  Task* target = find_process(call, pid);
  if (target == nullptr) return Errno::kESRCH;
  if (target != &self) {
    const Task* parent = target->parent != nullptr ? target->parent->group_leader : nullptr;
    if (parent != &self) return Errno::kESRCH;
    if (target->sid != self.sid) return Errno::kEPERM;
    if (target->did_exec) return Errno::kEACCES;  // a child that has exec'd is out of reach
  }
  if (target->sid == target->tgid) return Errno::kEPERM;  // a session leader cannot move
  if (pgid != target->tgid) {
    bool group_exists = false;
    for (const auto& [id, task] : call.kernel.task_table()) {
      if (task->pgid == pgid && task->sid == self.sid && task->state != TaskState::kZombie) group_exists = true;
    }
    if (!group_exists) return Errno::kEPERM;
  }
  target->pgid = pgid;
  for (Task& thread : target->threads) thread.pgid = pgid;
  return 0;
}

SyscallResult sys_setsid(SyscallCall& call) {
  Task& self = *call.task.group_leader;
  // A process-group leader cannot start a session (its group would span two sessions).
  for (const auto& [id, task] : call.kernel.task_table()) {
    if (task->pgid == self.tgid && task->state != TaskState::kZombie) return Errno::kEPERM;
  }
  self.sid = self.pgid = self.tgid;
  for (Task& thread : self.threads) thread.sid = thread.pgid = self.tgid;
  return self.sid;
}

}  // namespace ossim::kernel
