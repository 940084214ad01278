#pragma once

/// @file
/// The simulated computer: physical memory and its frame allocator, the CPUs (each with
/// its MMU, local APIC and local timer), the I/O APIC, the console and the disks, wired together and
/// driven by one engine. The machine is hardware only; a kernel (or a bare-metal test)
/// loads a vector table into the CPUs and starts a context on each.
///
///     sim::Engine engine({.seed = 7});
///     Machine machine(engine, {.cpus = 2, .memory_bytes = 64 << 20});
///     cpu::Context boot(engine.fibers(), [&] { machine.cpu(0).compute(1000); });
///     machine.cpu(0).start(boot);
///     engine.run();

#include <cstdint>
#include <memory>
#include <vector>

#include "ossim/cpu/cpu.hpp"
#include "ossim/dev/block_device.hpp"
#include "ossim/dev/console.hpp"
#include "ossim/dev/interrupt_controller.hpp"
#include "ossim/dev/local_apic.hpp"
#include "ossim/dev/local_timer.hpp"
#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/sim/engine.hpp"

namespace ossim {

struct MachineConfig {
  unsigned cpus = 1;
  std::uint64_t memory_bytes = std::uint64_t{256} << 20;
  /// Frames below this are reserved (firmware and low memory), never allocated.
  std::uint64_t reserved_low_bytes = std::uint64_t{1} << 20;
  cpu::CpuConfig cpu;
  dev::InterruptControllerConfig interrupts;
  /// The I/O APIC line the console raises when input arrives (COM1's IRQ on a PC).
  unsigned console_irq = 4;
  /// Block devices; disk i raises line first_disk_irq + i (14 is the PC's first IDE line).
  std::vector<dev::BlockDeviceConfig> disks;
  unsigned first_disk_irq = 14;
};

/// `config` with every hardware latency beyond computation at zero: memory accesses,
/// page-walk reads, second-level TLB hits, exception, interrupt and syscall entry, and
/// the interrupt controller's IPI and IRQ delivery; and a sync quantum of zero, so that no
/// interrupt is taken later than it arrives.
/// With the kernel's ideal costs, a task's time is then exactly its computation, as in the
/// textbooks' models.
MachineConfig with_ideal_timing(MachineConfig config);

class Machine {
 public:
  /// Throws std::invalid_argument for a configuration that cannot be built (no CPUs, no
  /// memory, a TLB geometry that is not a power of two...).
  Machine(sim::Engine& engine, const MachineConfig& config);
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
  ~Machine();

  sim::Engine& engine() { return engine_; }
  const MachineConfig& config() const { return config_; }
  unsigned cpu_count() const { return static_cast<unsigned>(cpus_.size()); }
  cpu::Cpu& cpu(unsigned index) { return *cpus_.at(index); }
  dev::LocalTimer& timer(unsigned cpu_index) { return *timers_.at(cpu_index); }
  dev::InterruptController& interrupts() { return interrupts_; }
  dev::Console& console() { return console_; }
  unsigned disk_count() const { return static_cast<unsigned>(disks_.size()); }
  dev::BlockDevice& disk(unsigned index) { return *disks_.at(index); }
  mmu::PhysicalMemory& memory() { return memory_; }
  mmu::FrameAllocator& frames() { return frames_; }

 private:
  sim::Engine& engine_;
  MachineConfig config_;
  mmu::PhysicalMemory memory_;
  mmu::FrameAllocator frames_;
  dev::InterruptController interrupts_;
  std::vector<std::unique_ptr<cpu::Cpu>> cpus_;
  std::vector<std::unique_ptr<dev::LocalTimer>> timers_;
  dev::Console console_;
  std::vector<std::unique_ptr<dev::BlockDevice>> disks_;
};

}  // namespace ossim
