#pragma once

/// @file
/// The user-side runtime a workload sees: the calling thread's handle on its simulated
/// process. Workloads are ordinary C++ functions `int main(user::Process& self)`; every
/// wrapper here traps into the modelled kernel with the Linux x86-64 syscall number and
/// calling convention, on the caller's CPU, exactly as libc would.
///
/// Return values are the kernel's: the result, or -errno (no hidden errno variable), so
///     if (long fd = self.open("/tmp/x", kOpenCreate | kOpenWriteOnly, 0644); fd < 0) ...
/// Pointers that cross the syscall boundary are simulated virtual addresses (VirtAddr);
/// the convenience overloads taking host strings or buffers copy them through a scratch
/// area on the simulated user stack, as a C program's locals would be.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ossim/sys/flags.hpp"
#include "ossim/sys/futex.hpp"
#include "ossim/sys/sched.hpp"
#include "ossim/sys/syscall_list.hpp"
#include "ossim/sys/types.hpp"
#include "ossim/cpu/context.hpp"
#include "ossim/cpu/cpu.hpp"
#include "ossim/mmu/address.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::user {

class Process;
using VirtAddr = mmu::VirtAddr;
/// A program's or thread's entry point: runs on the new task, returns the exit code.
using Entry = std::function<int(Process&)>;

/// Host functions cannot live in simulated memory, so the code a new task runs (fork's
/// child function, a thread's function) is registered here and passed to the kernel as a
/// code handle, a number that stands for a code address.
class CodeRegistry {
 public:
  virtual std::uint64_t register_entry(Entry entry) = 0;

 protected:
  ~CodeRegistry() = default;
};

class Process {
 public:
  /// Built by the kernel for each task; workloads receive it by reference.
  Process(cpu::Context& context, CodeRegistry& code) : context_(&context), code_(&code) {}
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // ---- The trap --------------------------------------------------------------------
  /// SYSCALL with `number` and up to six arguments (rdi, rsi, rdx, r10, r8, r9); returns
  /// rax: the result or -errno.
  std::int64_t syscall(std::uint64_t number, std::uint64_t a0 = 0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                       std::uint64_t a3 = 0, std::uint64_t a4 = 0, std::uint64_t a5 = 0) {
    cpu::RegisterFile& r = context_->registers();
    r.rax = number;
    r.rdi = a0;
    r.rsi = a1;
    r.rdx = a2;
    r.r10 = a3;
    r.r8 = a4;
    r.r9 = a5;
    return static_cast<std::int64_t>(context_->cpu().syscall());
  }

  // ---- Computation and memory (user mode, on the current CPU) --------------------------
  /// Executes `cycles` cycles of computation; the timer may preempt in the middle.
  void compute(std::uint64_t cycles) { context_->cpu().compute(cycles); }
  template <typename T>
  T load(VirtAddr address) { return context_->cpu().load<T>(address); }
  template <typename T>
  void store(VirtAddr address, const T& value) { context_->cpu().store<T>(address, value); }
  void read_memory(VirtAddr address, void* out, std::size_t bytes) { context_->cpu().read_memory(address, out, bytes); }
  void write_memory(VirtAddr address, const void* in, std::size_t bytes) {
    context_->cpu().write_memory(address, in, bytes);
  }
  /// Atomic read-modify-writes (LOCK CMPXCHG, XCHG, LOCK XADD; see cpu::Cpu): each is one
  /// instruction, so no other CPU touches the memory between its read and its write.
  /// `address` must be aligned to sizeof(T). Each returns the value held before.
  template <typename T>
  T atomic_compare_exchange(VirtAddr address, T expected, T desired) {
    return context_->cpu().atomic_compare_exchange<T>(address, expected, desired);
  }
  template <typename T>
  T atomic_exchange(VirtAddr address, T desired) { return context_->cpu().atomic_exchange<T>(address, desired); }
  template <typename T>
  T atomic_fetch_add(VirtAddr address, T addend) { return context_->cpu().atomic_fetch_add<T>(address, addend); }
  /// Reads a NUL-terminated string of at most `max_bytes` from simulated memory.
  std::string read_string(VirtAddr address, std::size_t max_bytes = 4096);
  /// The simulated time on this thread's CPU.
  sim::Tick now() { return context_->cpu().now(); }
  /// The program's arguments and environment, read from the initial user stack.
  std::vector<std::string> argv();
  std::vector<std::string> envp();

