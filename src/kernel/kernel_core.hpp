#pragma once

// The kernel's internals. KernelCore owns the subsystems and is what they reach each
// other through:
//
//   entry/   syscall dispatch (generated from sys/syscall_list.hpp), one handler file per
//            syscall family; traps.cpp: page faults, other exceptions, interrupts and the
//            return-to-user path (need_resched, signals)
//   task/    Task, the pid table, fork/clone, exit, wait, exec
//   sched/   the scheduling core and its policy classes
//   mm/      address spaces: VMAs, demand paging, copy-on-write, brk, mmap; the page cache
//   fs/      VFS, ramfs, devices, pipes, open-file and fd tables
//   ipc/     futexes: the wait queues behind user-space locks
//   time/    sleeps and clocks
//   boot/    idle tasks, init, power-off
//
// Subsystems talk by direct calls within one simulated instant and by engine events only
// for what happens later (a sleep's end, a timer tick).

#include <cstdint>
#include <map>
#include <memory>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ossim/cpu/vector_table.hpp"
#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/mmu/page_table.hpp"
#include "kernel/fs/devices.hpp"
#include "kernel/ipc/futex.hpp"
#include "kernel/result.hpp"
#include "kernel/mm/tlb_shootdown.hpp"
#include "kernel/sched/scheduler.hpp"
#include "kernel/task/task.hpp"
#include "kernel/trace_points.hpp"

namespace ossim::sim {
class Trace;
}

namespace ossim::kernel {

class Vfs;
class DiskDriver;
class Reclaimer;
class SwapArea;
struct PageCachePool;
class Inode;

/// A syscall's view of its call: the calling task, its CPU and the six arguments.
struct SyscallCall {
  KernelCore& kernel;
  Task& task;
  std::uint64_t args[6];
  /// The CPU the task is on now (it may change across anything that blocks).
  cpu::Cpu& cpu() const { return task.ctx().cpu(); }
};
using SyscallResult = Result<std::int64_t>;

class KernelCore final : public user::CodeRegistry {
 public:
  /// The console's IRQ 4 arrives on vector 0x24 (the legacy 0x20 + IRQ mapping).
  static constexpr std::uint8_t kConsoleVector = 0x24;

  KernelCore(Machine& machine, const KernelConfig& config, sim::Trace* trace);
  KernelCore(const KernelCore&) = delete;
  KernelCore& operator=(const KernelCore&) = delete;
  ~KernelCore();

  Machine& machine() { return machine_; }
  sim::Engine& engine() { return machine_.engine(); }
  const KernelConfig& config() const { return config_; }
  const CostModel& costs() const { return config_.costs; }
  Scheduler& scheduler() { return *scheduler_; }
  TlbShootdown& tlb_shootdown() { return *tlb_shootdown_; }
  Vfs& vfs() { return *vfs_; }
  /// Where every page cache (files, anonymous shared memory) takes its frames from.
  PageCachePool& page_cache_pool() { return *page_cache_pool_; }
  ConsoleState& console_state() { return console_; }
  /// The driver of the machine's disk `index`.
  DiskDriver& disk(unsigned index) { return *disks_.at(index); }
  /// The swap area (kernel.memory.swap_disk), or nullptr without swap.
  SwapArea* swap_area() { return swap_.get(); }
  /// Page reclaim: watermarks, the replacement policy, kswapd, the OOM killer.
  Reclaimer& reclaimer() { return *reclaimer_; }
  const Reclaimer& reclaimer() const { return *reclaimer_; }
  FutexTable& futexes() { return futexes_; }
  sim::Trace* trace() { return trace_; }
  trace::Tracks& trace_tracks() { return trace_tracks_; }
  KernelStats& stats() { return stats_; }
  const KernelStats& stats() const { return stats_; }

