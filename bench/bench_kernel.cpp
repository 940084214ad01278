// The kernel's costs on the host: a null syscall, a pipe ping-pong between two processes,
// fork + exit + wait, a demand-zero page fault, and the hold model (N processes each
// looping nanosleep of a uniform random 0-2 us), which discrete-event simulators are
// compared on.
//
// Each benchmark's timed loop runs inside the simulated workload (a fiber), so what is
// measured is exactly the simulated operation, with its kernel path, on one host core.

#include <benchmark/benchmark.h>

#include <fstream>
#include <string>

#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sys/flags.hpp"
#include "ossim/user/process.hpp"
#include "bench_simulation.hpp"

namespace {

using namespace ossim;

struct Simulation : bench::Simulation {
  explicit Simulation(unsigned cpus = 1, std::uint64_t memory = std::uint64_t{512} << 20,
                      kernel::CostModel costs = {})
      : bench::Simulation(MachineConfig{.cpus = cpus, .memory_bytes = memory}, config(costs)) {}
  static kernel::KernelConfig config(kernel::CostModel costs) {
    kernel::KernelConfig c;
    c.costs = costs;
    return c;
  }
};

void BM_NullSyscallGetpid(benchmark::State& state) {
  Simulation sim;
  sim.run([&](user::Process& self) {
    for (auto _ : state) benchmark::DoNotOptimize(self.getpid());
    return 0;
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NullSyscallGetpid);

void BM_PipePingPong(benchmark::State& state) {
  Simulation sim;
  sim.run([&](user::Process& self) {
    int to_child[2], to_parent[2];
    self.pipe(to_child);
    self.pipe(to_parent);
    // Both messages live in simulated memory: one byte each way per round trip.
    const std::int64_t buffer = self.mmap(0, 4096, sys::kProtRead | sys::kProtWrite,
                                          sys::kMapPrivate | sys::kMapAnonymous);
    const auto byte = static_cast<user::VirtAddr>(buffer);
    self.store<char>(byte, 'x');
    self.fork([&](user::Process& child) {
      child.close(to_child[1]);
      child.close(to_parent[0]);
      while (child.read(to_child[0], byte, 1) == 1) child.write(to_parent[1], byte, 1);
      return 0;
    });
    self.close(to_child[0]);
    self.close(to_parent[1]);
    for (auto _ : state) {
      self.write(to_child[1], byte, 1);
      self.read(to_parent[0], byte, 1);
    }
    self.close(to_child[1]);
    int status = 0;
    self.wait(&status);
    return 0;
  });
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("round trips");
}
BENCHMARK(BM_PipePingPong);

void BM_ForkExitWait(benchmark::State& state) {
  Simulation sim;
  sim.run([&](user::Process& self) {
    int status = 0;
    for (auto _ : state) {
      self.fork([](user::Process&) { return 0; });
      self.wait(&status);
    }
    return 0;
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ForkExitWait);

void BM_DemandZeroFault(benchmark::State& state) {
  // 2 MiB of fresh anonymous memory at a time: the frames the allocator hands out stay
  // in the host's cache, as a kernel's recently freed pages do.
  constexpr std::uint64_t kPages = 512;
  Simulation sim;
  sim.run([&](user::Process& self) {
    const auto map = [&] {
      return static_cast<user::VirtAddr>(self.mmap(0, kPages * 4096, sys::kProtRead | sys::kProtWrite,
                                                   sys::kMapPrivate | sys::kMapAnonymous));
    };
    // Warm-up: the host commits the simulated frames once, so the loop measures the
    // simulated fault, not the host's first touch of its own memory.
    user::VirtAddr region = map();
    for (std::uint64_t page = 0; page < kPages; ++page) self.store<char>(region + page * 4096, 1);
    self.munmap(region, kPages * 4096);
    region = map();
    std::uint64_t page = 0;
    for (auto _ : state) {
      if (page == kPages) {
        state.PauseTiming();
        self.munmap(region, kPages * 4096);
        region = map();
        page = 0;
        state.ResumeTiming();
      }
      self.store<char>(region + page * 4096, 1);  // one demand-zero fault each
      ++page;
    }
    return 0;
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DemandZeroFault);

std::uint64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

/// The hold model: `processes` tasks each loop nanosleep(uniform 0-2 us) on `cpus` CPUs.
/// Each iteration of the timed loop runs the engine until 200 000 more sleeps have ended.
void hold_model(benchmark::State& state, kernel::CostModel costs, unsigned cpus = 2) {
  const auto processes = static_cast<std::uint64_t>(state.range(0));
  // Simulated RAM for the processes' page tables and stacks (about 6 frames each).
  const std::uint64_t memory = std::max<std::uint64_t>(std::uint64_t{256} << 20, processes * 40 * 1024);
  Simulation sim(cpus, memory, costs);
  std::uint64_t activations = 0;
  std::uint64_t started = 0;
  bool stop = false;
  // The engine runs until this many sleeps have ended (run() returns, as the engine
  // would at a power-off).
  std::uint64_t pause_at = 0;
  const auto run_until_activations = [&](std::uint64_t target) {
    pause_at = target;
    while (activations < target) sim.engine.run();
  };
  const std::uint64_t rss_before = resident_bytes();
  sim.kernel.boot([&](user::Process& init) {
    for (std::uint64_t i = 0; i < processes; ++i) {
      init.fork([&, i](user::Process& self) {
        ++started;
        std::uint64_t x = 0x9E3779B97F4A7C15ull * (i + 1);  // xorshift64, per process
        while (!stop) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          self.nanosleep(x % (2 * sim::kMicrosecond + 1));
          if (++activations == pause_at) sim.engine.stop();
        }
        return 0;
      });
    }
    return 0;
  });
  while (started < processes) sim.engine.step();
  run_until_activations(activations + processes);
  std::uint64_t counted = 0;
  for (auto _ : state) {
    const std::uint64_t before = activations;
    run_until_activations(activations + 200'000);
    counted += activations - before;
  }
  // After the timed runs: the peak, with whatever the runs added (deeper fiber stacks,
  // the event queue's growth).
  const std::uint64_t rss_after = resident_bytes();
  state.counters["activations/s"] = benchmark::Counter(static_cast<double>(counted), benchmark::Counter::kIsRate);
  state.counters["host_bytes_per_process"] =
      static_cast<double>(rss_after > rss_before ? rss_after - rss_before : 0) / static_cast<double>(processes);
  stop = true;
}

void BM_HoldModel(benchmark::State& state) { hold_model(state, kernel::CostModel{}); }
BENCHMARK(BM_HoldModel)->Arg(100)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(10);

void BM_HoldModelIdealCosts(benchmark::State& state) { hold_model(state, kernel::CostModel::ideal()); }
BENCHMARK(BM_HoldModelIdealCosts)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(10);

// The same on one CPU: no second CPU to keep in step with, so no engine sync (an event
// and a fiber switch) between the two CPUs' turns.
void BM_HoldModelOneCpu(benchmark::State& state) { hold_model(state, kernel::CostModel{}, 1); }
BENCHMARK(BM_HoldModelOneCpu)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace
