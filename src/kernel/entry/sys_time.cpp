// Time syscalls: sleeping, yielding, clocks.

#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/user_copy.hpp"

namespace ossim::kernel {

namespace {

/// kClockRealtime at boot: 2026-01-01T00:00:00Z (any fixed value keeps runs reproducible).
constexpr std::int64_t kRealtimeAtBoot = 1'767'225'600;

sys::timespec to_timespec(sim::Tick t) {
  return sys::timespec{static_cast<std::int64_t>(t / sim::kSecond),
                       static_cast<std::int64_t>((t % sim::kSecond) / sim::kNanosecond)};
}

}  // namespace

SyscallResult sys_sched_yield(SyscallCall& call) {
  call.kernel.scheduler().yield(call.task);
  return 0;
}

SyscallResult sys_nanosleep(SyscallCall& call) {
  const sys::timespec request = OSSIM_TRY(get_user(call.task, UserPtr<sys::timespec>{call.args[0]}));
  if (request.tv_sec < 0 || request.tv_nsec < 0 || request.tv_nsec >= 1'000'000'000) return Errno::kEINVAL;
  const sim::Tick max_seconds = sim::kTickNever / sim::kSecond - 1;
  const sim::Tick duration =
      static_cast<sim::Tick>(std::min<std::int64_t>(request.tv_sec, static_cast<std::int64_t>(max_seconds))) *
          sim::kSecond +
      static_cast<sim::Tick>(request.tv_nsec) * sim::kNanosecond;
  Task& task = call.task;
  KernelCore& kernel = call.kernel;
  const sim::Tick deadline = sim::tick_add(call.cpu().now(), duration);
  task.timer_fired = false;
  kernel.engine().reschedule(task.sleep_timer, deadline);
  while (!task.timer_fired) {
    if (kernel.signal_pending(task)) {
      kernel.engine().cancel(task.sleep_timer);
      if (call.args[1] != 0) {
        const sim::Tick now = call.cpu().now();
        OSSIM_TRY(put_user(task, UserPtr<sys::timespec>{call.args[1]}, to_timespec(deadline > now ? deadline - now : 0)));
      }
      return Errno::kEINTR;
    }
    task.state = TaskState::kInterruptible;
    kernel.scheduler().schedule(task);
  }
  return 0;
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
