// Fiber switches: two fibers passing control directly to each other (the path a kernel's
// context_switch takes), and a round trip host -> fiber -> host (the path a CPU syncing
// with the engine takes). Reported per switch.

#include <benchmark/benchmark.h>

#include "ossim/sim/engine.hpp"
#include "ossim/sim/fiber.hpp"

namespace {

using namespace ossim::sim;

void BM_FiberSwitchDirect(benchmark::State& state) {
  Engine engine;
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
BENCHMARK(BM_FiberSwitchDirect);

void BM_FiberRoundTripThroughHost(benchmark::State& state) {
  Engine engine;
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
BENCHMARK(BM_FiberRoundTripThroughHost);

void BM_FiberCreateAndFinish(benchmark::State& state) {
  Engine engine;
  FiberRuntime& fibers = engine.fibers();
  for (auto _ : state) {
    auto fiber = fibers.create([] {}, "short");
    fibers.switch_to(*fiber);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FiberCreateAndFinish);

}  // namespace
