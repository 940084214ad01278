#pragma once

/// @file
/// Flag and constant values of the syscall ABI, with Linux x86-64's values: open flags,
/// lseek whence, wait options and status encoding, clone flags, signal numbers, mmap
/// protections and flags, msync flags, clock ids, priority targets, file types. Named in the house
/// style (O_CREAT is kOpenCreate): the C names are macros in host headers and would collide.

#include <cstdint>

namespace ossim::sys {

// open(2) flags (octal, as in asm-generic/fcntl.h).
inline constexpr int kOpenReadOnly = 0;
inline constexpr int kOpenWriteOnly = 01;
inline constexpr int kOpenReadWrite = 02;
inline constexpr int kOpenAccessMode = 03;
inline constexpr int kOpenCreate = 0100;
inline constexpr int kOpenExclusive = 0200;
inline constexpr int kOpenNoCtty = 0400;
inline constexpr int kOpenTruncate = 01000;
inline constexpr int kOpenAppend = 02000;
inline constexpr int kOpenNonBlock = 04000;
inline constexpr int kOpenDirectory = 0200000;
inline constexpr int kOpenCloseOnExec = 02000000;
/// The dirfd of openat() that means the current directory.
inline constexpr int kAtFdCwd = -100;

// lseek(2) whence.
inline constexpr int kSeekSet = 0;
inline constexpr int kSeekCur = 1;
inline constexpr int kSeekEnd = 2;

// File types in st_mode.
inline constexpr std::uint32_t kFileTypeMask = 0170000;
inline constexpr std::uint32_t kTypeFifo = 0010000;
inline constexpr std::uint32_t kTypeCharDevice = 0020000;
inline constexpr std::uint32_t kTypeDirectory = 0040000;
inline constexpr std::uint32_t kTypeRegular = 0100000;

// wait4(2) options and the status word.
inline constexpr int kWaitNoHang = 1;
inline constexpr int kWaitUntraced = 2;
inline constexpr int kWaitContinued = 8;
constexpr bool exited_normally(int status) { return (status & 0x7f) == 0; }
constexpr int exit_code(int status) { return (status >> 8) & 0xff; }
constexpr bool killed_by_signal(int status) { return (status & 0x7f) != 0 && (status & 0x7f) != 0x7f; }
constexpr int terminating_signal(int status) { return status & 0x7f; }
constexpr bool core_dumped(int status) { return (status & 0x80) != 0; }
constexpr bool stopped_by_signal(int status) { return (status & 0xff) == 0x7f; }
constexpr int stop_signal(int status) { return exit_code(status); }
/// The status a parent sees for a child that called exit(code).
constexpr int exited_status(int code) { return (code & 0xff) << 8; }
/// The status for a child killed by `signal` (with the core-dump bit if it dumped core).
constexpr int signaled_status(int signal, bool core_dumped = false) { return (signal & 0x7f) | (core_dumped ? 0x80 : 0); }

// clone(2) flags.
inline constexpr std::uint64_t kCloneSignalMask = 0x000000ff;  // the signal sent to the parent on exit
inline constexpr std::uint64_t kCloneVm = 0x00000100;
inline constexpr std::uint64_t kCloneFs = 0x00000200;
inline constexpr std::uint64_t kCloneFiles = 0x00000400;
inline constexpr std::uint64_t kCloneSighand = 0x00000800;
inline constexpr std::uint64_t kCloneVfork = 0x00004000;
inline constexpr std::uint64_t kCloneParent = 0x00008000;
inline constexpr std::uint64_t kCloneThread = 0x00010000;
inline constexpr std::uint64_t kCloneSettls = 0x00080000;
inline constexpr std::uint64_t kCloneParentSettid = 0x00100000;
inline constexpr std::uint64_t kCloneChildCleartid = 0x00200000;
inline constexpr std::uint64_t kCloneChildSettid = 0x01000000;

// Signal numbers.
inline constexpr int kSigHup = 1;
inline constexpr int kSigInt = 2;
inline constexpr int kSigQuit = 3;
inline constexpr int kSigIll = 4;
inline constexpr int kSigTrap = 5;
inline constexpr int kSigAbrt = 6;
inline constexpr int kSigBus = 7;
inline constexpr int kSigFpe = 8;
inline constexpr int kSigKill = 9;
inline constexpr int kSigUsr1 = 10;
inline constexpr int kSigSegv = 11;
inline constexpr int kSigUsr2 = 12;
inline constexpr int kSigPipe = 13;
inline constexpr int kSigAlrm = 14;
inline constexpr int kSigTerm = 15;
inline constexpr int kSigChld = 17;
inline constexpr int kSigCont = 18;
inline constexpr int kSigStop = 19;
inline constexpr int kSignalCount = 64;

// mmap(2) and mprotect(2).
inline constexpr int kProtNone = 0;
inline constexpr int kProtRead = 1;
inline constexpr int kProtWrite = 2;
inline constexpr int kProtExec = 4;
inline constexpr int kMapShared = 0x01;
inline constexpr int kMapPrivate = 0x02;
inline constexpr int kMapFixed = 0x10;
inline constexpr int kMapAnonymous = 0x20;
inline constexpr int kMapNoReserve = 0x4000;
inline constexpr int kMapPopulate = 0x8000;
inline constexpr int kMapFixedNoReplace = 0x100000;
inline constexpr std::uint64_t kMapFailed = ~std::uint64_t{0};

// msync(2) flags: kMsyncAsync and kMsyncSync exclude each other.
inline constexpr int kMsyncAsync = 1;       // start writing the dirty pages back; do not wait
inline constexpr int kMsyncInvalidate = 2;  // invalidate other mappings of the file (a no-op on a coherent cache)
inline constexpr int kMsyncSync = 4;        // write the dirty pages back before returning

// madvise(2) advice. Others Linux knows (MADV_WILLNEED, MADV_FREE...) are EINVAL here.
inline constexpr int kMadvNormal = 0;      // no special treatment (clears RANDOM and SEQUENTIAL)
inline constexpr int kMadvRandom = 1;      // expect random access: no readahead on faults
inline constexpr int kMadvSequential = 2;  // expect sequential access: a doubled readahead window
inline constexpr int kMadvDontneed = 4;    // drop the pages: private anonymous ones read back as zero
inline constexpr int kMadvHugepage = 14;   // 2 MiB pages wanted (transparent_hugepages "madvise" or "always")
inline constexpr int kMadvNohugepage = 15; // no 2 MiB pages, even with "always"

// clock_gettime(2).
inline constexpr int kClockRealtime = 0;
inline constexpr int kClockMonotonic = 1;
inline constexpr int kClockProcessCputime = 2;
inline constexpr int kClockThreadCputime = 3;
inline constexpr int kClockMonotonicRaw = 4;
inline constexpr int kClockBoottime = 7;
/// clock_nanosleep(2) flag: the request is an absolute time.
inline constexpr int kTimerAbstime = 1;

// getpriority(2) / setpriority(2): what `who` names, and the range of nice values.
inline constexpr int kPrioProcess = 0;       // a task (0: the caller)
inline constexpr int kPrioProcessGroup = 1;  // every task of a process group (0: the caller's)
inline constexpr int kPrioUser = 2;          // every task of a user (0: the caller's uid)
inline constexpr int kNiceMin = -20;
inline constexpr int kNiceMax = 19;

/// Pipe capacity: Linux's default (16 pages).
inline constexpr std::uint64_t kPipeCapacity = 65536;

}  // namespace ossim::sys
