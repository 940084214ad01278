// The CPU's local clock: cycles become picoseconds at the configured frequency, in 32.32
// fixed point, and a CPU begins at the engine's time.

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "bare_metal.hpp"

using namespace ossim;
using test::BareMetal;
using test::kNs;
using test::kUs;

namespace {

MachineConfig at_frequency(std::uint64_t hz) {
  MachineConfig config = test::small_machine();
  config.cpu.frequency_hz = hz;
  return config;
}

}  // namespace

TEST_CASE("compute(N) advances the clock by exactly N cycles at a whole-picosecond period") {
  const auto [hz, ps_per_cycle] = GENERATE(table<std::uint64_t, sim::Tick>({
      {1'000'000'000, 1000}, {2'000'000'000, 500}, {2'500'000'000, 400}, {4'000'000'000, 250}}));
  BareMetal hw(at_frequency(hz));
  std::vector<sim::Tick> times;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    times.push_back(c.now());
    c.compute(1);
    times.push_back(c.now());
    c.compute(12'345);
    times.push_back(c.now());
    c.compute(0);
    times.push_back(c.now());
  });
  hw.engine.run();
  CHECK(hw.cpu().frequency_hz() == hz);
  CHECK(times == std::vector<sim::Tick>{0, ps_per_cycle, 12'346 * ps_per_cycle, 12'346 * ps_per_cycle});
}

TEST_CASE("cycles_to_ticks converts cycles at the CPU's frequency") {
  BareMetal hw(at_frequency(2'000'000'000));
  CHECK(hw.cpu().cycles_to_ticks(0) == 0);
  CHECK(hw.cpu().cycles_to_ticks(1) == 500);
  CHECK(hw.cpu().cycles_to_ticks(2'000) == kUs);
  CHECK(hw.cpu().cycles_to_ticks(2'000'000'000) == sim::kSecond);
  // Large counts do not overflow: an hour of cycles.
  CHECK(hw.cpu().cycles_to_ticks(std::uint64_t{7'200} * 1'000'000'000) == 3'600 * sim::kSecond);
}

TEST_CASE("one-cycle computes add up to the same time as one long compute at 3 GHz") {
  // 333.33... ps a cycle: the fraction must be carried, not dropped at each operation.
  constexpr std::uint64_t kCycles = 3'000'000;
  BareMetal split_hw(at_frequency(3'000'000'000));
  sim::Tick split = 0;
  split_hw.run_on(0, [&] {
    cpu::Cpu& c = split_hw.cpu();
    for (std::uint64_t i = 0; i < kCycles; ++i) c.compute(1);
    split = c.now();
  });
  split_hw.engine.run();

  BareMetal whole_hw(at_frequency(3'000'000'000));
  sim::Tick whole = 0;
  whole_hw.run_on(0, [&] {
    whole_hw.cpu().compute(kCycles);
    whole = whole_hw.cpu().now();
  });
  whole_hw.engine.run();

  CHECK(split == whole);
  // Dropping the fraction at each operation would lose a third of a picosecond per cycle.
  CHECK(split + 1 >= sim::kMillisecond);
  CHECK(split <= sim::kMillisecond);
}

// With the period rounded down in 32.32 fixed point, these came out one picosecond short
// (3000 cycles = 999'999 ps, 3 cycles = 999 ps).
TEST_CASE("3000 cycles at 3 GHz take exactly 1 us, and 3e6 one-cycle computes exactly 1 ms") {
  BareMetal hw(at_frequency(3'000'000'000));
  CHECK(hw.cpu().cycles_to_ticks(3) == 1'000);
  CHECK(hw.cpu().cycles_to_ticks(3'000) == kUs);
  CHECK(hw.cpu().cycles_to_ticks(3'000'000'000) == sim::kSecond);
  sim::Tick after_3000 = 0;
  sim::Tick after_ms = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    for (int i = 0; i < 3'000'000; ++i) c.compute(1);
    after_ms = c.now();
    c.compute(3'000);
    after_3000 = c.now() - after_ms;
  });
  hw.engine.run();
  CHECK(after_ms == sim::kMillisecond);
  CHECK(after_3000 == kUs);
}

TEST_CASE("busy_cycles counts the cycles of computation and memory operations, not halted time") {
  MachineConfig config = test::small_machine();
  config.cpu.memory_access_cycles = 4;
  BareMetal hw(config);
  sim::Tick after_store = 0;
  hw.machine().timer(0).set_vector(0x40);
  hw.machine().timer(0).set_masked(false);
  hw.machine().timer(0).arm_one_shot(10 * kUs);
  hw.idt.set(0x40, [](cpu::Cpu& c, cpu::TrapFrame&) { c.apic().eoi(); });
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.compute(100);
    c.compute(250);
    c.store<std::uint64_t>(0x20'0000, 7);  // paging off: physical address 2 MiB
    after_store = c.now();
    c.enable_interrupts();
    c.halt();  // until the timer at 10 us
  });
  hw.engine.run();
  const cpu::CpuStats& stats = hw.cpu().stats();
  CHECK(after_store == (100 + 250 + 4) * 500);
  CHECK(stats.busy_cycles == 354);
  CHECK(stats.halted_time == 10 * kUs - after_store);
  CHECK(hw.machine().memory().read<std::uint64_t>(0x20'0000) == 7);
}

TEST_CASE("a CPU started after time zero starts at the engine's time") {
  BareMetal hw;
  sim::Tick started = 0;
  sim::Tick ended = 0;
  cpu::Context& late = hw.context([&] {
    started = hw.cpu().now();
    hw.cpu().compute(2'000);
    ended = hw.cpu().now();
  });
  hw.start_at(5 * kUs + 123, 0, late);
  hw.engine.run();
  CHECK(started == 5 * kUs + 123);
  CHECK(ended == 6 * kUs + 123);
  CHECK(hw.cpu().state() == cpu::CpuState::kOff);
  CHECK(late.finished());
}

TEST_CASE("a context started on a CPU whose clock is ahead of the engine starts at the CPU's clock") {
  BareMetal hw;
  sim::Tick second_started = 0;
  hw.run_on(0, [&] { hw.cpu().compute(2'000); });
  hw.engine.run();
  // Nothing else was pending, so the CPU ran ahead: the engine never reached 1 us.
  REQUIRE(hw.engine.now() < kUs);
  REQUIRE(hw.cpu().now() == kUs);
  hw.run_on(0, [&] { second_started = hw.cpu().now(); });
  hw.engine.run();
  CHECK(second_started == kUs);
}

TEST_CASE("a CPU alone runs ahead without handing control back to the engine") {
  BareMetal hw;
  hw.run_on(0, [&] {
    for (int i = 0; i < 1'000; ++i) hw.cpu().compute(1'000);
  });
  hw.engine.run();
  CHECK(hw.cpu().now() == 500 * kUs);
  CHECK(hw.cpu().stats().engine_syncs == 0);
  CHECK(hw.engine.events_fired() == 1);  // the start
}

TEST_CASE("spin_wait computes to the next event, lets it fire, and returns at its time") {
  BareMetal hw;
  bool flag = false;
  sim::CallbackEvent store([&] { flag = true; }, "another CPU's store");
  hw.engine.schedule(store, 3 * kUs);
  sim::Tick seen_at = 0;
  int turns = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.compute(test::kCyclesPerUs);  // 1 us
    while (!flag) {
      c.spin_wait();
      ++turns;
    }
    seen_at = c.now();
  });
  hw.engine.run();
  CHECK(seen_at == 3 * kUs);  // not a cycle later: the wait ends at the store's time
  CHECK(turns == 1);
}
