#pragma once

/// @file
/// futex(2)'s operations and flags, with Linux's values (linux/futex.h). The second
/// argument of futex() is an operation ORed with flags:
///
///     self.futex(word, sys::kFutexWait | sys::kFutexPrivateFlag, expected, timeout_at);
///
/// Named in the house style (FUTEX_WAIT is kFutexWait), as in flags.hpp.

#include <cstdint>

namespace ossim::sys {

// Operations.
inline constexpr int kFutexWait = 0;          // sleep while *uaddr == val (relative timeout)
inline constexpr int kFutexWake = 1;          // wake up to val waiters
inline constexpr int kFutexRequeue = 3;       // wake val, move up to val2 to uaddr2
inline constexpr int kFutexCmpRequeue = 4;    // the same, if *uaddr == val3 (else EAGAIN)
inline constexpr int kFutexWaitBitset = 9;    // FUTEX_WAIT with a bitset in val3 (absolute timeout)
inline constexpr int kFutexWakeBitset = 10;   // wake up to val waiters whose bitset meets val3

// Flags.
/// The futex is used by one process only: the kernel keys it by (address space, address)
/// without looking at the mapping.
inline constexpr int kFutexPrivateFlag = 128;
/// The timeout of FUTEX_WAIT_BITSET is on CLOCK_REALTIME (CLOCK_MONOTONIC otherwise).
inline constexpr int kFutexClockRealtime = 256;
/// The bits of the second argument that are the operation.
inline constexpr int kFutexCommandMask = ~(kFutexPrivateFlag | kFutexClockRealtime);

/// The bitset of FUTEX_WAIT and FUTEX_WAKE: matches every waiter.
inline constexpr std::uint32_t kFutexBitsetMatchAny = 0xffff'ffffu;

}  // namespace ossim::sys