  // ---- Processes and threads -------------------------------------------------------
  sys::pid_t getpid() { return static_cast<sys::pid_t>(syscall(sys::nr::getpid)); }
  sys::pid_t getppid() { return static_cast<sys::pid_t>(syscall(sys::nr::getppid)); }
  sys::pid_t gettid() { return static_cast<sys::pid_t>(syscall(sys::nr::gettid)); }
  sys::uid_t getuid() { return static_cast<sys::uid_t>(syscall(sys::nr::getuid)); }
  sys::gid_t getgid() { return static_cast<sys::gid_t>(syscall(sys::nr::getgid)); }
  /// fork(): the child is a copy-on-write copy of this process that runs `child` instead
  /// of returning from fork (a host stack cannot be copied). Returns the child's pid, or
  /// -errno.
  sys::pid_t fork(Entry child);
  /// clone(): `flags` as in Linux (kCloneVm | kCloneThread ... | exit signal). With a zero
  /// `stack`, the runtime maps a fresh stack for the child when kCloneVm is set.
  sys::pid_t clone(Entry fn, std::uint64_t flags, VirtAddr stack = 0, VirtAddr parent_tid = 0,
                   VirtAddr child_tid = 0);
  /// A thread in this process (kCloneVm|FS|FILES|SIGHAND|THREAD): returns its tid.
  sys::pid_t spawn_thread(Entry fn);
  /// execve() with host strings (copied to the simulated stack); returns only on error.
  int execve(std::string_view path, const std::vector<std::string>& argv, const std::vector<std::string>& envp = {});
  [[noreturn]] void exit(int code);
  [[noreturn]] void exit_group(int code);
  sys::pid_t wait4(sys::pid_t pid, int* status, int options = 0, sys::rusage* usage = nullptr);
  sys::pid_t waitpid(sys::pid_t pid, int* status, int options = 0) { return wait4(pid, status, options); }
  sys::pid_t wait(int* status) { return wait4(-1, status, 0); }
  int setpgid(sys::pid_t pid, sys::pid_t pgid) { return static_cast<int>(syscall(sys::nr::setpgid, pid, pgid)); }
  sys::pid_t getpgid(sys::pid_t pid) { return static_cast<sys::pid_t>(syscall(sys::nr::getpgid, pid)); }
  sys::pid_t setsid() { return static_cast<sys::pid_t>(syscall(sys::nr::setsid)); }
  sys::pid_t getsid(sys::pid_t pid) { return static_cast<sys::pid_t>(syscall(sys::nr::getsid, pid)); }
  int sched_yield() { return static_cast<int>(syscall(sys::nr::sched_yield)); }
  /// getpriority(): the nice value (-20..19) of the tasks `which` (sys::kPrioProcess...)
  /// and `who` name, the lowest among several, as glibc returns it (the raw syscall
  /// returns 20 - nice). As with glibc, an error (-ESRCH, -EINVAL) is a possible nice
  /// value too: a caller that must tell them apart uses syscall(sys::nr::getpriority).
  int getpriority(int which, int who) {
    const std::int64_t raw = syscall(sys::nr::getpriority, static_cast<std::uint64_t>(which),
                                     static_cast<std::uint64_t>(who));
    return raw < 0 ? static_cast<int>(raw) : 20 - static_cast<int>(raw);
  }
  /// setpriority(): gives the tasks `which` and `who` name the nice value `nice`
  /// (clamped to -20..19); returns 0 or -errno.
  int setpriority(int which, int who, int nice) {
    return static_cast<int>(syscall(sys::nr::setpriority, static_cast<std::uint64_t>(which),
                                    static_cast<std::uint64_t>(who), static_cast<std::uint64_t>(nice)));
  }
  /// nice(): adds `increment` to the caller's nice value; returns the new one, or -errno.
  int nice(int increment) {
    const std::int64_t raw = syscall(sys::nr::getpriority, sys::kPrioProcess, 0);
    if (raw < 0) return static_cast<int>(raw);
    const int target = 20 - static_cast<int>(raw) + increment;
    if (const int error = setpriority(sys::kPrioProcess, 0, target); error < 0) return error;
    return getpriority(sys::kPrioProcess, 0);
  }
  // Scheduling policy, parameters and affinity (host structs copied through the
  // simulated stack); each returns 0 (or the value) or -errno.
  int sched_setscheduler(sys::pid_t pid, int policy, int priority);
  int sched_getscheduler(sys::pid_t pid) { return static_cast<int>(syscall(sys::nr::sched_getscheduler, pid)); }
  int sched_setparam(sys::pid_t pid, int priority);
  /// sched_getparam: the real-time priority (0 for other policies), or -errno.
  int sched_getparam(sys::pid_t pid);
  int sched_setattr(sys::pid_t pid, const sys::sched_attr& attr);
  int sched_getattr(sys::pid_t pid, sys::sched_attr& out);
  int sched_get_priority_max(int policy) {
    return static_cast<int>(syscall(sys::nr::sched_get_priority_max, static_cast<std::uint64_t>(policy)));
  }
  int sched_get_priority_min(int policy) {
    return static_cast<int>(syscall(sys::nr::sched_get_priority_min, static_cast<std::uint64_t>(policy)));
  }
  int sched_setaffinity(sys::pid_t pid, sys::cpu_mask_t mask);
  /// sched_getaffinity: the mask, or -errno (as a negative value).
  std::int64_t sched_getaffinity(sys::pid_t pid);
  /// prctl(PR_SET_NAME): the task's name (comm), cut to 15 characters.
  int set_name(std::string_view name);
  /// prctl(PR_GET_NAME).
  std::string get_name();
  /// sched_job_complete (an ossim call): the job released at `release` with absolute
  /// deadline `deadline` (sim::kTickNever: none) has completed now. Returns 0 or -errno.
  int job_complete(sim::Tick release, sim::Tick deadline = sim::kTickNever) {
    return static_cast<int>(syscall(sys::nr::sched_job_complete, release / sim::kNanosecond,
                                    deadline == sim::kTickNever ? 0 : deadline / sim::kNanosecond));
  }
  /// ossim_resident_limit (an ossim call): caps the resident pages of the anonymous
  /// mapping at [address, address + length) at `limit`; `future` is its reference string
  /// (page addresses), for OPT. Returns 0 or -errno.
  int resident_limit(std::uint64_t address, std::uint64_t length, std::uint64_t limit,
                     std::span<const std::uint64_t> future = {});
  /// ossim_page_reference (an ossim call): reports the reference just made to `address`
  /// of a capped mapping. Returns 1 for a hit, 0 for a miss, or -errno.
  int page_reference(std::uint64_t address, bool write) {
    return static_cast<int>(syscall(sys::nr::ossim_page_reference, address, write ? 1 : 0));
  }
  /// nanosleep for `duration`; returns 0, or -EINTR.
  int nanosleep(sim::Tick duration);
  /// clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) until `when` (simulated time since
  /// boot); returns 0, or -EINTR.
  int sleep_until(sim::Tick when);
  /// Computes for `duration` of this task's CPU time (not wall time: time spent in
  /// interrupts or preempted does not count); the timer may preempt in the middle.
  void compute_for(sim::Tick duration) { context_->cpu().compute_for(duration); }
  /// clock_gettime into a host timespec; returns 0 or -errno.
  int clock_gettime(int clock, sys::timespec& out);

