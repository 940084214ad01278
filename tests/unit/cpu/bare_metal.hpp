#pragma once

// A bare-metal rig for CPU and machine tests: an engine, a machine, one vector table loaded
// into every CPU, and the contexts the test runs. No kernel: the test's own lambdas are the
// "code" the CPUs execute and the handlers in the vector table.
//
// The members are destroyed machine first (a CPU that still holds a context, e.g. one left
// halted, lets go of it), then the contexts (their fibers unwind), then the vector table,
// then the engine. Tests that build a PageTable declare it after the rig.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "ossim/cpu/context.hpp"
#include "ossim/cpu/cpu.hpp"
#include "ossim/cpu/vector_table.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/mmu/page_table.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::test {

constexpr sim::Tick kNs = sim::kNanosecond;
constexpr sim::Tick kUs = sim::kMicrosecond;

/// 2 GHz: 500 ps a cycle exactly, so expected times are plain integer arithmetic
/// (test_clock.cpp covers frequencies whose period is not a whole number of picoseconds).
constexpr std::uint64_t kHz = 2'000'000'000;
constexpr std::uint64_t kCyclesPerUs = 2'000;

inline MachineConfig small_machine(unsigned cpus = 1) {
  MachineConfig config;
  config.cpus = cpus;
  config.memory_bytes = std::uint64_t{16} << 20;
  config.cpu.frequency_hz = kHz;
  return config;
}

class BareMetal {
 public:
  explicit BareMetal(const MachineConfig& config = small_machine(), std::uint64_t seed = 1)
      : engine({.seed = seed}) {
    machine_.emplace(engine, config);
    for (unsigned i = 0; i < machine_->cpu_count(); ++i) machine_->cpu(i).load_vector_table(&idt);
  }
  ~BareMetal() {
    machine_.reset();
    contexts_.clear();
  }
  BareMetal(const BareMetal&) = delete;
  BareMetal& operator=(const BareMetal&) = delete;

  Machine& machine() { return *machine_; }
  cpu::Cpu& cpu(unsigned index = 0) { return machine_->cpu(index); }

  /// A context owned by the rig (so that it outlives the machine's hold on it).
  cpu::Context& context(std::function<void()> body, const char* name = "context") {
    contexts_.push_back(std::make_unique<cpu::Context>(engine.fibers(), std::move(body), name));
    return *contexts_.back();
  }
  /// A context started on CPU `index` now.
  cpu::Context& run_on(unsigned index, std::function<void()> body, const char* name = "context") {
    cpu::Context& ctx = context(std::move(body), name);
    cpu(index).start(ctx);
    return ctx;
  }
  /// Starts `ctx` on CPU `index` when the engine reaches `when`.
  void start_at(sim::Tick when, unsigned index, cpu::Context& ctx) {
    events_.push_back(std::make_unique<sim::CallbackEvent>([this, index, &ctx] { cpu(index).start(ctx); }, "start"));
    engine.schedule(*events_.back(), when);
  }
  /// Fires at most `max_events` events; true if the queue drained (the run ended by itself).
  bool run_bounded(std::uint64_t max_events) {
    for (std::uint64_t i = 0; i < max_events; ++i) {
      if (!engine.step()) return true;
    }
    return engine.pending_events() == 0;
  }

  sim::Engine engine;
  cpu::VectorTable idt;

 private:
  std::deque<std::unique_ptr<cpu::Context>> contexts_;
  std::deque<std::unique_ptr<sim::CallbackEvent>> events_;
  std::optional<Machine> machine_;
};

/// Paging for bare-metal tests: a page table in the machine's memory, and frames mapped at
/// virtual addresses. Declare after the BareMetal rig.
class Paging {
 public:
  explicit Paging(Machine& machine) : machine_(machine), table(machine.memory(), machine.frames()) {}

  /// Maps a fresh zeroed frame at `address` (4 KiB page); returns its physical address.
  mmu::PhysAddr map(mmu::VirtAddr address, mmu::pte::Entry flags = mmu::pte::kWritable | mmu::pte::kUser) {
    const auto frame = machine_.frames().allocate_zeroed();
    if (!frame || !table.map(address, mmu::address_of(*frame), mmu::PageSize::k4K, flags)) return 0;
    return mmu::address_of(*frame);
  }
  /// CPU code: loads CR3 and sets CR0.PG on `cpu`.
  void enable(cpu::Cpu& cpu) {
    cpu.write_cr3(table.root());
    cpu.write_cr0(cpu.control().cr0 | cpu::cr0::kPaging);
  }

 private:
  Machine& machine_;

 public:
  mmu::PageTable table;
};

}  // namespace ossim::test
