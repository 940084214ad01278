// Context switches: switch_to between contexts on one CPU, migration to another CPU,
// preemption from an interrupt handler, and the per-context register file and IF.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bare_metal.hpp"

using namespace ossim;
using test::BareMetal;
using test::kUs;

namespace {

struct Step {
  std::string what;
  sim::Tick at;
  bool operator==(const Step&) const = default;
};

}  // namespace

TEST_CASE("two contexts on one CPU ping-pong in switch_to order, on the CPU's continuing clock") {
  BareMetal hw;
  std::vector<Step> log;
  std::vector<unsigned> returned_cpu;
  cpu::Context* a = nullptr;
  cpu::Context* b = nullptr;
  b = &hw.context([&] {
    cpu::Cpu& c = b->cpu();
    log.push_back({"B1", c.now()});
    c.compute(1'000);
    returned_cpu.push_back(c.switch_to(*a).id());
    log.push_back({"B2", b->cpu().now()});
    b->cpu().compute(1'000);
    b->cpu().switch_to(*a);
    log.push_back({"B never", 0});
  }, "B");
  a = &hw.run_on(0, [&] {
    log.push_back({"A1", a->cpu().now()});
    a->cpu().compute(1'000);
    returned_cpu.push_back(a->cpu().switch_to(*b).id());
    log.push_back({"A2", a->cpu().now()});
    a->cpu().compute(1'000);
    returned_cpu.push_back(a->cpu().switch_to(*b).id());
    log.push_back({"A3", a->cpu().now()});
  }, "A");
  hw.engine.run();
  CHECK(log == std::vector<Step>{{"A1", 0}, {"B1", kUs / 2}, {"A2", kUs}, {"B2", 3 * kUs / 2}, {"A3", 2 * kUs}});
  CHECK(returned_cpu == std::vector<unsigned>{0, 0, 0});
  CHECK(hw.cpu().stats().context_switches == 4);
  CHECK(a->finished());
  CHECK_FALSE(b->finished());
  CHECK_FALSE(b->running());
  CHECK(hw.cpu().state() == cpu::CpuState::kOff);
  CHECK(hw.cpu().current() == nullptr);
}

TEST_CASE("a context switched out on CPU 0 and switched to by CPU 1 continues on CPU 1") {
  BareMetal hw(test::small_machine(2));
  unsigned returned_id = 99;
  unsigned cpu_after = 99;
  sim::Tick resumed_at = 0;
  sim::Tick finished_at = 0;
  cpu::Context* a = nullptr;
  cpu::Context& idle0 = hw.context([&] { hw.cpu(0).compute(1'000); }, "idle0");
  a = &hw.run_on(0, [&] {
    a->cpu().compute(test::kCyclesPerUs);
    cpu::Cpu& now_on = a->cpu().switch_to(idle0);
    returned_id = now_on.id();
    cpu_after = a->cpu().id();
    resumed_at = now_on.now();
    now_on.compute(test::kCyclesPerUs);
    finished_at = a->cpu().now();
  }, "A");
  cpu::Context& c1 = hw.run_on(1, [&] {
    hw.cpu(1).compute(3 * test::kCyclesPerUs);  // A was switched out at 1 us
    hw.cpu(1).switch_to(*a);
  }, "C");
  hw.engine.run();
  CHECK(returned_id == 1);
  CHECK(cpu_after == 1);
  CHECK(resumed_at == 3 * kUs);
  CHECK(finished_at == 4 * kUs);
  CHECK(a->finished());
  CHECK(idle0.finished());
  CHECK_FALSE(c1.finished());
  CHECK(hw.cpu(0).state() == cpu::CpuState::kOff);
  CHECK(hw.cpu(1).state() == cpu::CpuState::kOff);
  CHECK(hw.cpu(0).stats().context_switches == 1);
  CHECK(hw.cpu(1).stats().context_switches == 1);
}

TEST_CASE("an interrupt handler can preempt to another context, and IRET later restores the preempted one") {
  BareMetal hw;
  constexpr std::uint8_t kTick = 0xEF;
  dev::LocalTimer& timer = hw.machine().timer(0);
  timer.set_vector(kTick);
  timer.set_masked(false);
  timer.arm_one_shot(2 * kUs);
  std::vector<Step> log;
  cpu::Context* user = nullptr;
  unsigned other_cpl = 99;
  bool other_if = true;
  cpu::Context& other = hw.context([&] {
    cpu::Cpu& c = hw.cpu();
    other_cpl = c.cpl();
    other_if = c.interrupts_enabled();
    log.push_back({"other runs", c.now()});
    c.compute(test::kCyclesPerUs);
    c.switch_to(*user);
  }, "other");
  hw.idt.set(kTick, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    log.push_back({"tick", c.now()});
    c.apic().eoi();
    cpu::Cpu& back = c.switch_to(other);  // preempt
    log.push_back({"back in handler", back.now()});
  });
  unsigned cpl_after = 99;
  bool if_after = false;
  user = &hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enter_user_mode();
    c.compute(10 * test::kCyclesPerUs);
    log.push_back({"user done", c.now()});
    cpl_after = c.cpl();
    if_after = c.interrupts_enabled();
  }, "user");
  hw.engine.run();
  CHECK(log == std::vector<Step>{{"tick", 2 * kUs},
                                 {"other runs", 2 * kUs},
                                 {"back in handler", 3 * kUs},
                                 {"user done", 11 * kUs}});
  CHECK(other_cpl == 0);
  CHECK_FALSE(other_if);  // a fresh context starts with IF clear
  CHECK(cpl_after == 3);
  CHECK(if_after);
  CHECK(user->finished());
  CHECK_FALSE(other.finished());
  CHECK(hw.cpu().stats().context_switches == 2);
}

TEST_CASE("each context has its own register file") {
  BareMetal hw;
  cpu::Context* a = nullptr;
  std::uint64_t b_saw = 1, a_saw_after = 0;
  cpu::Context& b = hw.context([&] {
    cpu::Cpu& c = hw.cpu();
    b_saw = c.registers().rax;
    c.registers().rax = 0xBBBB;
    c.registers().r15 = 0xB15;
    c.switch_to(*a);
  });
  a = &hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.registers().rax = 0xAAAA;
    c.switch_to(b);
    a_saw_after = hw.cpu().registers().rax;
  });
  hw.engine.run();
  CHECK(b_saw == 0);
  CHECK(a_saw_after == 0xAAAA);
  CHECK(a->registers().rax == 0xAAAA);
  CHECK(a->registers().r15 == 0);
  CHECK(b.registers().rax == 0xBBBB);
  CHECK(b.registers().r15 == 0xB15);
}

TEST_CASE("IF belongs to the context: an interrupt pending under a context with IF clear is taken back in one with IF set") {
  BareMetal hw;
  std::vector<std::pair<const cpu::Context*, sim::Tick>> taken;
  hw.idt.set(0x40, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    taken.emplace_back(c.current(), c.now());
    c.apic().eoi();
  });
  cpu::Context* a = nullptr;
  std::size_t taken_in_b = 99;
  cpu::Context& b = hw.context([&] {
    cpu::Cpu& c = hw.cpu();
    c.apic().request(0x40);
    c.compute(1'000);
    c.compute(1'000);
    taken_in_b = taken.size();
    c.switch_to(*a);
  });
  a = &hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enable_interrupts();
    c.compute(1'000);
    c.switch_to(b);
    c.compute(1);
  });
  hw.engine.run();
  CHECK(taken_in_b == 0);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].first == a);
  CHECK(taken[0].second == 3'000 * 500);
}

TEST_CASE("a context preempted on CPU 0 and resumed by CPU 1 returns from its interrupt on CPU 1") {
  BareMetal hw(test::small_machine(2));
  dev::LocalTimer& timer = hw.machine().timer(0);
  timer.set_vector(0xEF);
  timer.set_masked(false);
  timer.arm_one_shot(2 * kUs);
  cpu::Context& idle0 = hw.context([] {}, "idle0");
  unsigned handler_back_on = 99;
  hw.idt.set(0xEF, [&](cpu::Cpu& c, cpu::TrapFrame&) {
    c.apic().eoi();
    handler_back_on = c.switch_to(idle0).id();
  });
  cpu::Context* user = nullptr;
  unsigned done_on = 99, cpl_done = 99;
  bool if_done = false;
  sim::Tick done_at = 0;
  user = &hw.run_on(0, [&] {
    hw.cpu(0).enter_user_mode();
    hw.cpu(0).compute(10 * test::kCyclesPerUs);
    cpu::Cpu& c = user->cpu();
    done_on = c.id();
    cpl_done = c.cpl();
    if_done = c.interrupts_enabled();
    done_at = c.now();
  }, "user");
  hw.run_on(1, [&] {
    hw.cpu(1).compute(5 * test::kCyclesPerUs);
    hw.cpu(1).switch_to(*user);
  }, "thief");
  hw.engine.run();
  CHECK(handler_back_on == 1);
  CHECK(done_on == 1);
  CHECK(cpl_done == 3);  // IRET restored CPL 3 on CPU 1
  CHECK(if_done);
  CHECK(done_at == 13 * kUs);  // 8 us of the compute left, resumed at 5 us
  CHECK(hw.cpu(0).cpl() == 0);
  CHECK(hw.cpu(0).state() == cpu::CpuState::kOff);
  CHECK(hw.cpu(1).state() == cpu::CpuState::kOff);
}

TEST_CASE("a syscall that blocks on CPU 0 and is resumed by CPU 1 returns to the caller on CPU 1") {
  BareMetal hw(test::small_machine(2));
  cpu::Context& idle0 = hw.context([] {}, "idle0");
  hw.idt.set_syscall_entry([&](cpu::Cpu& c) {
    cpu::Cpu& now = c.switch_to(idle0);  // block
    now.registers().rax = 100 + now.id();
  });
  cpu::Context* user = nullptr;
  std::uint64_t result = 0;
  unsigned cpl_after = 99, cpu_after = 99;
  user = &hw.run_on(0, [&] {
    hw.cpu(0).enter_user_mode();
    result = hw.cpu(0).syscall();
    cpu_after = user->cpu().id();
    cpl_after = user->cpu().cpl();
  }, "user");
  hw.run_on(1, [&] {
    hw.cpu(1).compute(1'000);
    hw.cpu(1).switch_to(*user);
  }, "waker");
  hw.engine.run();
  CHECK(result == 101);
  CHECK(cpu_after == 1);
  CHECK(cpl_after == 3);
  CHECK(hw.cpu(0).stats().syscalls == 1);
}