  // ---- Memory ------------------------------------------------------------------------
  /// brk(addr): the new break (the old one on failure, as the raw syscall does).
  VirtAddr brk(VirtAddr address) { return static_cast<VirtAddr>(syscall(sys::nr::brk, address)); }
  /// mmap: returns the address or -errno (as a negative value).
  std::int64_t mmap(VirtAddr address, std::uint64_t length, int prot, int flags, int fd = -1, std::int64_t offset = 0) {
    return syscall(sys::nr::mmap, address, length, static_cast<std::uint64_t>(prot), static_cast<std::uint64_t>(flags),
                   static_cast<std::uint64_t>(static_cast<std::int64_t>(fd)), static_cast<std::uint64_t>(offset));
  }
  int munmap(VirtAddr address, std::uint64_t length) {
    return static_cast<int>(syscall(sys::nr::munmap, address, length));
  }
  int mprotect(VirtAddr address, std::uint64_t length, int prot) {
    return static_cast<int>(syscall(sys::nr::mprotect, address, length, static_cast<std::uint64_t>(prot)));
  }
  /// msync: `flags` is sys::kMsyncSync or sys::kMsyncAsync, optionally with
  /// sys::kMsyncInvalidate. Returns 0 or -errno.
  int msync(VirtAddr address, std::uint64_t length, int flags) {
    return static_cast<int>(syscall(sys::nr::msync, address, length, static_cast<std::uint64_t>(flags)));
  }
  /// madvise: `advice` is one of sys::kMadv*; returns 0 or -errno.
  int madvise(VirtAddr address, std::uint64_t length, int advice) {
    return static_cast<int>(syscall(sys::nr::madvise, address, length, static_cast<std::uint64_t>(advice)));
  }

