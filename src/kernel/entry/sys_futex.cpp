// futex(uaddr, op, val, timeout or val2, uaddr2, val3): decodes the operation and its
// flags, reads the timeout, and calls the futex table (kernel/ipc/futex.hpp).

#include "ossim/sys/futex.hpp"
#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/timespec.hpp"
#include "kernel/entry/user_copy.hpp"
#include "kernel/ipc/futex.hpp"

namespace ossim::kernel {

namespace {

/// The deadline of a wait: none for a null timeout; FUTEX_WAIT's is relative (to either
/// clock: both run at one rate), FUTEX_WAIT_BITSET's absolute on the clock the flags name.
Result<sim::Tick> wait_deadline(SyscallCall& call, int command, bool realtime) {
  if (call.args[3] == 0) return sim::kTickNever;
  const sys::timespec timeout = OSSIM_TRY(get_user(call.task, UserPtr<sys::timespec>{call.args[3]}));
  if (!valid_timespec(timeout)) return Errno::kEINVAL;
  if (command == sys::kFutexWait) return sim::tick_add(call.cpu().now(), from_timespec(timeout));
  return realtime ? from_realtime(timeout) : from_timespec(timeout);
}

}  // namespace

SyscallResult sys_futex(SyscallCall& call) {
  const mmu::VirtAddr address = call.args[0];
  const int op = static_cast<int>(call.args[1]);
  const auto val = static_cast<std::uint32_t>(call.args[2]);
  // The requeue operations pass a count (val2) where the waits pass a timeout pointer.
  const auto val2 = static_cast<std::uint32_t>(call.args[3]);
  const mmu::VirtAddr address2 = call.args[4];
  const auto val3 = static_cast<std::uint32_t>(call.args[5]);
  const int command = op & sys::kFutexCommandMask;
  const bool private_key = (op & sys::kFutexPrivateFlag) != 0;
  const bool realtime = (op & sys::kFutexClockRealtime) != 0;
  if (realtime && command != sys::kFutexWait && command != sys::kFutexWaitBitset) return Errno::kENOSYS;
  FutexTable& futexes = call.kernel.futexes();
  switch (command) {
    case sys::kFutexWait:
    case sys::kFutexWaitBitset: {
      const sim::Tick deadline = OSSIM_TRY(wait_deadline(call, command, realtime));
      const std::uint32_t bitset = command == sys::kFutexWait ? sys::kFutexBitsetMatchAny : val3;
      return futexes.wait(call.task, address, private_key, val, bitset, deadline);
    }
    case sys::kFutexWake:
      return futexes.wake(call.task, address, private_key, static_cast<int>(val), sys::kFutexBitsetMatchAny);
    case sys::kFutexWakeBitset:
      return futexes.wake(call.task, address, private_key, static_cast<int>(val), val3);
    case sys::kFutexRequeue:
      return futexes.requeue(call.task, address, address2, private_key, static_cast<int>(val), static_cast<int>(val2),
                             std::nullopt);
    case sys::kFutexCmpRequeue:
      return futexes.requeue(call.task, address, address2, private_key, static_cast<int>(val), static_cast<int>(val2),
                             val3);
    default:
      return Errno::kENOSYS;
  }
}

}  // namespace ossim::kernel
