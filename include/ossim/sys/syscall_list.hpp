#pragma once

/// @file
/// The one list of system calls ossim implements: Linux x86-64 numbers and names. Every
/// other table is generated from it with an X-macro: the number constants below, the
/// kernel's dispatch table and handler declarations, the name table for traces.
///
///     #define X(number, name) ...
///     OSSIM_SYSCALLS(X)
///     #undef X
///
/// Numbers from 1000 up are ossim's own calls, which Linux has no equivalent of (Linux
/// x86-64 numbers end below 512, where x32's begin):
///   - sched_job_complete(release_ns, deadline_ns): a periodic or sporadic task reports
///     that its job released at `release_ns` (CLOCK_MONOTONIC) has completed now, with
///     absolute deadline `deadline_ns` (0: none); the kernel counts jobs, deadline misses
///     and lateness for metrics (what rt-app logs in user space on Linux).
///   - ossim_resident_limit(address, length, limit, references, count): caps the resident
///     pages of the anonymous private mapping [address, address + length) (exactly one
///     mapping) at `limit`; a touch of a page not resident when `limit` are evicts one of
///     them to swap, chosen by kernel.memory.replacement. `references` (an array of `count`
///     page addresses, or null) is the region's future reference string, which OPT replays.
///     EINVAL for a bad range or limit, ENODEV without swap.
///   - ossim_page_reference(address, write): the caller has just referenced `address` of
///     such a region; returns 1 for a hit, 0 for a miss (the reference faulted the page
///     in). This is the exact reference stream that LRU and OPT need and the hardware's
///     accessed bits cannot give; it counts page_hits and page_misses.
///
/// Adding a syscall: a line here, a `sys_<name>` handler in src/kernel/entry/, and a user
/// wrapper in include/ossim/user/.

#include <algorithm>
#include <cstdint>
#include <string_view>

// clang-format off
#define OSSIM_SYSCALLS(X)          \
  X(0, read)                       \
  X(1, write)                      \
  X(2, open)                       \
  X(3, close)                      \
  X(4, stat)                       \
  X(5, fstat)                      \
  X(8, lseek)                      \
  X(9, mmap)                       \
  X(10, mprotect)                  \
  X(11, munmap)                    \
  X(12, brk)                       \
  X(13, rt_sigaction)              \
  X(22, pipe)                      \
  X(24, sched_yield)               \
  X(26, msync)                     \
  X(28, madvise)                   \
  X(32, dup)                       \
  X(33, dup2)                      \
  X(35, nanosleep)                 \
  X(39, getpid)                    \
  X(56, clone)                     \
  X(57, fork)                      \
  X(59, execve)                    \
  X(60, exit)                      \
  X(61, wait4)                     \
  X(62, kill)                      \
  X(76, truncate)                  \
  X(77, ftruncate)                 \
  X(83, mkdir)                     \
  X(87, unlink)                    \
  X(102, getuid)                   \
  X(104, getgid)                   \
  X(109, setpgid)                  \
  X(110, getppid)                  \
  X(112, setsid)                   \
  X(121, getpgid)                  \
  X(124, getsid)                   \
  X(140, getpriority)              \
  X(141, setpriority)              \
  X(142, sched_setparam)           \
  X(143, sched_getparam)           \
  X(144, sched_setscheduler)       \
  X(145, sched_getscheduler)       \
  X(146, sched_get_priority_max)   \
  X(147, sched_get_priority_min)   \
  X(148, sched_rr_get_interval)    \
  X(157, prctl)                    \
  X(186, gettid)                   \
  X(202, futex)                    \
  X(203, sched_setaffinity)        \
  X(204, sched_getaffinity)        \
  X(228, clock_gettime)            \
  X(230, clock_nanosleep)          \
  X(231, exit_group)               \
  X(257, openat)                   \
  X(293, pipe2)                    \
  X(314, sched_setattr)            \
  X(315, sched_getattr)            \
  X(1000, sched_job_complete)      \
  X(1001, ossim_resident_limit)    \
  X(1002, ossim_page_reference)
// clang-format on

namespace ossim::sys {

/// Syscall numbers, named as the calls (Linux's __NR_getpid is nr::getpid == 39).
namespace nr {
#define OSSIM_SYSCALL_NUMBER(number, name) inline constexpr std::uint64_t name = number;
OSSIM_SYSCALLS(OSSIM_SYSCALL_NUMBER)
#undef OSSIM_SYSCALL_NUMBER
}  // namespace nr

/// One past the highest syscall number in the list.
inline constexpr std::uint64_t kSyscallTableSize = [] {
  std::uint64_t highest = 0;
#define OSSIM_SYSCALL_HIGHEST(number, name) highest = std::max<std::uint64_t>(highest, number);
  OSSIM_SYSCALLS(OSSIM_SYSCALL_HIGHEST)
#undef OSSIM_SYSCALL_HIGHEST
  return highest + 1;
}();

/// The name of a syscall ("getpid"), or an empty view for a number not in the list.
std::string_view syscall_name(std::uint64_t number);

}  // namespace ossim::sys
