#pragma once

// The simulation the kernel-level benchmarks run in: an engine (seed 1), a machine and a
// kernel built from the configurations the benchmark gives. A benchmark's timed loop
// runs inside the workload that run() boots as init.

#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/user/process.hpp"

namespace ossim::bench {

struct Simulation {
  Simulation(const MachineConfig& machine_config, const kernel::KernelConfig& kernel_config)
      : engine({.seed = 1}), machine(engine, machine_config), kernel(machine, kernel_config) {}
  /// Boots with `init` as init's entry and runs until the machine powers off.
  void run(user::Entry init) {
    kernel.boot(std::move(init));
    engine.run();
  }
  sim::Engine engine;
  Machine machine;
  kernel::Kernel kernel;
};

}  // namespace ossim::bench