  // ---- Boot and power -----------------------------------------------------------------
  /// Registers a program and writes its executable at `path` (/bin/<name> by default).
  void register_program(Program program, std::string path = {});
  const Program* find_program(const std::string& name) const;
  void boot(user::Entry init_main);
  bool halted() const { return halted_; }
  int init_status() const { return init_status_; }
  sim::Tick power_off_time() const { return power_off_time_; }
  /// The empty kernel page table idle tasks and exiting tasks run on.
  mmu::PhysAddr kernel_root() const { return kernel_page_table_->root(); }

  // ---- Tasks ----------------------------------------------------------------------------
  Task* find_task(pid_t tid);
  const std::map<pid_t, std::unique_ptr<Task>>& task_table() const { return tasks_; }
  const std::map<pid_t, TaskInfo>& exited_tasks() const { return reaped_; }
  /// The task on `cpu`.
  Task& current(const cpu::Cpu& cpu) { return *scheduler_->rq(cpu.id()).curr; }
  /// The task whose fiber is running (Linux's `current`), or nullptr on the host.
  Task* current_task() {
    const cpu::Cpu* cpu = running_cpu();
    return cpu != nullptr ? &current(*cpu) : nullptr;
  }
  Task* init_task() { return init_; }
  TaskInfo info(const Task& task) const;

  /// A new task with a fresh pid and a suspended fiber that will run task_main; nullptr
  /// when no pid is free. The caller fills its resources and wakes it.
  /// With `kernel_body`, the fiber runs it (a kernel thread) instead of task_main.
  Task* create_task(std::string name, std::function<void(Task&)> kernel_body = {});
  /// Starts a kernel thread (no address space, kernel mode throughout) running `body`,
  /// runnable now under SCHED_OTHER; nullptr when no pid is free. `from`: the waking CPU.
  Task* start_kernel_thread(std::string name, std::function<void(Task&)> body, const cpu::Cpu* from);
  /// Kernel::spawn: creates the process now (before boot: at boot) and starts it at its
  /// arrival time.
  void spawn(SpawnRequest request);
  /// A new user address space holding only a stack VMA (what runs before an execve).
  std::shared_ptr<AddressSpace> bare_address_space();
  /// Forgets a reaped task (zombie → dead), keeping its final TaskInfo.
  void release_task(Task& task);

  /// The body of every task's fiber: runs the entry in user mode; after an exec, the new
  /// one; at exit, finishes the exit and makes the last switch.
  void task_main(Task& task);

  // ---- Entry ----------------------------------------------------------------------------
  void syscall_entry(cpu::Cpu& cpu);
  /// Work before returning to user mode: rescheduling, then pending signals.
  void exit_to_user_mode(Task& task);
  /// User-mode time stops and system time starts (a syscall, fault or interrupt from
  /// user mode), and the reverse.
  void enter_kernel(Task& task, sim::Tick now);
  void leave_kernel(Task& task, sim::Tick now);
  /// Charges the current stint (user or system, by the task's mode) up to `now` and
  /// leaves the clock there: for a task leaving its CPU.
  void stop_mode_clock(Task& task, sim::Tick now);

  // ---- Signals (what this issue needs: default actions and SIG_IGN) --------------------
  /// Sends `signal` to one task; a fatal one wakes it so that it dies promptly.
  void send_signal(Task& task, int signal, sim::Tick now, const cpu::Cpu* from);
  /// A signal caused by the task's own fault: delivered even if blocked or ignored (the
  /// disposition reverts to the default), as Linux's force_sig does.
  void force_signal(Task& task, int signal, sim::Tick now, const cpu::Cpu* from);
  /// Acts on the lowest pending unblocked signal of the current task (default actions).
  void handle_signal(Task& task);
  /// Kills the calling task's whole thread group with `status`; does not return.
  [[noreturn]] void do_group_exit(Task& task, int status);
  /// Ends the calling task with `status`; does not return.
  [[noreturn]] void do_exit(Task& task, int status);

