// Preemption by the round-robin quantum: CPU hogs sharing one CPU alternate a quantum at a
// time; the quantum sets how often they switch; on two CPUs two hogs run in parallel.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr std::uint64_t kCyclesPerMs = 3'000'000;  // the default 3 GHz CPU
constexpr int kHogMs = 100;

kernel::KernelConfig config_with_quantum(sim::Tick quantum) {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.quantum = quantum;
  return config;
}

/// Progress of the hogs, in milliseconds of computation done, shared by the host code of
/// all of them; `max_gap` is the largest lead one hog ever had over another.
struct Progress {
  std::vector<int> done;
  int max_gap = 0;
};

/// A hog that computes `units` steps of `unit_cycles` (by default kHogMs milliseconds,
/// one at a time), recording its progress against the others'.
user::Entry hog(Progress& progress, std::size_t index, std::uint64_t unit_cycles = kCyclesPerMs, int units = kHogMs) {
  return [&progress, index, unit_cycles, units](user::Process& self) {
    for (int unit = 0; unit < units; ++unit) {
      self.compute(unit_cycles);
      ++progress.done[index];
      for (int other : progress.done) progress.max_gap = std::max(progress.max_gap, std::abs(progress.done[index] - other));
    }
    return 0;
  };
}

struct HogRun {
  std::vector<kernel::TaskInfo> hogs;
  int max_gap = 0;
  sim::Tick end = 0;
};

HogRun run_hogs(unsigned cpus, sim::Tick quantum, std::size_t count = 2, std::uint64_t unit_cycles = kCyclesPerMs,
                int units = kHogMs) {
  KernelFixture f(cpus, config_with_quantum(quantum));
  Progress progress;
  progress.done.assign(count, 0);
  std::vector<sys::pid_t> pids;
  f.run([&](user::Process& init) {
    for (std::size_t i = 0; i < count; ++i) pids.push_back(init.fork(hog(progress, i, unit_cycles, units)));
    return 0;
  });
  HogRun result;
  for (sys::pid_t pid : pids) result.hogs.push_back(*f.kernel.task(pid));
  result.max_gap = progress.max_gap;
  result.end = f.kernel.task(1)->accounting.completion;  // init's: the machine's last moment
  return result;
}

}  // namespace

TEST_CASE("two CPU hogs on one CPU both make progress and alternate by the quantum", "[kernel][sched][preemption]") {
  const HogRun run = run_hogs(1, 10 * sim::kMillisecond);
  REQUIRE(run.hogs.size() == 2);
  const auto& a = run.hogs[0].accounting;
  const auto& b = run.hogs[1].accounting;
  // Neither ever gets more than one quantum (10 ms of work) ahead of the other.
  CHECK(run.max_gap <= 10);
  CHECK(a.user_time == kHogMs * sim::kMillisecond);
  CHECK(b.user_time == kHogMs * sim::kMillisecond);
  CHECK(a.involuntary_switches > 0);
  CHECK(b.involuntary_switches > 0);
  // The one that started first finishes at most a quantum before the other.
  const sim::Tick gap = a.completion > b.completion ? a.completion - b.completion : b.completion - a.completion;
  CHECK(gap <= 10 * sim::kMillisecond);
  // Together they take the CPU for the sum of their work.
  CHECK(std::max(a.completion, b.completion) - std::min(a.arrival, b.arrival) >= 2 * kHogMs * sim::kMillisecond);
  // Each waited about as long as the other ran.
  CHECK(a.wait_time >= 80 * sim::kMillisecond);
  CHECK(b.wait_time >= 80 * sim::kMillisecond);
}

TEST_CASE("a preempted hog is charged CPU time only for the time it ran",
          "[kernel][sched][preemption][accounting]") {
  const HogRun run = run_hogs(1, 10 * sim::kMillisecond);
  for (const auto& info : run.hogs) {
    const sim::Tick cpu_time = info.accounting.user_time + info.accounting.system_time;
    CHECK(cpu_time >= kHogMs * sim::kMillisecond);
    CHECK(cpu_time <= kHogMs * sim::kMillisecond + sim::kMillisecond);
    CHECK(info.accounting.system_time < sim::kMillisecond);  // ideal costs: no kernel work
  }
}

TEST_CASE("with a 10 ms quantum, each of two 100 ms hogs is preempted about 10 times", "[kernel][sched][preemption]") {
  const HogRun run = run_hogs(1, 10 * sim::kMillisecond);
  for (const auto& info : run.hogs) {
    CHECK(info.accounting.involuntary_switches >= 9);
    CHECK(info.accounting.involuntary_switches <= 11);
    CHECK(info.accounting.slices >= 10);
    CHECK(info.accounting.slices <= 12);
  }
}

