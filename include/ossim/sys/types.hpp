#pragma once

/// @file
/// Structures the syscall ABI passes through user memory, laid out byte for byte as on
/// Linux x86-64, so that what a workload reads from simulated memory is what a C program
/// would see.

#include <cstdint>

namespace ossim::sys {

using pid_t = std::int32_t;
using uid_t = std::uint32_t;
using gid_t = std::uint32_t;
using off_t = std::int64_t;
using mode_t = std::uint32_t;

struct timespec {
  std::int64_t tv_sec = 0;
  std::int64_t tv_nsec = 0;
};
static_assert(sizeof(timespec) == 16);

/// struct stat of x86-64 (asm/stat.h).
struct stat {
  std::uint64_t st_dev = 0;
  std::uint64_t st_ino = 0;
  std::uint64_t st_nlink = 0;
  std::uint32_t st_mode = 0;
  std::uint32_t st_uid = 0;
  std::uint32_t st_gid = 0;
  std::int32_t pad0_ = 0;
  std::uint64_t st_rdev = 0;
  std::int64_t st_size = 0;
  std::int64_t st_blksize = 0;
  std::int64_t st_blocks = 0;  // 512-byte blocks
  timespec st_atim;
  timespec st_mtim;
  timespec st_ctim;
  std::int64_t unused_[3] = {};
};
static_assert(sizeof(stat) == 144);

/// struct rusage's two timevals and counters, as wait4() fills them.
struct timeval {
  std::int64_t tv_sec = 0;
  std::int64_t tv_usec = 0;
};
struct rusage {
  timeval ru_utime;
  timeval ru_stime;
  std::int64_t ru_maxrss = 0;
  std::int64_t ru_ixrss = 0;
  std::int64_t ru_idrss = 0;
  std::int64_t ru_isrss = 0;
  std::int64_t ru_minflt = 0;
  std::int64_t ru_majflt = 0;
  std::int64_t ru_nswap = 0;
  std::int64_t ru_inblock = 0;
  std::int64_t ru_oublock = 0;
  std::int64_t ru_msgsnd = 0;
  std::int64_t ru_msgrcv = 0;
  std::int64_t ru_nsignals = 0;
  std::int64_t ru_nvcsw = 0;
  std::int64_t ru_nivcsw = 0;
};
static_assert(sizeof(rusage) == 144);

}  // namespace ossim::sys
