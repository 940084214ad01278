#pragma once

// The kernel's trace points: one function per kind of record, each a no-op unless its
// category is enabled. Kept in one file so that what the kernel traces is visible at a
// glance. The points on the hottest paths (every switch, wakeup, enqueue and system
// call) are called only when a trace is attached (KernelCore::trace()), so that tracing
// off costs one test there, not a call.

#include <cstdint>
#include <vector>

#include "ossim/sim/tick.hpp"

namespace ossim::cpu {
class Cpu;
}
namespace ossim::sim {
class Trace;
}

namespace ossim::kernel {

class KernelCore;
class Task;
struct RunQueue;
enum class FaultOutcome : std::uint8_t;

namespace trace {

/// The kernel's tracks in the trace, made on first use and remembered.
class Tracks {
 public:
  std::uint32_t cpu(sim::Trace& trace, unsigned cpu);
  std::uint32_t runqueue(sim::Trace& trace, unsigned cpu);
  std::uint32_t free_frames(sim::Trace& trace);
  std::uint32_t page_cache_pages(sim::Trace& trace);
  std::uint32_t page_fault_rate(sim::Trace& trace);
  std::uint32_t swap_used(sim::Trace& trace);
  /// The page-fault count at the previous memory sample (memory_sample's window start).
  std::uint64_t faults_at_last_sample = 0;

 private:
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};
  std::vector<std::uint32_t> cpus_;
  std::vector<std::uint32_t> runqueues_;
  std::uint32_t free_frames_ = kNone;
  std::uint32_t page_cache_pages_ = kNone;
  std::uint32_t page_fault_rate_ = kNone;
  std::uint32_t swap_used_ = kNone;
};

void runqueue_length(KernelCore& kernel, const RunQueue& rq, sim::Tick now);
void task_woken(KernelCore& kernel, Task& task, sim::Tick now, const cpu::Cpu* waker);
void task_created(KernelCore& kernel, Task& task, sim::Tick now);
void context_switch(KernelCore& kernel, const RunQueue& rq, Task& prev, Task& next, sim::Tick now);
void syscall(KernelCore& kernel, Task& task, std::uint64_t number, const std::uint64_t (&args)[6], std::int64_t result);
void interrupt(KernelCore& kernel, cpu::Cpu& cpu, std::uint8_t vector);
void page_fault(KernelCore& kernel, Task& task, cpu::Cpu& cpu, std::uint64_t address, std::uint64_t error_code,
                FaultOutcome outcome);
/// Memory counters sampled once per tick period (CPU 0's tick): the page cache's size in
/// pages, and the page-fault rate over the period just ended (faults on every CPU times
/// ticks per second), so the rate's resolution is the tick.
void memory_sample(KernelCore& kernel, sim::Tick now);
void exception(KernelCore& kernel, Task& task, cpu::Cpu& cpu, std::uint8_t vector, int signal);
void signal(KernelCore& kernel, Task& task, int signal, sim::Tick now);
void task_exit(KernelCore& kernel, Task& task, sim::Tick now);
void task_renamed(KernelCore& kernel, Task& task);
void task_reaped(KernelCore& kernel, Task& task, sim::Tick now);

}  // namespace trace
}  // namespace ossim::kernel
