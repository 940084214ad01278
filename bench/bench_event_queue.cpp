// The event queue under the "hold" model that discrete-event simulators are compared on:
// N events pending; each step pops the earliest and schedules it again a random delay
// later, so the queue keeps N events. Reported: events per second (items_per_second) and
// ns per event.

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "ossim/sim/engine.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/huge_page_array.hpp"

namespace {

using namespace ossim::sim;

// An event that puts itself back at a random delay when it fires.
class HoldEvent final : public Event {
 public:
  HoldEvent(Engine& engine, RandomStream& random) : Event("hold"), engine_(engine), random_(random) {}

 private:
  void fire() override { engine_.schedule_in(*this, 1 + random_.uniform_below(1'000'000)); }
  Engine& engine_;
  RandomStream& random_;
};

// An event that does nothing when it fires: for measuring the queue alone.
struct Plain final : Event {
  void fire() override {}
};

void BM_EngineHold(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  Engine engine({.seed = 1});
  RandomStream random = engine.random_stream("bench");
  std::vector<std::unique_ptr<HoldEvent>> events;
  events.reserve(pending);
  for (std::size_t i = 0; i < pending; ++i) {
    events.push_back(std::make_unique<HoldEvent>(engine, random));
    engine.schedule(*events.back(), random.uniform_below(1'000'000));
  }
  for (auto _ : state) engine.step();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineHold)->Arg(1'000)->Arg(100'000)->Arg(1'000'000);

// The same with the events laid out in one array, as components embedding their events
// would have them, and without the virtual fire() indirection through the engine.
// `Events` is where the array lives: a std::vector (small host pages) or a HugePageArray.
template <typename Events>
void BM_QueueScheduleAndPop(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  Events events(pending);
  EventQueue queue;
  queue.reserve(pending);
  RandomStream random(7);
  Tick now = 0;
  for (auto& event : events) queue.schedule(event, random.uniform_below(1'000'000));
  for (auto _ : state) {
    Event& event = queue.pop();
    now = event.when();
    queue.schedule(event, now + 1 + random.uniform_below(1'000'000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueueScheduleAndPop<std::vector<Plain>>)
    ->Name("BM_QueueScheduleAndPop")
    ->Arg(1'000)
    ->Arg(1'000'000);
// With the events on transparent huge pages: at a million events (56 MB) a pop no longer
// costs a host TLB miss as well as a cache miss.
BENCHMARK(BM_QueueScheduleAndPop<HugePageArray<Plain>>)
    ->Name("BM_QueueScheduleAndPopHugePages")
    ->Arg(1'000)
    ->Arg(1'000'000);

// Fill the queue with N events at random times, then drain it: schedule + pop per event.
void BM_QueueFillThenDrain(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  std::vector<Plain> events(pending);
  EventQueue queue;
  queue.reserve(pending);
  RandomStream random(5);
  Tick now = 0;
  for (auto _ : state) {
    for (auto& event : events) queue.schedule(event, now + random.uniform_below(1'000'000'000));
    while (!queue.empty()) now = queue.pop().when();
  }
  benchmark::DoNotOptimize(now);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(pending));
}
BENCHMARK(BM_QueueFillThenDrain)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_QueueRescheduleAndCancel(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  std::vector<Plain> events(pending);
  EventQueue queue;
  RandomStream random(11);
  for (auto& event : events) queue.schedule(event, random.uniform_below(1'000'000));
  std::size_t i = 0;
  for (auto _ : state) {
    Plain& event = events[i];
    queue.reschedule(event, random.uniform_below(1'000'000));
    queue.cancel(event);
    queue.schedule(event, random.uniform_below(1'000'000));
    i = i + 1 == pending ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueueRescheduleAndCancel)->Arg(1'000'000);

}  // namespace
