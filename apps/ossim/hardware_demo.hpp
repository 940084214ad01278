#pragma once

// The built-in default run until the kernel exists: a bare-metal demonstration of the
// simulated hardware. Each CPU boots a small "kernel" context that builds page tables,
// handles page faults by demand-zero mapping, takes periodic timer interrupts, then drops
// to user mode and touches memory with three access patterns (sequential, strided,
// random). The result is a JSON document of per-CPU and per-pattern statistics.

#include <cstdint>

#include <nlohmann/json.hpp>

namespace ossim::apps {

struct DemoConfig {
  std::uint64_t seed = 1;
  unsigned cpus = 2;
  std::uint64_t memory_bytes = std::uint64_t{256} << 20;
  /// Pages each CPU's workload touches (its working set).
  std::uint64_t working_set_pages = 4096;
  /// Memory accesses in the random and strided phases.
  std::uint64_t accesses = 200'000;
  /// Compute cycles between two accesses.
  std::uint64_t cycles_between_accesses = 20;
  /// Period of the local timer interrupt, in microseconds.
  std::uint64_t timer_period_us = 100;
};

nlohmann::json config_to_json(const DemoConfig& config);
/// Runs the demonstration and returns its metrics.
nlohmann::json run_hardware_demo(const DemoConfig& config);

}  // namespace ossim::apps
