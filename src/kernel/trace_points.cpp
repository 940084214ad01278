#include "kernel/trace_points.hpp"

#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"

namespace ossim::kernel::trace {

void runqueue_length(KernelCore&, const RunQueue&, sim::Tick) {}
void task_woken(KernelCore&, Task&, sim::Tick, const cpu::Cpu*) {}
void task_created(KernelCore&, Task&, sim::Tick) {}
void context_switch(KernelCore&, const RunQueue&, Task&, Task&, sim::Tick) {}
void syscall(KernelCore&, Task&, std::uint64_t, const std::uint64_t (&)[6], std::int64_t) {}
void interrupt(KernelCore&, cpu::Cpu&, std::uint8_t) {}
void page_fault(KernelCore&, Task&, cpu::Cpu&, std::uint64_t, std::uint64_t, FaultOutcome) {}
void exception(KernelCore&, Task&, cpu::Cpu&, std::uint8_t, int) {}
void signal(KernelCore&, Task&, int, sim::Tick) {}
void task_exit(KernelCore&, Task&, sim::Tick) {}

}  // namespace ossim::kernel::trace
