#pragma once

// A booted machine for kernel tests: an engine, a machine, a kernel with ideal costs
// (unless the test sets others), and a helper to run init's entry to completion.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "ossim/sys/errno.hpp"
#include "ossim/sys/flags.hpp"
#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/user/process.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::testing {

/// What a syscall returns for `e`: -errno.
constexpr std::int64_t errno_of(sys::Errno e) { return -static_cast<std::int64_t>(e); }

struct KernelFixture {
  /// `sync_quantum`: how far a CPU may run past the next event. Zero (the default) is
  /// exact, but two CPUs computing at once then advance in lockstep, a picosecond or a
  /// cycle per event: tests that keep several CPUs busy for milliseconds give a quantum.
  explicit KernelFixture(unsigned cpus = 1, kernel::KernelConfig config = ideal_config(),
                         std::uint64_t memory_bytes = std::uint64_t{64} << 20, sim::Tick sync_quantum = 0)
      : engine({.seed = 7}),
        machine(engine, machine_config(cpus, memory_bytes, config, sync_quantum)),
        kernel(machine, config) {}

  /// With the kernel's ideal costs, the hardware's latencies are zero too, so that a
  /// task's times are exactly its computation.
  static MachineConfig machine_config(unsigned cpus, std::uint64_t memory_bytes, const kernel::KernelConfig& config,
                                      sim::Tick sync_quantum) {
    MachineConfig machine{.cpus = cpus, .memory_bytes = memory_bytes};
    if (config.costs == kernel::CostModel::ideal()) machine = with_ideal_timing(machine);
    machine.cpu.sync_quantum = sync_quantum;
    return machine;
  }

  static kernel::KernelConfig ideal_config() {
    kernel::KernelConfig config;
    config.costs = kernel::CostModel::ideal();
    return config;
  }

  /// Boots with `init_main` as init's entry and runs until the machine powers off (or
  /// `limit` of simulated time passes). Returns init's wait status.
  int run(user::Entry init_main, sim::Tick limit = 10 * sim::kSecond) {
    kernel.boot(std::move(init_main));
    engine.run_until(limit);
    return kernel.init_status();
  }

  kernel::KernelCore& core() { return kernel.core(); }
  std::uint64_t free_frames() { return machine.frames().free_frames(); }

  sim::Engine engine;
  Machine machine;
  kernel::Kernel kernel;
};

/// Blocks until one byte arrives on `fd` (a pipe used to order parent and child).
inline void await(user::Process& self, int fd) {
  char byte = 0;
  CHECK(self.read(fd, std::span<char>(&byte, 1)) == 1);
}
/// Sends the byte await() waits for.
inline void notify(user::Process& self, int fd) { CHECK(self.write(fd, "x") == 1); }

/// The task spawned with `label` (SpawnRequest::label); fails the test if there is none.
inline const kernel::TaskInfo& labelled(const std::vector<kernel::TaskInfo>& tasks, std::string_view label) {
  for (const kernel::TaskInfo& task : tasks) {
    if (task.label == label) return task;
  }
  FAIL("no task labelled " << label);
  return tasks.front();
}

}  // namespace ossim::testing
