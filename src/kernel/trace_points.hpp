#pragma once

// The kernel's trace points: one function per kind of record, each a no-op unless its
// category is enabled. Kept in one file so that what the kernel traces is visible at a
// glance.

#include <cstdint>

#include "ossim/sim/tick.hpp"

namespace ossim::cpu {
class Cpu;
}

namespace ossim::kernel {

class KernelCore;
class Task;
struct RunQueue;
enum class FaultOutcome : std::uint8_t;

namespace trace {

void runqueue_length(KernelCore& kernel, const RunQueue& rq, sim::Tick now);
void task_woken(KernelCore& kernel, Task& task, sim::Tick now, const cpu::Cpu* waker);
void task_created(KernelCore& kernel, Task& task, sim::Tick now);
void context_switch(KernelCore& kernel, const RunQueue& rq, Task& prev, Task& next, sim::Tick now);
void syscall(KernelCore& kernel, Task& task, std::uint64_t number, const std::uint64_t (&args)[6], std::int64_t result);
void interrupt(KernelCore& kernel, cpu::Cpu& cpu, std::uint8_t vector);
void page_fault(KernelCore& kernel, Task& task, cpu::Cpu& cpu, std::uint64_t address, std::uint64_t error_code,
                FaultOutcome outcome);
void exception(KernelCore& kernel, Task& task, cpu::Cpu& cpu, std::uint8_t vector, int signal);
void signal(KernelCore& kernel, Task& task, int signal, sim::Tick now);
void task_exit(KernelCore& kernel, Task& task, sim::Tick now);

}  // namespace trace
}  // namespace ossim::kernel
