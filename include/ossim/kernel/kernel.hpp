#pragma once

/// @file
/// The modelled Linux-like kernel, driven by a Machine.
///
///     sim::Engine engine({.seed = 1});
///     Machine machine(engine, {.cpus = 2});
///     kernel::Kernel kernel(machine, {});
///     kernel.register_program({.name = "hello", .main = [](user::Process& p) {
///       p.write(1, "hello\n");
///       return 0;
///     }});
///     kernel.boot([](user::Process& init) {            // runs as pid 1
///       init.fork([](user::Process& child) { return child.execve("/bin/hello", {"hello"}); });
///       return 0;                                        // init then reaps every child
///     });
///     engine.run();                                      // until init has no children left
///
/// Boot installs the kernel's vector table in every CPU, starts each CPU's idle task and
/// periodic timer, and starts init (pid 1) on CPU 0. Init runs the given entry with fds
/// 0, 1, 2 open on /dev/console, then reaps children until none is left and powers the
/// machine off: the timers stop, the engine runs out of events and run() returns.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ossim/kernel/memory_config.hpp"
#include "ossim/kernel/scheduler_config.hpp"
#include "ossim/kernel/task_info.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/tick.hpp"
#include "ossim/sys/sched.hpp"
#include "ossim/user/process.hpp"

namespace ossim::sim {
class Trace;
}

namespace ossim::kernel {

/// What the modelled kernel's work costs in simulated time. The defaults are of the order
/// measured on current x86-64 Linux (lmbench-style null syscall, context switch, minor
/// fault); `ideal()` makes every overhead zero, for reproducing textbook results exactly.
struct CostModel {
  sim::Tick syscall_entry = 100 * sim::kNanosecond;   // entry + exit of a syscall
  sim::Tick context_switch = 2 * sim::kMicrosecond;    // schedule() + switch_mm + switch_to
  sim::Tick interrupt_entry = 500 * sim::kNanosecond;  // entry + exit of an interrupt
  sim::Tick page_fault = 700 * sim::kNanosecond;       // a minor fault's handling
  sim::Tick fork = 30 * sim::kMicrosecond;             // fork/clone, beyond the page-table copy
  sim::Tick exec = 60 * sim::kMicrosecond;             // execve, beyond mapping the image
  /// A task's extra CPU time on its first run after moving to another CPU: refilling
  /// cold caches (the TLB's refill is modelled by the MMU itself).
  sim::Tick migration = 20 * sim::kMicrosecond;
  /// The sender's cost of one IPI (writing the APIC's ICR), e.g. per target of a TLB
  /// shootdown; the message's flight is the interrupt controller's ipi_latency.
  sim::Tick ipi_send = 100 * sim::kNanosecond;

