// The cost of tracing. Reported per call, in ns:
// - a disabled category: the `if (trace.enabled(c))` test that guards every record site,
//   with the trace re-read from memory each time as it would be in the kernel;
// - an enabled instant with three integer arguments (a syscall record);
// - writing records out in each format (items_per_second = records per second).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <ostream>
#include <streambuf>

#include "ossim/sim/chrome_trace_writer.hpp"
#include "ossim/sim/jsonl_trace_writer.hpp"
#include "ossim/sim/trace.hpp"

namespace {

using namespace ossim::sim;

// A stream that throws its output away, so that the writers are measured alone.
class NullBuffer final : public std::streambuf {
 protected:
  std::streamsize xsputn(const char*, std::streamsize count) override { return count; }
  int overflow(int c) override { return c; }
};

// The loop alone, for reference: what the two below cost beyond it.
void BM_TraceBaselineLoop(benchmark::State& state) {
  std::int64_t n = 0;
  for (auto _ : state) {
    benchmark::ClobberMemory();
    benchmark::DoNotOptimize(++n);
  }
}
BENCHMARK(BM_TraceBaselineLoop);

void BM_TraceDisabledCheck(benchmark::State& state) {
  Trace trace(TraceCategory::kSched);  // syscalls off
  benchmark::DoNotOptimize(&trace);
  const TrackId task = trace.task_track(1, 1, "bench");
  std::int64_t n = 0;
  for (auto _ : state) {
    benchmark::ClobberMemory();  // re-read the trace's mask, as a real call site would
    ++n;
    if (trace.enabled(TraceCategory::kSyscall)) {
      trace.instant(TraceCategory::kSyscall, task, static_cast<Tick>(n), "read", {{"fd", n}, {"count", 4096}, {"result", n}});
    }
    benchmark::DoNotOptimize(n);
  }
  if (!trace.records().empty()) state.SkipWithError("a disabled category recorded");
}
BENCHMARK(BM_TraceDisabledCheck);

void BM_TraceInstantEnabled(benchmark::State& state) {
  Trace trace(TraceCategory::kAll);
  const TrackId task = trace.task_track(1, 1, "bench");
  std::int64_t n = 0;
  for (auto _ : state) {
    benchmark::ClobberMemory();
    ++n;
    if (trace.enabled(TraceCategory::kSyscall)) {
      trace.instant(TraceCategory::kSyscall, task, static_cast<Tick>(n), "read", {{"fd", n}, {"count", 4096}, {"result", n}});
    }
    // Bound the memory; clearing keeps the capacity, so this measures the steady state.
    if ((n & ((1 << 20) - 1)) == 0) trace.clear_records();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TraceInstantEnabled);

// One million records of a typical mix: run slices, state slices, syscalls, counters.
void fill(Trace& trace) {
  const TrackId cpu = trace.cpu_track(0);
  const TrackId runqueue = trace.counter_track("CPU 0 run queue");
  TrackId tasks[4];
  for (int i = 0; i < 4; ++i) tasks[i] = trace.task_track(100 + i, 100 + i, "worker");
  Tick now = 0;
  for (int i = 0; trace.records().size() < 1'000'000; ++i) {
    const TrackId task = tasks[i % 4];
    now += 1'234'567;
    trace.cpu_run(cpu, task, now);
    trace.task_state(task, TraceTaskState::kRunning, now);
    trace.instant(TraceCategory::kSyscall, task, now + 500, "write", {{"fd", 1}, {"count", 64}, {"result", 64}});
    trace.counter(TraceCategory::kCounter, runqueue, now, std::int64_t{i % 7});
    trace.task_state(task, TraceTaskState::kRunnable, now + 1'000'000);
  }
}

void BM_TraceWriteChrome(benchmark::State& state) {
  Trace trace(TraceCategory::kAll);
  fill(trace);
  NullBuffer buffer;
  std::ostream out(&buffer);
  for (auto _ : state) write_chrome_trace(trace, out);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(trace.records().size()));
}
BENCHMARK(BM_TraceWriteChrome)->Unit(benchmark::kMillisecond);

void BM_TraceWriteJsonl(benchmark::State& state) {
  Trace trace(TraceCategory::kAll);
  fill(trace);
  NullBuffer buffer;
  std::ostream out(&buffer);
  for (auto _ : state) write_jsonl_trace(trace, out);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(trace.records().size()));
}
BENCHMARK(BM_TraceWriteJsonl)->Unit(benchmark::kMillisecond);

}  // namespace
