// wait4: reaping children. A child that has exited stays a zombie, holding its exit status
// and accounting, until a wait by its parent (any thread of the parent's group) reaps it.

#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/user_copy.hpp"

namespace ossim::kernel {

namespace {

bool matches(const Task& child, pid_t pid, const Task& waiter) {
  if (pid > 0) return child.tgid == pid;
  if (pid == -1) return true;
  if (pid == 0) return child.pgid == waiter.pgid;
  return child.pgid == -pid;
}

sys::timeval to_timeval(sim::Tick t) {
  return sys::timeval{static_cast<std::int64_t>(t / sim::kSecond),
                      static_cast<std::int64_t>((t % sim::kSecond) / sim::kMicrosecond)};
}

}  // namespace

SyscallResult sys_wait4(SyscallCall& call) {
  const auto pid = static_cast<pid_t>(static_cast<std::int32_t>(call.args[0]));
  const UserPtr<std::int32_t> status_out{call.args[1]};
  const int options = static_cast<int>(call.args[2]);
  const UserPtr<sys::rusage> usage_out{call.args[3]};
  constexpr int kWall = 0x40000000, kWclone = static_cast<int>(0x80000000u), kWnothread = 0x20000000;
  if ((options & ~(sys::kWaitNoHang | sys::kWaitUntraced | sys::kWaitContinued | kWall | kWclone | kWnothread)) != 0) {
    return Errno::kEINVAL;
  }
  if (pid == INT32_MIN) return Errno::kESRCH;  // -INT_MIN overflows; Linux refuses it
  Task& self = call.task;
  Task& leader = *self.group_leader;
  for (;;) {
    bool have_children = false;
    Task* zombie = nullptr;
    const auto scan = [&](Task& waiter) {
      for (Task& child : waiter.children) {
        if (!matches(child, pid, self)) continue;
        have_children = true;
        if (child.state == TaskState::kZombie && child.threads.empty()) {
          zombie = &child;
          return;
        }
      }
    };
    scan(leader);
    for (Task& thread : leader.threads) {
      if (zombie == nullptr) scan(thread);
    }
    if (zombie != nullptr) {
      // As Linux's kernel_wait4: the child is reaped first, then the status and usage are
      // copied out, so a bad pointer gives EFAULT with the child gone all the same.
      const std::int32_t status = zombie->exit_status;
      sys::rusage usage;
      usage.ru_utime = to_timeval(zombie->acct.user_time);
      usage.ru_stime = to_timeval(zombie->acct.system_time);
      usage.ru_minflt = static_cast<std::int64_t>(zombie->acct.minor_faults);
      usage.ru_majflt = static_cast<std::int64_t>(zombie->acct.major_faults);
      usage.ru_nvcsw = static_cast<std::int64_t>(zombie->acct.voluntary_switches);
      usage.ru_nivcsw = static_cast<std::int64_t>(zombie->acct.involuntary_switches);
      const pid_t reaped = zombie->tid;
      call.kernel.release_task(*zombie);
      if (!status_out.null()) OSSIM_TRY(put_user(self, status_out, status));
      if (!usage_out.null()) OSSIM_TRY(put_user(self, usage_out, usage));
      return reaped;
    }
    if (!have_children) return Errno::kECHILD;
    if ((options & sys::kWaitNoHang) != 0) return 0;
    const std::uint64_t seen = leader.child_events;
    OSSIM_TRY(call.kernel.wait_event(self, leader.child_exit, true, [&] { return leader.child_events != seen; }));
  }
}

}  // namespace ossim::kernel