TEST_CASE("a shorter quantum makes proportionally more switches", "[kernel][sched][preemption]") {
  const HogRun ten = run_hogs(1, 10 * sim::kMillisecond);
  const HogRun two = run_hogs(1, 2 * sim::kMillisecond);
  const HogRun fifty = run_hogs(1, 50 * sim::kMillisecond);
  const auto switches = [](const HogRun& run) {
    std::uint64_t total = 0;
    for (const auto& info : run.hogs) total += info.accounting.involuntary_switches;
    return total;
  };
  CHECK(switches(two) > switches(ten));
  CHECK(switches(ten) > switches(fifty));
  // 200 ms of work in 2 ms slices: ~100 preemptions; in 10 ms: ~20; in 50 ms: 2 (A at
  // 50 ms and B at 100 ms; a hog whose work ends as its quantum does exits first).
  CHECK(switches(two) >= 95);
  CHECK(switches(two) <= 101);
  CHECK(switches(ten) >= 18);
  CHECK(switches(ten) <= 21);
  CHECK(switches(fifty) >= 2);
  CHECK(switches(fifty) <= 5);
  CHECK(two.max_gap <= 2);
  CHECK(fifty.max_gap <= 50);
}

TEST_CASE("a quantum longer than the work lets each hog run to completion in one slice", "[kernel][sched][preemption]") {
  const HogRun run = run_hogs(1, 500 * sim::kMillisecond);
  const auto& a = run.hogs[0].accounting;
  const auto& b = run.hogs[1].accounting;
  CHECK(a.involuntary_switches == 0);
  CHECK(b.involuntary_switches == 0);
  CHECK(run.max_gap == kHogMs);  // strictly one after the other
  CHECK(b.first_run >= a.completion);
}

TEST_CASE("three hogs on one CPU share it round robin", "[kernel][sched][preemption]") {
  const HogRun run = run_hogs(1, 5 * sim::kMillisecond, 3);
  REQUIRE(run.hogs.size() == 3);
  CHECK(run.max_gap <= 5);
  for (const auto& info : run.hogs) {
    CHECK(info.accounting.user_time == kHogMs * sim::kMillisecond);
    CHECK(info.accounting.involuntary_switches >= 15);
  }
}

// Two CPUs computing at the same time advance in one-cycle lockstep (CpuConfig::sync_quantum
// is 0: every cycle of one CPU is a run event of the other), about 100 ns of host time per
// simulated cycle; the hogs here are therefore short: 50 steps of 10 us.
TEST_CASE("on two CPUs two hogs run in parallel and finish in about one hog's time", "[kernel][sched][smp]") {
  constexpr std::uint64_t kStepCycles = 30'000;  // 10 us
  constexpr int kSteps = 50;
  constexpr sim::Tick kHog = kSteps * 10 * sim::kMicrosecond;
  const HogRun run = run_hogs(2, 10 * sim::kMillisecond, 2, kStepCycles, kSteps);
  REQUIRE(run.hogs.size() == 2);
  for (const auto& info : run.hogs) {
    const sim::Tick turnaround = info.accounting.completion - info.accounting.arrival;
    CHECK(turnaround >= kHog);
    CHECK(turnaround <= kHog + 10 * sim::kMicrosecond);
    CHECK(info.accounting.user_time == kHog);
    CHECK(info.accounting.involuntary_switches == 0);
  }
  CHECK(run.max_gap <= 1);
  CHECK(run.end < kHog + kHog / 2);
}

TEST_CASE("on one CPU the same two short hogs take twice as long", "[kernel][sched][smp]") {
  constexpr std::uint64_t kStepCycles = 30'000;
  constexpr int kSteps = 50;
  constexpr sim::Tick kHog = kSteps * 10 * sim::kMicrosecond;
  const HogRun run = run_hogs(1, 10 * sim::kMillisecond, 2, kStepCycles, kSteps);
  CHECK(run.end >= 2 * kHog);
  CHECK(run.max_gap == kSteps);  // a 10 ms quantum is longer than either hog
}

TEST_CASE("with default costs, preemption still alternates and overhead is charged as system time",
          "[kernel][sched][preemption]") {
  KernelFixture f(1, kernel::KernelConfig{});
  Progress progress;
  progress.done.assign(2, 0);
  std::vector<sys::pid_t> pids;
  f.run([&](user::Process& init) {
    for (std::size_t i = 0; i < 2; ++i) pids.push_back(init.fork(hog(progress, i)));
    return 0;
  });
  CHECK(progress.max_gap <= 11);
  for (sys::pid_t pid : pids) {
    const auto info = f.kernel.task(pid);
    REQUIRE(info);
    CHECK(info->accounting.user_time == kHogMs * sim::kMillisecond);
    CHECK(info->accounting.involuntary_switches >= 9);
    CHECK(info->accounting.system_time > 0);
  }
}
