// Fiber switches: two fibers passing control directly to each other (the path a kernel's
// context_switch takes), the same from a dozen calls deep (as a task blocks in a system
// call), and a round trip host -> fiber -> host (the path a CPU syncing with the engine
// takes). Reported per switch. Each runs with ossim's own switch (/boost_context:0) and
// with Boost.Context's (/boost_context:1).

#include <benchmark/benchmark.h>

#include "ossim/sim/engine.hpp"
#include "ossim/sim/fiber.hpp"

namespace {

using namespace ossim::sim;

FiberSwitch switch_of(const benchmark::State& state) {
  return state.range(0) != 0 ? FiberSwitch::kBoostContext : FiberSwitch::kNative;
}

void BM_FiberSwitchDirect(benchmark::State& state) {
  Engine engine({.fiber_switch = switch_of(state)});
  FiberRuntime& fibers = engine.fibers();
  bool done = false;
  std::unique_ptr<Fiber> a, b;
  a = fibers.create([&] {
    for (auto _ : state) fibers.switch_to(*b);  // a -> b, and b comes back to a
    done = true;
  }, "a");
  b = fibers.create([&] {
    while (!done) fibers.switch_to(*a);
  }, "b");
  fibers.switch_to(*a);       // runs the loop; returns when a finishes
  if (!b->finished()) fibers.switch_to(*b);  // let b see `done` and finish
  state.SetItemsProcessed(state.iterations() * 2);  // two switches per iteration
}
BENCHMARK(BM_FiberSwitchDirect)->ArgName("boost_context")->Arg(0)->Arg(1);

// Calls `depth` frames deep, then switches to `other`. Not inlined, so that each level
// is a real call and return.
[[gnu::noinline]] void switch_from_depth(FiberRuntime& fibers, Fiber& other, int depth) {
  if (depth == 0) {
    fibers.switch_to(other);
    return;
  }
  switch_from_depth(fibers, other, depth - 1);
  benchmark::ClobberMemory();  // keeps the call from becoming a tail call
}

void BM_FiberSwitchDeep(benchmark::State& state) {
  constexpr int kDepth = 12;
  Engine engine({.fiber_switch = switch_of(state)});
  FiberRuntime& fibers = engine.fibers();
  bool done = false;
  std::unique_ptr<Fiber> a, b;
  a = fibers.create([&] {
    for (auto _ : state) switch_from_depth(fibers, *b, kDepth);
    done = true;
  }, "a");
  b = fibers.create([&] {
    while (!done) switch_from_depth(fibers, *a, kDepth);
  }, "b");
  fibers.switch_to(*a);
  if (!b->finished()) fibers.switch_to(*b);
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_FiberSwitchDeep)->ArgName("boost_context")->Arg(0)->Arg(1);

void BM_FiberRoundTripThroughHost(benchmark::State& state) {
  Engine engine({.fiber_switch = switch_of(state)});
  FiberRuntime& fibers = engine.fibers();
  bool done = false;
  auto worker = fibers.create([&] {
    while (!done) fibers.switch_to(fibers.host());
  }, "worker");
  for (auto _ : state) fibers.switch_to(*worker);
  done = true;
  fibers.switch_to(*worker);
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_FiberRoundTripThroughHost)->ArgName("boost_context")->Arg(0)->Arg(1);

void BM_FiberCreateAndFinish(benchmark::State& state) {
  Engine engine({.fiber_switch = switch_of(state)});
  FiberRuntime& fibers = engine.fibers();
  for (auto _ : state) {
    auto fiber = fibers.create([] {}, "short");
    fibers.switch_to(*fiber);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FiberCreateAndFinish)->ArgName("boost_context")->Arg(0)->Arg(1);

}  // namespace
