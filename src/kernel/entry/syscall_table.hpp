#pragma once

// The syscall dispatcher and the handler declarations, both generated from the one list in
// ossim/sys/syscall_list.hpp. Each handler decodes and validates its arguments and calls
// into its subsystem; the dispatcher is the only place that knows the table.

#include "ossim/sys/syscall_list.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

#define OSSIM_DECLARE_SYSCALL(number, name) SyscallResult sys_##name(SyscallCall& call);
OSSIM_SYSCALLS(OSSIM_DECLARE_SYSCALL)
#undef OSSIM_DECLARE_SYSCALL

/// Runs the handler of `number`; ENOSYS for a number with none.
SyscallResult dispatch_syscall(std::uint64_t number, SyscallCall& call);

}  // namespace ossim::kernel
