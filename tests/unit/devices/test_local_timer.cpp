#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <vector>

#include "ossim/dev/local_apic.hpp"
#include "ossim/dev/local_timer.hpp"
#include "ossim/sim/engine.hpp"

using namespace ossim;
using dev::LocalApic;
using dev::LocalTimer;
using dev::TimerMode;

namespace {

// Takes and retires every interrupt at once, recording when each arrived; an optional
// hook runs as the "handler".
class EagerCpu final : public dev::InterruptTarget {
 public:
  EagerCpu(sim::Engine& engine, LocalApic& apic) : engine_(engine), apic_(apic) {
    apic_.connect(*this);
  }
  void interrupt_requested() override {
    while (apic_.acknowledge() != dev::kSpuriousInterrupt) {
      times.push_back(engine_.now());
      if (handler) handler();
      apic_.eoi();
    }
  }
  std::vector<sim::Tick> times;
  std::function<void()> handler;

 private:
  sim::Engine& engine_;
  LocalApic& apic_;
};

constexpr sim::Tick kNs = sim::kNanosecond;

void enable(LocalTimer& timer) {
  timer.set_vector(0xEF);
  timer.set_masked(false);
}

}  // namespace

TEST_CASE("a timer starts disarmed and masked") {
  sim::Engine engine;
  LocalApic apic(0);
  LocalTimer timer(engine, apic);
  CHECK_FALSE(timer.armed());
  CHECK(timer.mode() == TimerMode::kDisarmed);
  CHECK(timer.next_expiry() == sim::kTickNever);
  CHECK(timer.masked());
}

TEST_CASE("a one-shot timer fires once at exactly its deadline") {
  sim::Engine engine;
  LocalApic apic(0);
  EagerCpu cpu(engine, apic);
  LocalTimer timer(engine, apic);
  enable(timer);
  timer.arm_one_shot(1234567);
  CHECK(timer.mode() == TimerMode::kOneShot);
  CHECK(timer.next_expiry() == 1234567);
  engine.run();
  CHECK(cpu.times == std::vector<sim::Tick>{1234567});
  CHECK(timer.expirations() == 1);
  CHECK_FALSE(timer.armed());
  CHECK(timer.next_expiry() == sim::kTickNever);
  CHECK(apic.counters().acknowledged == 1);
}

TEST_CASE("a periodic timer fires at exact multiples of its period without drift") {
  sim::Engine engine;
  LocalApic apic(0);
  EagerCpu cpu(engine, apic);
  LocalTimer timer(engine, apic);
  enable(timer);
  const sim::Tick first = 777;
  const sim::Tick period = 333'333;  // not a round number of anything
  REQUIRE(timer.arm_periodic(first, period));
  engine.run_until(first + 999 * period);
  REQUIRE(cpu.times.size() == 1000);
  for (std::size_t k = 0; k < cpu.times.size(); ++k) {
    REQUIRE(cpu.times[k] == first + k * period);
  }
  CHECK(timer.expirations() == 1000);
  CHECK(timer.next_expiry() == first + 1000 * period);
  CHECK(timer.period() == period);
}

TEST_CASE("a periodic timer with period zero is rejected and leaves the timer as it was") {
  sim::Engine engine;
  LocalApic apic(0);
  LocalTimer timer(engine, apic);
  timer.arm_one_shot(50 * kNs);
  CHECK_FALSE(timer.arm_periodic(10 * kNs, 0));
  CHECK(timer.mode() == TimerMode::kOneShot);
  CHECK(timer.next_expiry() == 50 * kNs);
}

TEST_CASE("re-arming a timer replaces its previous programming") {
  sim::Engine engine;
  LocalApic apic(0);
  EagerCpu cpu(engine, apic);
  LocalTimer timer(engine, apic);
  enable(timer);
  timer.arm_periodic(100 * kNs, 100 * kNs);
  timer.arm_one_shot(450 * kNs);
  CHECK(timer.mode() == TimerMode::kOneShot);
  engine.run();
  CHECK(cpu.times == std::vector<sim::Tick>{450 * kNs});

  timer.arm_one_shot(1000 * kNs);
  timer.arm_one_shot(800 * kNs);
  engine.run();
  CHECK(cpu.times == std::vector<sim::Tick>{450 * kNs, 800 * kNs});
  CHECK(engine.pending_events() == 0);
}

TEST_CASE("disarming a timer cancels its pending expiry") {
  sim::Engine engine;
  LocalApic apic(0);
  EagerCpu cpu(engine, apic);
  LocalTimer timer(engine, apic);
  enable(timer);
  timer.arm_periodic(10 * kNs, 10 * kNs);
  engine.run_until(35 * kNs);
  CHECK(cpu.times.size() == 3);
  timer.disarm();
  CHECK_FALSE(timer.armed());
  engine.run();
  CHECK(cpu.times.size() == 3);
  CHECK(timer.expirations() == 3);
}

TEST_CASE("a masked timer counts its expiries but requests no interrupt") {
  sim::Engine engine;
  LocalApic apic(0);
  EagerCpu cpu(engine, apic);
  LocalTimer timer(engine, apic);
  timer.set_vector(0xEF);
  timer.set_masked(true);
  timer.arm_periodic(10 * kNs, 10 * kNs);
  engine.run_until(50 * kNs);
  CHECK(timer.expirations() == 5);
  CHECK(timer.interrupts_requested() == 0);
  CHECK(cpu.times.empty());
  CHECK(apic.counters().requests == 0);

  timer.set_masked(false);
  engine.run_until(60 * kNs);
  CHECK(cpu.times == std::vector<sim::Tick>{60 * kNs});
  CHECK(timer.interrupts_requested() == 1);
}

TEST_CASE("a tickless handler that re-arms from the interrupt gets each new deadline") {
  sim::Engine engine;
  LocalApic apic(0);
  EagerCpu cpu(engine, apic);
  LocalTimer timer(engine, apic);
  enable(timer);
  const std::vector<sim::Tick> gaps{5 * kNs, 17 * kNs, 1 * kNs, 40 * kNs};
  std::size_t next = 1;
  cpu.handler = [&] {
    if (next < gaps.size()) timer.arm_one_shot(engine.now() + gaps[next++]);
  };
  timer.arm_one_shot(gaps[0]);
  engine.run();
  CHECK(cpu.times == std::vector<sim::Tick>{5 * kNs, 22 * kNs, 23 * kNs, 63 * kNs});
  CHECK_FALSE(timer.armed());
}

TEST_CASE("a periodic handler that disarms from the interrupt stops the timer") {
  sim::Engine engine;
  LocalApic apic(0);
  EagerCpu cpu(engine, apic);
  LocalTimer timer(engine, apic);
  enable(timer);
  cpu.handler = [&] {
    if (cpu.times.size() == 2) timer.disarm();
  };
  timer.arm_periodic(10 * kNs, 10 * kNs);
  engine.run();
  CHECK(cpu.times == std::vector<sim::Tick>{10 * kNs, 20 * kNs});
}
