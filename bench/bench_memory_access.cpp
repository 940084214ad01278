// Translated memory accesses through the simulated CPU: a load that hits in the L1 dTLB,
// and a load that misses every TLB level and walks all four levels of the page tables.
// Each benchmark loop runs inside a context on CPU 0, as workload code does. Reported: ns
// per load (host time) and, as counters, what the simulated hardware did per load.

#include <benchmark/benchmark.h>

#include <cstdint>

#include "ossim/cpu/context.hpp"
#include "ossim/cpu/cpu.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/mmu/page_table.hpp"
#include "ossim/sim/engine.hpp"

namespace {

using namespace ossim;

constexpr mmu::VirtAddr kBase = 0x0000'4000'0000;

// Maps `pages` consecutive virtual pages, backed round-robin by `frames` physical frames
// (many pages, few frames: the walks are real, the host memory stays small), then runs
// `body` in user mode on CPU 0 with paging on.
template <typename Body>
void run_on_cpu(std::uint64_t pages, std::uint64_t frames, Body body) {
  sim::Engine engine({.seed = 1});
  MachineConfig config;
  config.memory_bytes = std::uint64_t{64} << 20;
  Machine machine(engine, config);
  mmu::PageTable table(machine.memory(), machine.frames());
  std::vector<mmu::FrameNumber> backing;
  for (std::uint64_t i = 0; i < frames; ++i) backing.push_back(*machine.frames().allocate_zeroed(0));
  for (std::uint64_t page = 0; page < pages; ++page) {
    table.map(kBase + page * mmu::kPageBytes, mmu::address_of(backing[page % frames]), mmu::PageSize::k4K,
              mmu::pte::kWritable | mmu::pte::kUser);
  }
  cpu::Context context(engine.fibers(), [&] {
    cpu::Cpu& cpu = machine.cpu(0);
    cpu.write_cr3(table.root());
    cpu.write_cr0(cpu.control().cr0 | cpu::cr0::kPaging);
    cpu.enter_user_mode();
    body(cpu);
  }, "bench");
  machine.cpu(0).start(context);
  engine.run();
}

void BM_LoadTlbHit(benchmark::State& state) {
  run_on_cpu(1, 1, [&](cpu::Cpu& cpu) {
    std::uint64_t sum = 0;
    std::uint64_t i = 0;
    const std::uint64_t walks = cpu.mmu().stats().walks;
    for (auto _ : state) {
      sum += cpu.load<std::uint64_t>(kBase + ((i++ & 511) << 3));
    }
    benchmark::DoNotOptimize(sum);
    state.counters["walks_per_load"] =
        static_cast<double>(cpu.mmu().stats().walks - walks) / static_cast<double>(state.iterations());
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LoadTlbHit);

void BM_StoreTlbHit(benchmark::State& state) {
  run_on_cpu(1, 1, [&](cpu::Cpu& cpu) {
    std::uint64_t i = 0;
    for (auto _ : state) {
      cpu.store<std::uint64_t>(kBase + ((i & 511) << 3), i);
      ++i;
    }
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreTlbHit);

void BM_LoadTlbMissFullWalk(benchmark::State& state) {
  // 65 536 pages: far beyond the 64-entry dTLB and the 1024-entry STLB, so a sequential
  // sweep misses both on every page and walks PML4 -> PDPT -> PD -> PT.
  constexpr std::uint64_t kPages = 65'536;
  run_on_cpu(kPages, 16, [&](cpu::Cpu& cpu) {
    std::uint64_t sum = 0;
    // One sweep first, so that every walk timed finds the A bits set (the steady state:
    // a short run, such as the first of Google Benchmark's or one under callgrind, would
    // otherwise be mostly first walks, which write A bits).
    for (std::uint64_t page = 0; page < kPages; ++page) sum += cpu.load<std::uint64_t>(kBase + page * mmu::kPageBytes);
    std::uint64_t page = 0;
    const std::uint64_t walks = cpu.mmu().stats().walks;
    const std::uint64_t entries = cpu.mmu().stats().walk_entries_read;
    for (auto _ : state) {
      sum += cpu.load<std::uint64_t>(kBase + page * mmu::kPageBytes);
      page = page + 1 == kPages ? 0 : page + 1;
    }
    benchmark::DoNotOptimize(sum);
    const auto loads = static_cast<double>(state.iterations());
    state.counters["walks_per_load"] = static_cast<double>(cpu.mmu().stats().walks - walks) / loads;
    state.counters["entries_per_walk"] =
        static_cast<double>(cpu.mmu().stats().walk_entries_read - entries) /
        static_cast<double>(std::max<std::uint64_t>(cpu.mmu().stats().walks - walks, 1));
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LoadTlbMissFullWalk);

void BM_ComputeOperation(benchmark::State& state) {
  run_on_cpu(1, 1, [&](cpu::Cpu& cpu) {
    for (auto _ : state) cpu.compute(10);
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ComputeOperation);

}  // namespace
