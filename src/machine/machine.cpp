#include "ossim/machine/machine.hpp"

#include <stdexcept>

namespace ossim {

namespace {

const MachineConfig& validated(const MachineConfig& config) {
  if (config.cpus == 0) throw std::invalid_argument("machine.cpus: must be at least 1");
  if (config.cpus > 256) throw std::invalid_argument("machine.cpus: at most 256 CPUs");
  if (config.memory_bytes < (std::uint64_t{4} << 20)) {
    throw std::invalid_argument("machine.memory_bytes: at least 4 MiB");
  }
  if (config.reserved_low_bytes >= config.memory_bytes) {
    throw std::invalid_argument("machine.reserved_low_bytes: must be less than the memory size");
  }
  if (config.cpu.frequency_hz == 0) throw std::invalid_argument("machine.cpu.frequency_hz: must be positive");
  if (config.first_disk_irq + config.disks.size() > config.interrupts.irq_lines) {
    throw std::invalid_argument("machine.disks: more disks than free interrupt lines after first_disk_irq");
  }
  return config;
}

}  // namespace

Machine::Machine(sim::Engine& engine, const MachineConfig& config)
    : engine_(engine),
      config_(validated(config)),
      memory_(config.memory_bytes),
      frames_(memory_, mmu::frame_of(config.reserved_low_bytes + mmu::kPageBytes - 1)),
      interrupts_(engine, config.cpus, config.interrupts),
      console_(engine, interrupts_, config.console_irq) {
  for (unsigned i = 0; i < config.cpus; ++i) {
    dev::LocalApic& apic = interrupts_.local_apic(i);
    cpus_.push_back(std::make_unique<cpu::Cpu>(i, engine, memory_, apic, config.cpu));
    apic.connect(*cpus_.back());
    timers_.push_back(std::make_unique<dev::LocalTimer>(engine, apic));
  }
  for (std::size_t i = 0; i < config.disks.size(); ++i) {
    disks_.push_back(std::make_unique<dev::BlockDevice>(engine, memory_, interrupts_,
                                                        config.first_disk_irq + static_cast<unsigned>(i),
                                                        config.disks[i]));
  }
}

Machine::~Machine() {
  for (unsigned i = 0; i < cpus_.size(); ++i) interrupts_.local_apic(i).disconnect();
}

MachineConfig with_ideal_timing(MachineConfig config) {
  cpu::CpuConfig& cpu = config.cpu;
  cpu.memory_access_cycles = 0;
  cpu.exception_entry_cycles = 0;
  cpu.interrupt_entry_cycles = 0;
  cpu.syscall_entry_cycles = 0;
  cpu.mmu.walk_latency_per_level = 0;
  cpu.mmu.stlb_hit_latency = 0;
  cpu.sync_quantum = 0;  // interrupts taken exactly when they arrive
  config.interrupts.ipi_latency = 0;
  config.interrupts.irq_latency = 0;
  return config;
}

}  // namespace ossim
