// The schedulers' costs on the host: one pick_next + put_prev cycle of each fair-slot
// policy with n runnable tasks on one run queue (the class alone, driven directly: no
// engine, no CPU, no switch), and a whole simulation of 1000 CPU hogs under round robin
// and CFS (context switches and events per host second).

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/user/process.hpp"
#include "bench_simulation.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/sched/scheduler.hpp"

namespace {

using namespace ossim;

kernel::KernelConfig ideal_config(std::string policy, sim::Tick quantum = 10 * sim::kMillisecond) {
  kernel::KernelConfig config;
  config.costs = kernel::CostModel::ideal();
  config.scheduler.policy = std::move(policy);
  config.scheduler.quantum = quantum;
  return config;
}

struct Simulation : bench::Simulation {
  explicit Simulation(const kernel::KernelConfig& config, std::uint64_t memory = std::uint64_t{512} << 20)
      : bench::Simulation(with_ideal_timing(MachineConfig{.cpus = 1, .memory_bytes = memory}), config) {}
};

/// One cycle: the class picks a task, it runs 1 ns, and it goes back in the queue still
/// runnable (as after a preemption). The kernel is never booted: rq.curr stays empty, so
/// the classes charge runtime from se.total_runtime alone and never ask a CPU the time.
void BM_PickEnqueue(benchmark::State& state, const std::string& policy) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Simulation sim(ideal_config(policy));
  kernel::Scheduler& scheduler = sim.kernel.core().scheduler();
  kernel::SchedClass& klass = scheduler.fair_class();
  kernel::RunQueue& rq = scheduler.rq(0);
  std::vector<kernel::Task*> tasks;
  tasks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    kernel::Task* task = sim.kernel.core().create_task("t");
    task->se.sched_class = &klass;
    task->state = kernel::TaskState::kRunning;
    // Distinct declared lengths for SJF / STCF (1 ms apart; ignored by the others).
    task->se.params.expected_runtime = (i + 1) * sim::kMillisecond;
    task->se.on_rq = true;
    task->se.cpu = 0;
    klass.enqueue(rq, *task, kernel::EnqueueReason::kNew);
    tasks.push_back(task);
  }
  for (auto _ : state) {
    kernel::Task* task = klass.pick_next(rq);
    task->se.total_runtime += sim::kNanosecond;
    klass.put_prev(rq, *task);
    benchmark::DoNotOptimize(task);
  }
  state.SetItemsProcessed(state.iterations());
  // Empty the class's queues before the tasks go, so no intrusive hook outlives its list.
  for (kernel::Task* task : tasks) {
    klass.dequeue(rq, *task, kernel::DequeueReason::kExit);
    task->se.on_rq = false;
  }
}

const bool registered = [] {
  for (const char* policy : {"fifo", "sjf", "stcf", "rr", "mlfq", "lottery", "stride", "cfs"}) {
    benchmark::RegisterBenchmark((std::string("BM_PickEnqueue/") + policy).c_str(), BM_PickEnqueue,
                                 std::string(policy))
        ->Arg(1)
        ->Arg(10)
        ->Arg(100)
        ->Arg(1'000)
        ->Arg(10'000)
        ->Arg(100'000);
  }
  return true;
}();

/// 1000 processes spawned at time 0, each computing 5 ms, on one CPU: the whole
/// simulation from boot to power-off. Reported per host second: context switches and
/// engine events.
void BM_ThousandHogs(benchmark::State& state, const std::string& policy) {
  constexpr int kHogs = 1000;
  std::uint64_t switches = 0;
  std::uint64_t events = 0;
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto sim = std::make_unique<Simulation>(ideal_config(policy, sim::kMillisecond));
    sim->kernel.register_program({.name = "hog", .main = [](user::Process& self) {
                                    self.compute_for(5 * sim::kMillisecond);
                                    return 0;
                                  }});
    for (int i = 0; i < kHogs; ++i) sim->kernel.spawn({.path = "/bin/hog", .argv = {"hog"}});
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    sim->kernel.boot({});
    sim->engine.run();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    switches += sim->kernel.stats().context_switches;
    events += sim->engine.events_fired();
    state.PauseTiming();
    sim.reset();
    state.ResumeTiming();
  }
  state.counters["switches/s"] = static_cast<double>(switches) / seconds;
  state.counters["events/s"] = static_cast<double>(events) / seconds;
  state.counters["switches/run"] = static_cast<double>(switches) / static_cast<double>(state.iterations());
}
BENCHMARK_CAPTURE(BM_ThousandHogs, rr, std::string("rr"))->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK_CAPTURE(BM_ThousandHogs, cfs, std::string("cfs"))->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
