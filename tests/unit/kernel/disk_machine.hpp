#pragma once

// A booted one-CPU machine with disks, for tests of swap, reclaim and block device files:
// SSDs of the given sizes, the first used for swap when asked.

#include <cstdint>
#include <string>
#include <vector>

#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/user/process.hpp"

namespace ossim::testing {

struct DiskSpec {
  std::string name;
  std::uint64_t mib = 64;
};

struct DiskMachine {
  /// `swap_mib` > 0 puts a swap disk "swap0" of that size first; `disks` follow it.
  DiskMachine(std::uint64_t memory_mib, std::uint64_t swap_mib, std::vector<DiskSpec> disks = {},
              std::string replacement = "clock")
      : engine({.seed = 11}),
        machine(engine, machine_config(memory_mib, swap_mib, disks)),
        kernel(machine, kernel_config(swap_mib, replacement)) {}

  static MachineConfig machine_config(std::uint64_t memory_mib, std::uint64_t swap_mib,
                                      const std::vector<DiskSpec>& disks) {
    MachineConfig config{.cpus = 1, .memory_bytes = memory_mib << 20};
    if (swap_mib > 0) disks_add(config, "swap0", swap_mib);
    for (const DiskSpec& disk : disks) disks_add(config, disk.name, disk.mib);
    return config;
  }
  static void disks_add(MachineConfig& config, const std::string& name, std::uint64_t mib) {
    config.disks.push_back(dev::BlockDeviceConfig{.name = name, .kind = dev::DiskKind::kSsd, .sectors = (mib << 20) / 512});
  }
  static kernel::KernelConfig kernel_config(std::uint64_t swap_mib, const std::string& replacement) {
    kernel::KernelConfig config;
    if (swap_mib > 0) config.memory.swap_disk = 0;
    config.memory.replacement = replacement;
    return config;
  }

  /// Boots with `init_main` as init and runs until power-off (or `limit`), then lets the
  /// disks finish the transfers in flight (the power-off stops the engine with their
  /// completions pending), so that the I/O counts add up; init's status.
  int run(user::Entry init_main, sim::Tick limit = 100 * sim::kSecond) {
    kernel.boot(std::move(init_main));
    engine.run_until(limit);
    engine.run_until(limit);
    return kernel.init_status();
  }

  sim::Engine engine;
  Machine machine;
  kernel::Kernel kernel;
};

}  // namespace ossim::testing
