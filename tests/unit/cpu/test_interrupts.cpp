// External interrupts on the CPU: when they are taken (IF, operation boundaries, the exact
// arrival cycle), in what state the handler runs, priorities and EOI, and the paths by which
// they arrive (local timer, I/O APIC, IPI).

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bare_metal.hpp"

using namespace ossim;
using test::BareMetal;
using test::kNs;
using test::kUs;

namespace {

struct Taken {
  std::uint8_t vector;
  sim::Tick at;
  bool operator==(const Taken&) const = default;
};

// Installs a handler on `vectors` that records (vector, time) and sends the EOI.
void record(BareMetal& hw, std::vector<Taken>& log, std::initializer_list<std::uint8_t> vectors) {
  for (std::uint8_t v : vectors) {
    hw.idt.set(v, [&log](cpu::Cpu& c, cpu::TrapFrame& f) {
      log.push_back({f.vector, c.now()});
      c.apic().eoi();
    });
  }
}

void arm_timer(BareMetal& hw, std::uint8_t vector, sim::Tick deadline) {
  dev::LocalTimer& timer = hw.machine().timer(0);
  timer.set_vector(vector);
  timer.set_masked(false);
  timer.arm_one_shot(deadline);
}

}  // namespace

TEST_CASE("an interrupt arriving with IF clear waits for enable_interrupts, then the next boundary") {
  BareMetal hw;
  std::vector<Taken> log;
  record(hw, log, {0x40});
  arm_timer(hw, 0x40, 500 * kNs);
  std::size_t taken_before_enable = 99;
  std::size_t taken_right_after_enable = 99;
  bool pending_in_apic = false;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.compute(test::kCyclesPerUs);  // across the arrival at 0.5 us
    c.compute(test::kCyclesPerUs);
    taken_before_enable = log.size();
    pending_in_apic = c.apic().requested(0x40);
    c.enable_interrupts();
    taken_right_after_enable = log.size();
    c.compute(10);
  });
  hw.engine.run();
  CHECK(taken_before_enable == 0);
  CHECK(pending_in_apic);
  CHECK(taken_right_after_enable == 0);
  CHECK(log == std::vector<Taken>{{0x40, 2 * kUs}});
  CHECK(hw.cpu().stats().interrupts == 1);
}

