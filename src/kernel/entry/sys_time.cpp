// Time syscalls: sleeping, yielding, clocks.

#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/timespec.hpp"
#include "kernel/entry/user_copy.hpp"

namespace ossim::kernel {

namespace {

/// Sleeps (interruptibly) until `deadline`. On a signal: EINTR, with the time left in
/// `*remaining` if it is not null.
SyscallResult sleep_until(SyscallCall& call, sim::Tick deadline, mmu::VirtAddr remaining) {
  Task& task = call.task;
  KernelCore& kernel = call.kernel;
  task.timer_fired = false;
  kernel.engine().reschedule(task.sleep_timer, deadline);
  while (!task.timer_fired) {
    if (kernel.signal_pending(task)) {
      kernel.engine().cancel(task.sleep_timer);
      if (remaining != 0) {
        const sim::Tick now = call.cpu().now();
        OSSIM_TRY(put_user(task, UserPtr<sys::timespec>{remaining}, to_timespec(deadline > now ? deadline - now : 0)));
      }
      return Errno::kEINTR;
    }
    task.state = TaskState::kInterruptible;
    kernel.scheduler().schedule(task);
  }
  return 0;
}

}  // namespace

SyscallResult sys_sched_yield(SyscallCall& call) {
  call.kernel.scheduler().yield(call.task);
  return 0;
}

SyscallResult sys_nanosleep(SyscallCall& call) {
  const sys::timespec request = OSSIM_TRY(get_user(call.task, UserPtr<sys::timespec>{call.args[0]}));
  if (!valid_timespec(request)) return Errno::kEINVAL;
  return sleep_until(call, sim::tick_add(call.cpu().now(), from_timespec(request)), call.args[1]);
}

SyscallResult sys_clock_nanosleep(SyscallCall& call) {
  // Sleeps on CLOCK_MONOTONIC / BOOTTIME (the same clock here) or CLOCK_REALTIME, for a
  // relative time or until an absolute one (TIMER_ABSTIME).
  const int clock = static_cast<int>(call.args[0]);
  const int flags = static_cast<int>(call.args[1]);
  if (clock != sys::kClockMonotonic && clock != sys::kClockBoottime && clock != sys::kClockRealtime) {
    return Errno::kEINVAL;
  }
  sys::timespec request = OSSIM_TRY(get_user(call.task, UserPtr<sys::timespec>{call.args[2]}));
  if (!valid_timespec(request)) return Errno::kEINVAL;
  const sim::Tick now = call.cpu().now();
  if ((flags & sys::kTimerAbstime) == 0) return sleep_until(call, sim::tick_add(now, from_timespec(request)), call.args[3]);
  const sim::Tick deadline = clock == sys::kClockRealtime ? from_realtime(request) : from_timespec(request);
  // An absolute sleep is not restarted with a remaining time: `rem` is not written.
  return sleep_until(call, std::max(deadline, now), 0);
}

SyscallResult sys_clock_gettime(SyscallCall& call) {
  Task& task = call.task;
  const sim::Tick now = call.cpu().now();
  sim::Tick value = 0;
  switch (static_cast<int>(call.args[0])) {
    case sys::kClockRealtime: {
      // Seconds are added apart: the boot date in picoseconds would overflow 64 bits.
      sys::timespec realtime = to_timespec(now);
      realtime.tv_sec += kRealtimeAtBoot;
      OSSIM_TRY(put_user(task, UserPtr<sys::timespec>{call.args[1]}, realtime));
      return 0;
    }
    case sys::kClockMonotonic:
    case sys::kClockMonotonicRaw:
    case sys::kClockBoottime: value = now; break;
    case sys::kClockThreadCputime:
      call.kernel.enter_kernel(task, now);
      value = task.acct.user_time + task.acct.system_time + (now - task.mode_since);
      break;
    case sys::kClockProcessCputime: {
      Task& leader = *task.group_leader;
      value = now - task.mode_since;
      const auto add = [&](const Task& t) { value += t.acct.user_time + t.acct.system_time; };
      add(leader);
      for (const Task& thread : leader.threads) add(thread);
      break;
    }
    default: return Errno::kEINVAL;
  }
  OSSIM_TRY(put_user(task, UserPtr<sys::timespec>{call.args[1]}, to_timespec(value)));
  return 0;
}

}  // namespace ossim::kernel