  static CostModel ideal() { return {0, 0, 0, 0, 0, 0, 0, 0}; }
  bool operator==(const CostModel&) const = default;
};

struct KernelConfig {
  /// Timer interrupts per second on each CPU (the periodic tick).
  unsigned hz = 1000;
  /// The scheduling policy and its tunables (scheduler_config.hpp).
  SchedulerConfig scheduler;
  CostModel costs;
  /// Tag TLB entries with a PCID per address space, so that a context switch need not
  /// flush the TLB (CR4.PCIDE); off means every address-space switch flushes.
  bool pcid = true;
  /// The highest pid before allocation wraps (Linux's pid_max default).
  int pid_max = 4'194'304;
  /// Default size of a new process's stack VMA.
  std::uint64_t stack_bytes = std::uint64_t{8} << 20;
  /// Memory management: page replacement, swap, reclaim, transparent huge pages
  /// (memory_config.hpp).
  MemoryConfig memory;
};

/// A registered program: what execve("/bin/<name>") runs. Its image has `text_bytes` of
/// code and `data_bytes` of initialised data stored in the executable file, and
/// `bss_bytes` of zeroed data.
struct Program {
  std::string name;
  user::Entry main;
  std::uint64_t text_bytes = 16 * 1024;
  std::uint64_t data_bytes = 4 * 1024;
  std::uint64_t bss_bytes = 4 * 1024;
};

/// A process the kernel starts by itself at a simulated time: a child of init that
/// executes `path`, with its scheduling attributes in place before it first becomes
/// runnable. This is how workload generators give tasks exact arrival times: no launcher
/// competes for a CPU, and no policy sees the task before its parameters (the declared
/// length SJF sorts by, the real-time priority, the affinity) are set.
struct SpawnRequest {
  std::string path;                      // the executable, e.g. "/bin/job"
  std::vector<std::string> argv;         // argv[0] included
  std::vector<std::string> envp;
  sim::Tick at = 0;                      // arrival: simulated time since boot
  /// The scheduling attributes (as sched_setattr takes them); none: SCHED_OTHER, nice 0.
  std::optional<sys::sched_attr> attr;
  sys::cpu_mask_t affinity = ~sys::cpu_mask_t{0};  // CPUs it may run on
  std::string label;                     // reported as TaskInfo::label (a workload's name)
};

/// Kernel-wide counters.
struct KernelStats {
  std::uint64_t syscalls = 0;
  std::uint64_t context_switches = 0;
  std::uint64_t forks = 0;
  std::uint64_t execs = 0;
  std::uint64_t exits = 0;
  std::uint64_t page_faults = 0;
  std::uint64_t cow_faults = 0;
  std::uint64_t segfaults = 0;
  std::uint64_t interrupts = 0;
  std::uint64_t timer_ticks = 0;
  /// Transparent huge pages, as /proc/vmstat counts them: faults that mapped a 2 MiB page,
  /// faults that wanted one but found no free 2 MiB block and mapped 4 KiB, and 2 MiB
  /// mappings split into 512 PTEs.
  std::uint64_t thp_fault_alloc = 0;
  std::uint64_t thp_fault_fallback = 0;
  std::uint64_t thp_split_pmd = 0;
  // TLB coherence (mm/tlb_shootdown.hpp).
  std::uint64_t tlb_shootdowns = 0;       // waits for remote invalidations (one per batch of requests sent)
  std::uint64_t tlb_shootdown_ipis = 0;   // TLB-shootdown IPIs sent
  std::uint64_t tlb_lazy_invalidations = 0;  // PCIDs invalidated at a switch because a shootdown skipped the CPU
};

/// The memory system's counters (what /proc/meminfo and /proc/vmstat report).
struct MemoryStats {
  std::uint64_t total_frames = 0;     // managed by the frame allocator
  std::uint64_t free_frames = 0;
  std::uint64_t cached_pages = 0;     // page cache
  std::uint64_t swap_slots = 0;       // swap area size, in pages (0: no swap)
  std::uint64_t swap_used = 0;        // slots in use
  std::uint64_t pages_swapped_out = 0;
  std::uint64_t pages_swapped_in = 0;
  std::uint64_t pages_scanned = 0;    // victims proposed by the replacement policy
  std::uint64_t pages_reclaimed = 0;  // frames freed by reclaim
  std::uint64_t kswapd_wakeups = 0;
  std::uint64_t kswapd_reclaimed = 0;
  std::uint64_t direct_reclaims = 0;  // allocations that reclaimed first (allocstall)
  std::uint64_t direct_reclaimed = 0;
  std::uint64_t oom_kills = 0;
  std::uint64_t disk_reads = 0;       // requests of the swap disk's driver
  std::uint64_t disk_writes = 0;
};

class KernelCore;

class Kernel {
 public:
  /// Throws std::invalid_argument for an unusable configuration (unknown scheduler...).
  Kernel(Machine& machine, const KernelConfig& config, sim::Trace* trace = nullptr);
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  ~Kernel();

  /// Registers a program and creates its executable /bin/<name>. Before or after boot.
  /// Throws std::invalid_argument for an empty or duplicate name.
  void register_program(Program program);
  /// Starts the kernel; `init_main` runs as pid 1. Call once, before running the engine.
  void boot(user::Entry init_main);
  /// Arranges for `request`'s process to start at `request.at` (at boot if that is
  /// earlier). Host side only: before boot or between engine steps, not from a task.
  /// Init waits for the process like for any child, so the machine stays on until it is
  /// reaped. Throws std::invalid_argument for bad attributes (EINVAL cases of
  /// sched_setattr) or an empty affinity, std::logic_error once the machine is off. If
  /// admission control refuses a SCHED_DEADLINE request at arrival, the process runs as
  /// SCHED_OTHER and a line on the console says so.
  void spawn(SpawnRequest request);

  /// True once init has exited and the machine is powered off.
  bool halted() const;
  /// The exit status of init (wait encoding), once halted.
  int init_status() const;
  /// When init exited and the machine powered off (kTickNever before).
  sim::Tick power_off_time() const;

  /// Every task that ever existed, in pid order (exited ones with their final state).
  std::vector<TaskInfo> tasks() const;
  std::optional<TaskInfo> task(int tid) const;
  KernelStats stats() const;
  MemoryStats memory_stats() const;
  /// Simulated time each CPU spent in its idle task.
  sim::Tick idle_time(unsigned cpu) const;
  /// Context switches each CPU has made (to and from its idle task included).
  std::uint64_t context_switches(unsigned cpu) const;
  /// TLB-shootdown requests each CPU has served (invalidations other CPUs asked of it).
  std::uint64_t tlb_shootdowns_received(unsigned cpu) const;
  const KernelConfig& config() const;
  Machine& machine();

  /// The internals, for tests and extensions that reach below the public API.
  KernelCore& core() { return *core_; }

 private:
  std::unique_ptr<KernelCore> core_;
};

}  // namespace ossim::kernel
