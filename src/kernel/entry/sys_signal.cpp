// Exit and signal syscalls: exit, exit_group, kill, rt_sigaction (default and ignore).

#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/user_copy.hpp"
#include "kernel/task/signal_handlers.hpp"

namespace ossim::kernel {

SyscallResult sys_exit(SyscallCall& call) {
  call.kernel.do_exit(call.task, sys::exited_status(static_cast<int>(call.args[0])));
}

SyscallResult sys_exit_group(SyscallCall& call) {
  call.kernel.do_group_exit(call.task, sys::exited_status(static_cast<int>(call.args[0])));
}

SyscallResult sys_kill(SyscallCall& call) {
  const auto pid = static_cast<pid_t>(static_cast<std::int32_t>(call.args[0]));
  const int signal = static_cast<int>(call.args[1]);
  if (signal < 0 || signal > sys::kSignalCount) return Errno::kEINVAL;
  KernelCore& kernel = call.kernel;
  const sim::Tick now = call.cpu().now();
  // The targets: one process, the caller's group (0), every process but init (-1), or
  // the group -pid. Signal 0 only checks that a target exists.
  std::vector<Task*> targets;
  for (const auto& [id, task] : kernel.task_table()) {
    if (!task->is_thread_group_leader() || task->state == TaskState::kZombie || task->state == TaskState::kDead) continue;
    const bool match = pid > 0 ? task->tgid == pid
                       : pid == 0 ? task->pgid == call.task.pgid
                       : pid == -1 ? task->tgid != 1 && task.get() != call.task.group_leader
                                   : task->pgid == -pid;
    if (match) targets.push_back(task.get());
  }
  if (targets.empty()) return Errno::kESRCH;
  if (signal == 0) return 0;
  for (Task* target : targets) {
    // A process-directed signal goes to a thread that does not block it (the leader first).
    Task* receiver = target;
    if ((target->blocked_signals & signal_bit(signal)) != 0 || target->exiting) {
      for (Task& thread : target->threads) {
        if ((thread.blocked_signals & signal_bit(signal)) == 0 && !thread.exiting) {
          receiver = &thread;
          break;
        }
      }
    }
    kernel.send_signal(*receiver, signal, now, &call.cpu());
  }
  return 0;
}

SyscallResult sys_rt_sigaction(SyscallCall& call) {
  // struct kernel_sigaction { handler; flags; restorer; mask } — 8 + 8 + 8 + 8 bytes.
  struct KernelSigaction {
    std::uint64_t handler;
    std::uint64_t flags;
    std::uint64_t restorer;
    std::uint64_t mask;
  };
  const int signal = static_cast<int>(call.args[0]);
  if (signal < 1 || signal > sys::kSignalCount) return Errno::kEINVAL;
  if (call.args[3] != 8) return Errno::kEINVAL;  // sigsetsize
  Task& task = call.task;
  if (!task.sighand) return Errno::kEINVAL;
  std::uint64_t& action = task.sighand->action[static_cast<std::size_t>(signal)];
  if (call.args[2] != 0) {
    const KernelSigaction old{action, 0, 0, 0};
    OSSIM_TRY(put_user(task, UserPtr<KernelSigaction>{call.args[2]}, old));
  }
  if (call.args[1] != 0) {
    const KernelSigaction wanted = OSSIM_TRY(get_user(task, UserPtr<KernelSigaction>{call.args[1]}));
    if (signal == sys::kSigKill || signal == sys::kSigStop) return Errno::kEINVAL;
    // Handlers that run user code are the signals issue's; this kernel takes SIG_DFL and
    // SIG_IGN.
    if (wanted.handler != kSigDefault && wanted.handler != kSigIgnore) return Errno::kEINVAL;
    action = wanted.handler;
    if (action == kSigIgnore) task.pending_signals &= ~signal_bit(signal);
  }
  return 0;
}

}  // namespace ossim::kernel
