// A bare-metal program on the simulated machine: build a page table, turn paging on,
// handle page faults by mapping zeroed frames on demand, take timer interrupts, and touch
// memory from user mode. Prints what the hardware did.
//
//   build/examples/example_bare_metal

#include <cstdint>
#include <cstdio>
#include <vector>

#include "ossim/ossim.hpp"

int main() {
  using namespace ossim;
  sim::Engine engine({.seed = 42});
  Machine machine(engine, {.cpus = 1, .memory_bytes = 64 << 20});
  mmu::PageTable pages(machine.memory(), machine.frames());

  // The "kernel": a page-fault handler that maps a zeroed frame, and a timer handler.
  std::uint64_t ticks = 0;
  cpu::VectorTable vectors;
  vectors.set(cpu::vector::kPageFault, [&](cpu::Cpu&, cpu::TrapFrame& frame) {
    const auto frame_number = machine.frames().allocate_zeroed();
    if (!frame_number) {
      frame.abort_access = true;  // out of memory: give up on the access
      return;
    }
    pages.map(frame.fault_address & ~(mmu::kPageBytes - 1), mmu::address_of(*frame_number), mmu::PageSize::k4K,
              mmu::pte::kWritable | mmu::pte::kUser);
  });
  vectors.set(0x40, [&](cpu::Cpu& cpu, cpu::TrapFrame&) {
    ++ticks;
    cpu.apic().eoi();
  });
  machine.cpu(0).load_vector_table(&vectors);
  machine.timer(0).set_vector(0x40);
  machine.timer(0).set_masked(false);

  cpu::Context program(engine.fibers(), [&] {
    cpu::Cpu& cpu = machine.cpu(0);
    cpu.write_cr3(pages.root());
    cpu.write_cr0(cpu.control().cr0 | cpu::cr0::kPaging);
    machine.timer(0).arm_periodic(cpu.now() + 10 * sim::kMicrosecond, 10 * sim::kMicrosecond);
    cpu.enter_user_mode();
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < 4096; ++i) {
      cpu.store<std::uint64_t>(0x10000000 + i * 64, i);  // 64 pages, 64 stores each
      sum += cpu.load<std::uint64_t>(0x10000000 + i * 64);
      cpu.compute(100);
    }
    machine.timer(0).disarm();
    std::printf("sum %llu at t = %.3f us\n", static_cast<unsigned long long>(sum),
                static_cast<double>(cpu.now()) / sim::kMicrosecond);
  });
  machine.cpu(0).start(program);
  engine.run();

  const cpu::Cpu& cpu = machine.cpu(0);
  const mmu::TlbStats& dtlb = machine.cpu(0).mmu().dtlb().stats();
  std::printf("page faults %llu, timer interrupts %llu, dTLB hits %llu misses %llu, page walks %llu\n",
              static_cast<unsigned long long>(cpu.stats().page_faults), static_cast<unsigned long long>(ticks),
              static_cast<unsigned long long>(dtlb.hits), static_cast<unsigned long long>(dtlb.misses),
              static_cast<unsigned long long>(machine.cpu(0).mmu().stats().walks));
  return 0;
}