  // ---- Blocking ---------------------------------------------------------------------------
  /// Sleeps on `queue` until `done()` holds. Interruptible sleeps end early with EINTR when
  /// a signal is pending. Returns on the task's (possibly new) CPU.
  template <typename Done>
  Status wait_event(Task& task, WaitQueue& queue, bool interruptible, Done&& done) {
    while (!done()) {
      if (interruptible && signal_pending(task)) return Errno::kEINTR;
      WaitQueueEntry entry(task);
      queue.add(entry);
      task.state = interruptible ? TaskState::kInterruptible : TaskState::kUninterruptible;
      scheduler_->schedule(task);
      WaitQueue::remove(entry);
    }
    return {};
  }
  /// Wakes every task sleeping on `queue`.
  void wake_up_all(WaitQueue& queue, sim::Tick now, const cpu::Cpu* from);
  bool signal_pending(const Task& task) const { return (task.pending_signals & ~task.blocked_signals) != 0; }
  /// The CPU whose current task's fiber is running, or nullptr on the host (events).
  const cpu::Cpu* running_cpu();
  /// The time of whatever runs now: the CPU's clock of `cpu`, or engine time on the host.
  sim::Tick now(const cpu::Cpu* cpu) const { return cpu != nullptr ? cpu->now() : machine_.engine().now(); }

  // ---- Code handles: host functions passed through fork/clone -------------------------
  std::uint64_t register_entry(user::Entry entry) override;
  std::optional<user::Entry> take_entry(std::uint64_t handle);

  // ---- Interrupts -------------------------------------------------------------------------
  void on_interrupt(cpu::Cpu& cpu, cpu::TrapFrame& frame);
  void on_page_fault(cpu::Cpu& cpu, cpu::TrapFrame& frame);
  void on_fatal_exception(cpu::Cpu& cpu, cpu::TrapFrame& frame, int signal);

  // ---- PCIDs ------------------------------------------------------------------------------
  std::uint16_t allocate_pcid();
  void release_pcid(std::uint16_t pcid);

 private:
  void install_vectors();
  /// Drivers for the machine's disks and the swap area on the configured one.
  void attach_disks();
  void power_off();
  void exit_finish(Task& task);
  void reparent_children(Task& task);
  void notify_parent(Task& task, sim::Tick now, const cpu::Cpu* from);
  void idle_loop(unsigned cpu);

  Machine& machine_;
  KernelConfig config_;
  sim::Trace* trace_;
  trace::Tracks trace_tracks_;
  KernelStats stats_;
  cpu::VectorTable vectors_;
  std::unique_ptr<mmu::PageTable> kernel_page_table_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<TlbShootdown> tlb_shootdown_;  // before tasks_: outlives every address space
  std::unique_ptr<PageCachePool> page_cache_pool_;  // before vfs_: outlives every inode's cache
  std::unique_ptr<Vfs> vfs_;
  ConsoleState console_;
  std::vector<std::unique_ptr<DiskDriver>> disks_;
  std::unique_ptr<SwapArea> swap_;
  std::unique_ptr<Reclaimer> reclaimer_;  // before tasks_: address spaces untrack their pages
  std::uint64_t next_executable_sector_ = 0;  // the executables disk's first free sector
  FutexTable futexes_;  // before tasks_: a task unwound at teardown leaves its futex queue
  std::map<std::string, Program> programs_;
  std::map<pid_t, std::unique_ptr<Task>> tasks_;
  std::map<pid_t, TaskInfo> reaped_;
  std::vector<std::unique_ptr<Task>> idle_tasks_;
  std::map<std::uint64_t, user::Entry> entries_;
  std::uint64_t next_entry_handle_ = 1;
  pid_t last_pid_ = 0;
  Task* init_ = nullptr;
  bool booted_ = false;
  bool halted_ = false;
  bool tearing_down_ = false;
  int init_status_ = 0;
  sim::Tick power_off_time_ = sim::kTickNever;
  std::vector<SpawnRequest> early_spawns_;                   // spawned before boot
  std::vector<std::unique_ptr<sim::CallbackEvent>> arrivals_; // one per spawned process
  std::vector<std::uint16_t> free_pcids_;
  std::uint16_t next_pcid_ = 1;
};

}  // namespace ossim::kernel