  // ---- Futexes -----------------------------------------------------------------------
  /// futex(2) as the raw syscall: `op` is a sys::kFutex* operation ORed with
  /// sys::kFutexPrivateFlag and/or sys::kFutexClockRealtime; `timeout_or_val2` is the
  /// address of a timespec in simulated memory for the waits (0: none) and the count val2
  /// for the requeues. Returns the kernel's result or -errno.
  std::int64_t futex(VirtAddr address, int op, std::uint32_t val, std::uint64_t timeout_or_val2 = 0,
                     VirtAddr address2 = 0, std::uint32_t val3 = 0) {
    return syscall(sys::nr::futex, address, static_cast<std::uint64_t>(static_cast<std::uint32_t>(op)), val,
                   timeout_or_val2, address2, val3);
  }
  /// FUTEX_WAIT: sleeps while the 32-bit word at `address` holds `expected`, for at most
  /// `timeout` (relative; none if empty). Returns 0 when woken, -EAGAIN if the word held
  /// another value, -ETIMEDOUT, -EINTR. `private_futex`: the word is used within this
  /// process only (kFutexPrivateFlag); pass false for a word in memory shared between
  /// processes.
  int futex_wait(VirtAddr address, std::uint32_t expected, std::optional<sim::Tick> timeout = std::nullopt,
                 bool private_futex = true);
  /// FUTEX_WAKE: wakes up to `count` tasks waiting on the word at `address`; returns how
  /// many it woke, or -errno.
  int futex_wake(VirtAddr address, int count, bool private_futex = true) {
    return static_cast<int>(futex(address, sys::kFutexWake | (private_futex ? sys::kFutexPrivateFlag : 0),
                                  static_cast<std::uint32_t>(count)));
  }

  // ---- Files -------------------------------------------------------------------------
  int open(std::string_view path, int flags, sys::mode_t mode = 0);
  int openat(int dirfd, std::string_view path, int flags, sys::mode_t mode = 0);
  int close(int fd) { return static_cast<int>(syscall(sys::nr::close, static_cast<std::uint64_t>(fd))); }
  /// read/write with a buffer in simulated memory.
  std::int64_t read(int fd, VirtAddr buffer, std::uint64_t count) {
    return syscall(sys::nr::read, static_cast<std::uint64_t>(fd), buffer, count);
  }
  std::int64_t write(int fd, VirtAddr buffer, std::uint64_t count) {
    return syscall(sys::nr::write, static_cast<std::uint64_t>(fd), buffer, count);
  }
  /// write of host bytes, through the scratch area; returns bytes written or -errno.
  std::int64_t write(int fd, std::string_view data);
  /// read into a host buffer, through the scratch area; returns bytes read or -errno.
  std::int64_t read(int fd, std::span<char> out);
  std::int64_t lseek(int fd, std::int64_t offset, int whence) {
    return syscall(sys::nr::lseek, static_cast<std::uint64_t>(fd), static_cast<std::uint64_t>(offset),
                   static_cast<std::uint64_t>(whence));
  }
  int dup(int fd) { return static_cast<int>(syscall(sys::nr::dup, static_cast<std::uint64_t>(fd))); }
  int dup2(int fd, int target) {
    return static_cast<int>(syscall(sys::nr::dup2, static_cast<std::uint64_t>(fd), static_cast<std::uint64_t>(target)));
  }
  /// pipe(): fds[0] is the read end, fds[1] the write end.
  int pipe(int fds[2], int flags = 0);
  int unlink(std::string_view path);
  /// truncate/ftruncate: sets a regular file's size; bytes past the old end read as zero,
  /// pages past the new end leave every mapping (touching them raises SIGBUS).
  int truncate(std::string_view path, std::int64_t length);
  int ftruncate(int fd, std::int64_t length) {
    return static_cast<int>(
        syscall(sys::nr::ftruncate, static_cast<std::uint64_t>(fd), static_cast<std::uint64_t>(length)));
  }
  int mkdir(std::string_view path, sys::mode_t mode = 0755);
  int stat(std::string_view path, sys::stat& out);
  int fstat(int fd, sys::stat& out);

  cpu::Context& context() { return *context_; }
  /// The stack pointer the entry started with (where argc is, after an execve). Set by
  /// the kernel before the entry runs.
  void set_entry_stack(VirtAddr stack_pointer) { entry_stack_ = stack_pointer; }

  // ---- The runtime's own state (libc's static variables) -------------------------------
  /// Where the heap starts (the break after execve); malloc keeps its root there.
  VirtAddr heap_base() const { return heap_base_; }
  bool heap_initialised() const { return heap_initialised_; }
  void mark_heap_initialised() { heap_initialised_ = true; }
  /// Set by the kernel: a new image's heap (execve), or a copy of the parent's runtime
  /// state (fork and clone), as a C library's variables would be.
  void reset_runtime(VirtAddr heap_base) {
    heap_base_ = heap_base;
    heap_initialised_ = false;
  }
  void inherit_runtime(const Process& parent) {
    heap_base_ = parent.heap_base_;
    heap_initialised_ = parent.heap_initialised_;
  }

 private:
  /// Bytes below the simulated stack pointer, released when it goes out of scope: where
  /// the wrappers put strings and structures they pass by pointer.
  class Scratch;

  cpu::Context* context_;
  CodeRegistry* code_;
  VirtAddr entry_stack_ = 0;
  VirtAddr heap_base_ = 0;
  bool heap_initialised_ = false;
};

}  // namespace ossim::user
