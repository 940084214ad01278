#pragma once

/// @file
/// The scheduling ABI: Linux's policy numbers, priority ranges and flags, struct
/// sched_param and struct sched_attr (include/uapi/linux/sched/types.h), and the CPU mask
/// of sched_setaffinity(2).
///
/// ossim extends struct sched_attr the way Linux extends it, at the end, behind the
/// `size` field: the textbook policies need a task's lottery tickets and its declared job
/// length (SJF, STCF), which Linux has no field for. A caller passing Linux's size
/// (kSchedAttrSizeLinux) gets Linux's behaviour; the extension fields then keep their
/// values.

#include <cstddef>
#include <cstdint>

namespace ossim::sys {

// Policies (sched_setscheduler(2)). SCHED_OTHER, SCHED_BATCH and SCHED_IDLE tasks are
// scheduled by the fair slot's policy (CFS on Linux; any general-purpose policy here).
inline constexpr int kSchedOther = 0;
inline constexpr int kSchedFifo = 1;
inline constexpr int kSchedRr = 2;
inline constexpr int kSchedBatch = 3;
inline constexpr int kSchedIdle = 5;
inline constexpr int kSchedDeadline = 6;
/// Or-ed into the policy of sched_setscheduler(2): children go back to SCHED_OTHER.
inline constexpr int kSchedResetOnFork = 0x40000000;

// Real-time priorities (sched_get_priority_min/max of SCHED_FIFO and SCHED_RR).
inline constexpr int kRtPriorityMin = 1;
inline constexpr int kRtPriorityMax = 99;

// sched_attr.sched_flags.
inline constexpr std::uint64_t kSchedFlagResetOnFork = 0x01;
inline constexpr std::uint64_t kSchedFlagReclaim = 0x02;
inline constexpr std::uint64_t kSchedFlagDlOverrun = 0x04;
inline constexpr std::uint64_t kSchedFlagKeepPolicy = 0x08;
inline constexpr std::uint64_t kSchedFlagKeepParams = 0x10;

/// struct sched_param.
struct sched_param {
  std::int32_t sched_priority = 0;
};

/// struct sched_attr (SCHED_ATTR_SIZE_VER1) plus ossim's fields.
struct sched_attr {
  std::uint32_t size = 0;           // the caller's size of this struct
  std::uint32_t sched_policy = 0;
  std::uint64_t sched_flags = 0;
  std::int32_t sched_nice = 0;      // SCHED_OTHER, SCHED_BATCH
  std::uint32_t sched_priority = 0; // SCHED_FIFO, SCHED_RR
  std::uint64_t sched_runtime = 0;  // SCHED_DEADLINE, nanoseconds
  std::uint64_t sched_deadline = 0;
  std::uint64_t sched_period = 0;
  std::uint32_t sched_util_min = 0;
  std::uint32_t sched_util_max = 0;
  // ---- ossim's extension ----
  /// Lottery and stride tickets; 0 keeps the task's tickets.
  std::uint32_t sched_tickets = 0;
  std::uint32_t sched_reserved = 0;
  /// The declared CPU length of the task's job, nanoseconds (SJF, STCF); 0 = unknown.
  std::uint64_t sched_expected_runtime = 0;
};
inline constexpr std::uint32_t kSchedAttrSizeVer0 = 48;
inline constexpr std::uint32_t kSchedAttrSizeLinux = 56;  // SCHED_ATTR_SIZE_VER1
inline constexpr std::uint32_t kSchedAttrSize = sizeof(sched_attr);
static_assert(sizeof(sched_attr) == 72);

/// The tickets a task has unless told otherwise (lottery, stride).
inline constexpr std::uint32_t kDefaultTickets = 100;

/// A CPU set as sched_setaffinity(2) takes it: bit n is CPU n. ossim supports 64 CPUs,
/// so one word holds every mask; a caller's longer cpu_set_t must have its other bits
/// clear.
using cpu_mask_t = std::uint64_t;

// prctl(2) options.
inline constexpr int kPrSetName = 15;
inline constexpr int kPrGetName = 16;
/// The size of a task's name (comm) with its terminating NUL (TASK_COMM_LEN).
inline constexpr std::size_t kTaskCommLen = 16;

}  // namespace ossim::sys