TEST_CASE("an interrupt during a long compute lands at its arrival cycle and the compute still completes") {
  // Arrival -> the first cycle boundary at or after it (500 ps cycles).
  const auto [arrival, taken_at] = GENERATE(table<sim::Tick, sim::Tick>({
      {3 * kUs, 3 * kUs}, {kUs + 250, kUs + 500}, {1, 500}, {7 * kUs + 499, 7 * kUs + 500}}));
  BareMetal hw;
  std::vector<Taken> log;
  bool external = false;
  hw.idt.set(0x40, [&](cpu::Cpu& c, cpu::TrapFrame& f) {
    log.push_back({f.vector, c.now()});
    external = f.external;
    c.compute(100);  // the handler's own work
    c.apic().eoi();
  });
  arm_timer(hw, 0x40, arrival);
  sim::Tick end = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enable_interrupts();
    c.compute(20'000);  // 10 us
    end = c.now();
  });
  hw.engine.run();
  CHECK(log == std::vector<Taken>{{0x40, taken_at}});
  CHECK(external);
  CHECK(end == (20'000 + 100) * 500);
  CHECK(hw.cpu().stats().busy_cycles == 20'100);
}

TEST_CASE("interrupt_entry_cycles are charged before the handler runs") {
  MachineConfig config = test::small_machine();
  config.cpu.interrupt_entry_cycles = 50;
  BareMetal hw(config);
  std::vector<Taken> log;
  record(hw, log, {0x40});
  arm_timer(hw, 0x40, kUs);
  sim::Tick end = 0;
  hw.run_on(0, [&] {
    hw.cpu().enable_interrupts();
    hw.cpu().compute(4'000);
    end = hw.cpu().now();
  });
  hw.engine.run();
  CHECK(log == std::vector<Taken>{{0x40, kUs + 50 * 500}});
  CHECK(end == (4'000 + 50) * 500);
}

TEST_CASE("a handler runs at CPL 0 with IF clear, and IRET restores the interrupted CPL and IF") {
  const bool from_user = GENERATE(true, false);
  BareMetal hw;
  unsigned handler_cpl = 99;
  bool handler_if = true;
  cpu::TrapFrame seen;
  hw.idt.set(0x40, [&](cpu::Cpu& c, cpu::TrapFrame& f) {
    handler_cpl = c.cpl();
    handler_if = c.interrupts_enabled();
    seen = f;
    c.apic().eoi();
  });
  arm_timer(hw, 0x40, kUs);
  unsigned cpl_after = 99;
  bool if_after = false;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    if (from_user) {
      c.enter_user_mode();
    } else {
      c.enable_interrupts();
    }
    c.compute(4'000);
    cpl_after = c.cpl();
    if_after = c.interrupts_enabled();
  });
  hw.engine.run();
  CHECK(handler_cpl == 0);
  CHECK_FALSE(handler_if);
  CHECK(seen.vector == 0x40);
  CHECK(seen.cpl == (from_user ? 3 : 0));
  CHECK((seen.rflags & cpu::rflags::kInterruptEnable) != 0);
  CHECK(cpl_after == (from_user ? 3u : 0u));
  CHECK(if_after);
}

TEST_CASE("of several pending interrupts the highest priority vector is taken first") {
  BareMetal hw;
  std::vector<Taken> log;
  record(hw, log, {0x41, 0x52, 0x61});
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    dev::LocalApic& apic = c.apic();
    apic.request(0x41);
    apic.request(0x61);
    apic.request(0x52);
    c.compute(10);
    c.enable_interrupts();
    c.compute(10);
  });
  hw.engine.run();
  CHECK(log == std::vector<Taken>{{0x61, 5'000}, {0x52, 5'000}, {0x41, 5'000}});
}

TEST_CASE("without an EOI a vector of the same priority class is not delivered, a higher class is") {
  BareMetal hw;
  std::vector<std::uint8_t> order;
  hw.idt.set(0x41, [&](cpu::Cpu&, cpu::TrapFrame& f) { order.push_back(f.vector); });  // no EOI
  for (std::uint8_t v : {0x42, 0x51}) {
    hw.idt.set(v, [&](cpu::Cpu& c, cpu::TrapFrame& f) {
      order.push_back(f.vector);
      c.apic().eoi();
    });
  }
  std::vector<std::uint8_t> before_eoi;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enable_interrupts();
    c.apic().request(0x41);
    c.compute(10);  // 0x41 taken; its handler never EOIs
    c.apic().request(0x42);
    c.compute(10);
    c.compute(10);
    c.apic().request(0x51);
    c.compute(10);
    before_eoi = order;
    c.apic().eoi();  // retires 0x41 (0x51's handler retired itself)
    c.compute(10);
  });
  hw.engine.run();
  CHECK(before_eoi == std::vector<std::uint8_t>{0x41, 0x51});
  CHECK(order == std::vector<std::uint8_t>{0x41, 0x51, 0x42});
}

TEST_CASE("an interrupt on a vector with no handler is acknowledged and dropped") {
  BareMetal hw;
  std::vector<Taken> log;
  record(hw, log, {0x40});
  bool finished = false;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enable_interrupts();
    c.apic().request(0x70);
    c.compute(10);
    c.apic().request(0x40);  // lower class: deliverable only if 0x70 was retired
    c.compute(10);
    finished = true;
  });
  hw.engine.run();
  CHECK(finished);
  CHECK(log == std::vector<Taken>{{0x40, 5'000}});
  CHECK(hw.cpu().stats().interrupts == 2);
  CHECK_FALSE(hw.cpu().apic().in_service(0x70));
  CHECK_FALSE(hw.cpu().apic().requested(0x70));
}

TEST_CASE("a device interrupt routed through the I/O APIC arrives at its time, and a masked line's does not") {
  BareMetal hw;
  std::vector<Taken> log;
  record(hw, log, {0x45, 0x46});
  dev::InterruptController& ioapic = hw.machine().interrupts();
  REQUIRE(ioapic.route(5, 0x45, 0));
  REQUIRE(ioapic.unmask(5));
  REQUIRE(ioapic.route(6, 0x46, 0));  // left masked
  bool raised_masked = true;
  sim::CallbackEvent device5([&] { ioapic.raise(5); }, "device5");
  sim::CallbackEvent device6([&] { raised_masked = ioapic.raise(6); }, "device6");
  hw.engine.schedule(device5, 2 * kUs + 100);
  hw.engine.schedule(device6, 3 * kUs);
  hw.run_on(0, [&] {
    hw.cpu().enable_interrupts();
    hw.cpu().compute(20'000);
  });
  hw.engine.run();
  CHECK(log == std::vector<Taken>{{0x45, 2 * kUs + 500}});
  CHECK_FALSE(raised_masked);
  CHECK(ioapic.counters().lost_edges == 1);
  CHECK(hw.cpu().stats().interrupts == 1);
}

TEST_CASE("an IPI from CPU 0 wakes halted CPU 1 after the configured IPI latency") {
  MachineConfig config = test::small_machine(2);
  config.interrupts.ipi_latency = 250 * kNs;
  BareMetal hw(config);
  unsigned handled_on = 99;
  sim::Tick handled_at = 0;
  sim::Tick sent_at = 0;
  sim::Tick woke_at = 0;
  hw.idt.set(0x50, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    handled_on = c.id();
    handled_at = c.now();
    c.apic().eoi();
  });
  cpu::Context& receiver = hw.run_on(1, [&] {
    cpu::Cpu& c = hw.cpu(1);
    c.enable_interrupts();
    c.halt();
    woke_at = c.now();
  });
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu(0);
    c.compute(test::kCyclesPerUs);
    sent_at = c.now();
    hw.machine().interrupts().send_ipi(c.now(), 0, 1, 0x50);
  });
  hw.engine.run();
  CHECK(sent_at == kUs);
  CHECK(handled_on == 1);
  CHECK(handled_at == kUs + 250 * kNs);
  CHECK(woke_at == kUs + 250 * kNs);
  CHECK(receiver.finished());
  CHECK(hw.cpu(1).stats().interrupts == 1);
  CHECK(hw.cpu(0).stats().interrupts == 0);
}

TEST_CASE("a handler that sets IF is interrupted by a higher class, and each IRET restores its own state") {
  BareMetal hw;
  std::vector<std::string> log;
  bool outer_if_after_nested = false;
  hw.idt.set(0x40, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    log.push_back("outer in @" + std::to_string(c.now()));
    c.enable_interrupts();
    c.apic().request(0x41);  // same class as the one in service: must wait
    c.compute(test::kCyclesPerUs * 2);  // the timer (class 5) arrives at 1.5 us
    outer_if_after_nested = c.interrupts_enabled();
    log.push_back("outer out @" + std::to_string(c.now()));
    c.apic().eoi();
  });
  hw.idt.set(0x41, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    log.push_back("0x41 @" + std::to_string(c.now()));
    c.apic().eoi();
  });
  hw.idt.set(0x50, [&](cpu::Cpu& c, cpu::TrapFrame& f) {
    log.push_back("nested @" + std::to_string(c.now()) + (f.cpl == 0 ? " from cpl0" : " from cpl3") +
                  ((f.rflags & cpu::rflags::kInterruptEnable) != 0 ? " with IF" : " without IF"));
    c.apic().eoi();
  });
  arm_timer(hw, 0x50, 1'500 * kNs);
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enter_user_mode();
    c.compute(1'000);  // 0.5 us
    c.apic().request(0x40);
    c.compute(test::kCyclesPerUs * 4);
  });
  hw.engine.run();
  CHECK(log == std::vector<std::string>{"outer in @500000", "nested @1500000 from cpl0 with IF",
                                        "outer out @2500000", "0x41 @2500000"});
  CHECK(outer_if_after_nested);
  CHECK(hw.cpu().cpl() == 3);
  CHECK(hw.cpu().now() == 6'500 * kNs);
}

TEST_CASE("an interrupt below the task priority waits until the TPR is lowered") {
  BareMetal hw;
  std::vector<Taken> log;
  record(hw, log, {0x45});
  std::size_t taken_while_raised = 99;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enable_interrupts();
    c.apic().set_task_priority(0x50);
    c.apic().request(0x45);
    c.compute(1'000);
    taken_while_raised = log.size();
    c.apic().set_task_priority(0);
    c.compute(1'000);
  });
  hw.engine.run();
  CHECK(taken_while_raised == 0);
  CHECK(log == std::vector<Taken>{{0x45, 500 * kNs}});
}

TEST_CASE("a computation takes an interrupt when it arrives, even with a sync quantum") {
  // The quantum lets a CPU run ahead of events between operations; a computation that
  // outlasts the next event lets the engine run meanwhile and is stopped by the interrupt.
  MachineConfig config = test::small_machine();
  config.cpu.sync_quantum = 400 * kNs;
  BareMetal hw(config);
  std::vector<Taken> log;
  record(hw, log, {0x40});
  arm_timer(hw, 0x40, kUs);
  hw.run_on(0, [&] {
    hw.cpu().enable_interrupts();
    hw.cpu().compute(10 * test::kCyclesPerUs);
  });
  hw.engine.run();
  CHECK(log == std::vector<Taken>{{0x40, kUs}});
}
