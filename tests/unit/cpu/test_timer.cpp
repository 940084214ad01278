// The CPU and its local APIC timer together: periodic ticks, one-shot and tickless
// deadlines, HLT until the timer, and a CPU asleep with nothing left to wake it.

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "bare_metal.hpp"

using namespace ossim;
using test::BareMetal;
using test::kNs;
using test::kUs;

namespace {

constexpr std::uint8_t kTimerVector = 0xEF;

dev::LocalTimer& timer_of(BareMetal& hw, unsigned cpu = 0) {
  dev::LocalTimer& timer = hw.machine().timer(cpu);
  timer.set_vector(kTimerVector);
  timer.set_masked(false);
  return timer;
}

}  // namespace

TEST_CASE("a 1 us periodic timer interrupts a 10 us compute on each microsecond inside it") {
  BareMetal hw;
  dev::LocalTimer& timer = timer_of(hw);
  std::vector<sim::Tick> ticks;
  hw.idt.set(kTimerVector, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    ticks.push_back(c.now());
    c.apic().eoi();
  });
  REQUIRE(timer.arm_periodic(kUs, kUs));
  sim::Tick compute_end = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enable_interrupts();
    c.compute(10 * test::kCyclesPerUs);
    compute_end = c.now();
    // Operations that take no time at exactly 10 us come before the tick due then (see
    // Cpu::at_boundary): CLI masks it and the timer is disarmed before it expires.
    c.disable_interrupts();
    timer.disarm();
  });
  hw.engine.run();
  CHECK(compute_end == 10 * kUs);
  std::vector<sim::Tick> expected;
  for (sim::Tick k = 1; k <= 9; ++k) expected.push_back(k * kUs);
  CHECK(ticks == expected);
  CHECK(hw.cpu().stats().interrupts == 9);
  CHECK(timer.expirations() == 9);
}

TEST_CASE("a one-shot timer interrupts once") {
  BareMetal hw;
  dev::LocalTimer& timer = timer_of(hw);
  std::vector<sim::Tick> ticks;
  hw.idt.set(kTimerVector, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    ticks.push_back(c.now());
    c.apic().eoi();
  });
  timer.arm_one_shot(3 * kUs);
  hw.run_on(0, [&] {
    hw.cpu().enable_interrupts();
    hw.cpu().compute(20 * test::kCyclesPerUs);
  });
  hw.engine.run();
  CHECK(ticks == std::vector<sim::Tick>{3 * kUs});
  CHECK_FALSE(timer.armed());
  CHECK(hw.cpu().now() == 20 * kUs);
}

TEST_CASE("a tickless handler that reprograms the one-shot deadline gets each deadline exactly") {
  BareMetal hw;
  dev::LocalTimer& timer = timer_of(hw);
  // Irregular gaps, as a tickless kernel programs them from its timer wheel.
  const std::vector<sim::Tick> gaps{700 * kNs, 2 * kUs + 300 * kNs, 150 * kNs, 4 * kUs};
  std::vector<sim::Tick> ticks;
  hw.idt.set(kTimerVector, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    ticks.push_back(c.now());
    if (ticks.size() < gaps.size()) timer.arm_one_shot(c.now() + gaps[ticks.size()]);
    c.apic().eoi();
  });
  timer.arm_one_shot(gaps[0]);
  hw.run_on(0, [&] {
    hw.cpu().enable_interrupts();
    hw.cpu().compute(20 * test::kCyclesPerUs);
  });
  hw.engine.run();
  std::vector<sim::Tick> expected;
  sim::Tick t = 0;
  for (sim::Tick gap : gaps) expected.push_back(t += gap);
  CHECK(ticks == expected);
  CHECK(timer.expirations() == gaps.size());
}

TEST_CASE("halt sleeps until the timer interrupt and the sleep is counted as halted time") {
  BareMetal hw;
  dev::LocalTimer& timer = timer_of(hw);
  sim::Tick handled_at = 0;
  cpu::CpuState state_in_handler = cpu::CpuState::kOff;
  hw.idt.set(kTimerVector, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    handled_at = c.now();
    state_in_handler = c.state();
    c.apic().eoi();
  });
  timer.arm_one_shot(5 * kUs);
  sim::Tick halted_at = 0;
  sim::Tick woke_at = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enable_interrupts();
    c.compute(test::kCyclesPerUs);
    halted_at = c.now();
    c.halt();
    woke_at = c.now();
    c.compute(test::kCyclesPerUs);
  });
  hw.engine.run();
  CHECK(halted_at == kUs);
  CHECK(handled_at == 5 * kUs);
  CHECK(state_in_handler == cpu::CpuState::kRunning);
  CHECK(woke_at == 5 * kUs);
  CHECK(hw.cpu().now() == 6 * kUs);
  CHECK(hw.cpu().stats().halted_time == 4 * kUs);
  CHECK(hw.cpu().stats().busy_cycles == 2 * test::kCyclesPerUs);
}

TEST_CASE("halted time adds up over several sleeps") {
  BareMetal hw;
  dev::LocalTimer& timer = timer_of(hw);
  hw.idt.set(kTimerVector, [](cpu::Cpu& c, cpu::TrapFrame&) { c.apic().eoi(); });
  REQUIRE(timer.arm_periodic(10 * kUs, 10 * kUs));
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enable_interrupts();
    for (int i = 0; i < 3; ++i) {
      c.compute(test::kCyclesPerUs);  // 1 us of work, then sleep until the next tick
      c.halt();
    }
    timer.disarm();
  });
  hw.engine.run();
  CHECK(hw.cpu().now() == 30 * kUs);
  CHECK(hw.cpu().stats().halted_time == 27 * kUs);
  CHECK(hw.cpu().stats().interrupts == 3);
}

TEST_CASE("a CPU halted with nothing pending ends the simulation and stays halted") {
  BareMetal hw;
  bool after_halt = false;
  cpu::Context& ctx = hw.run_on(0, [&] {
    hw.cpu().enable_interrupts();
    hw.cpu().compute(1'000);
    hw.cpu().halt();
    after_halt = true;
  });
  hw.engine.run();  // returns: nothing is pending
  CHECK(hw.engine.pending_events() == 0);
  CHECK(hw.cpu().state() == cpu::CpuState::kHalted);
  CHECK(hw.cpu().current() == &ctx);
  CHECK_FALSE(ctx.finished());
  CHECK_FALSE(after_halt);
}

TEST_CASE("a CPU halted with IF clear is not woken by an interrupt") {
  BareMetal hw;
  dev::LocalTimer& timer = timer_of(hw);
  int handled = 0;
  hw.idt.set(kTimerVector, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    ++handled;
    c.apic().eoi();
  });
  timer.arm_one_shot(2 * kUs);
  bool after_halt = false;
  hw.run_on(0, [&] {
    hw.cpu().halt();  // CLI; HLT
    after_halt = true;
  });
  hw.engine.run();
  CHECK(hw.engine.now() == 2 * kUs);  // the timer did fire
  CHECK(handled == 0);
  CHECK_FALSE(after_halt);
  CHECK(hw.cpu().state() == cpu::CpuState::kHalted);
  CHECK(hw.cpu().apic().requested(kTimerVector));
}
