#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "ossim/dev/interrupt_controller.hpp"
#include "ossim/sim/engine.hpp"

using namespace ossim;
using dev::InterruptController;
using dev::Trigger;

namespace {

// A CPU that takes every interrupt as soon as it is signalled and records (time, vector);
// with `auto_eoi` it also retires it at once.
class EagerCpu final : public dev::InterruptTarget {
 public:
  struct Taken {
    sim::Tick when;
    int vector;
    bool operator==(const Taken&) const = default;
  };

  EagerCpu(sim::Engine& engine, dev::LocalApic& apic, bool auto_eoi)
      : engine_(engine), apic_(apic), auto_eoi_(auto_eoi) {
    apic_.connect(*this);
  }

  void interrupt_requested() override {
    for (int vector = apic_.acknowledge(); vector != dev::kSpuriousInterrupt;
         vector = apic_.acknowledge()) {
      taken.push_back({engine_.now(), vector});
      if (auto_eoi_) apic_.eoi();
    }
  }

  std::vector<Taken> taken;

 private:
  sim::Engine& engine_;
  dev::LocalApic& apic_;
  bool auto_eoi_;
};

constexpr sim::Tick kNs = sim::kNanosecond;

}  // namespace

TEST_CASE("an edge on a masked line is lost, also after the line is unmasked") {
  sim::Engine engine;
  InterruptController ioapic(engine, 1);
  REQUIRE(ioapic.route(4, 0x34, 0, Trigger::kEdge));
  CHECK(ioapic.is_masked(4));  // lines start masked

  CHECK_FALSE(ioapic.raise(4));
  CHECK(ioapic.counters().lost_edges == 1);
  ioapic.unmask(4);
  CHECK_FALSE(ioapic.local_apic(0).requested(0x34));

  CHECK(ioapic.raise(4));
  CHECK(ioapic.local_apic(0).requested(0x34));
}

TEST_CASE("a routed line reaches the chosen CPU at the chosen vector") {
  sim::Engine engine;
  InterruptController ioapic(engine, 4);
  EagerCpu cpu1(engine, ioapic.local_apic(1), true);
  EagerCpu cpu2(engine, ioapic.local_apic(2), true);
  REQUIRE(ioapic.route(1, 0x41, 2));
  REQUIRE(ioapic.route(12, 0x4C, 1));
  ioapic.unmask(1);
  ioapic.unmask(12);

  ioapic.raise(1);
  ioapic.raise(12);
  CHECK(cpu2.taken == std::vector<EagerCpu::Taken>{{0, 0x41}});
  CHECK(cpu1.taken == std::vector<EagerCpu::Taken>{{0, 0x4C}});
  CHECK(ioapic.local_apic(0).counters().requests == 0);
  CHECK(ioapic.local_apic(3).counters().requests == 0);

  REQUIRE(ioapic.route(1, 0x51, 1));  // re-routing keeps the line unmasked
  ioapic.raise(1);
  CHECK(cpu1.taken.back() == EagerCpu::Taken{0, 0x51});
  CHECK(cpu2.taken.size() == 1);
}

TEST_CASE("a level line asserted while masked is delivered when unmasked") {
  sim::Engine engine;
  InterruptController ioapic(engine, 1);
  REQUIRE(ioapic.route(9, 0x39, 0, Trigger::kLevel));
  ioapic.set_line(9, true);
  CHECK_FALSE(ioapic.local_apic(0).requested(0x39));
  ioapic.unmask(9);
  CHECK(ioapic.local_apic(0).requested(0x39));
  CHECK(ioapic.local_apic(0).level_triggered(0x39));
  CHECK(ioapic.remote_irr(9));
}

TEST_CASE("a level line is delivered again after EOI while still asserted, and not before") {
  sim::Engine engine;
  InterruptController ioapic(engine, 1);
  dev::LocalApic& apic = ioapic.local_apic(0);
  ioapic.route(5, 0x35, 0, Trigger::kLevel);
  ioapic.unmask(5);

  ioapic.set_line(5, true);
  REQUIRE(apic.acknowledge() == 0x35);
  ioapic.set_line(5, true);  // still asserted: remote-IRR holds it back
  CHECK_FALSE(apic.requested(0x35));
  CHECK(ioapic.counters().irq_messages == 1);

  apic.eoi();  // clears remote-IRR; the line is still asserted
  CHECK(apic.requested(0x35));
  CHECK(ioapic.remote_irr(5));
  CHECK(ioapic.counters().irq_messages == 2);

  REQUIRE(apic.acknowledge() == 0x35);
  ioapic.set_line(5, false);  // the driver quietened the device before its EOI
  apic.eoi();
  CHECK_FALSE(apic.requested(0x35));
  CHECK_FALSE(ioapic.remote_irr(5));
  CHECK(ioapic.counters().irq_messages == 2);
}

TEST_CASE("an EOI for an edge vector does not clear a level line's remote-IRR") {
  sim::Engine engine;
  InterruptController ioapic(engine, 1);
  dev::LocalApic& apic = ioapic.local_apic(0);
  ioapic.route(5, 0x35, 0, Trigger::kLevel);
  ioapic.route(6, 0x66, 0, Trigger::kEdge);
  ioapic.unmask(5);
  ioapic.unmask(6);
  ioapic.set_line(5, true);
  REQUIRE(apic.acknowledge() == 0x35);
  ioapic.raise(6);
  REQUIRE(apic.acknowledge() == 0x66);
  apic.eoi();  // retires 0x66
  CHECK(ioapic.remote_irr(5));
  CHECK_FALSE(apic.requested(0x35));
}

TEST_CASE("with irq latency the vector reaches the APIC exactly after the delay, in order") {
  sim::Engine engine;
  InterruptController ioapic(engine, 1, {.irq_latency = 250 * kNs});
  EagerCpu cpu(engine, ioapic.local_apic(0), true);
  ioapic.route(1, 0x31, 0);
  ioapic.route(2, 0x32, 0);
  ioapic.unmask(1);
  ioapic.unmask(2);

  sim::CallbackEvent later([&] { ioapic.raise(1); });
  engine.schedule(later, 100 * kNs);
  ioapic.raise(2);
  ioapic.raise(1);  // same arrival time as the 0x32 edge, sent after it
  CHECK(ioapic.in_flight() == 2);
  CHECK(cpu.taken.empty());

  engine.run_until(250 * kNs - 1);
  CHECK(cpu.taken.empty());
  engine.run();
  CHECK(cpu.taken ==
        std::vector<EagerCpu::Taken>{{250 * kNs, 0x32}, {250 * kNs, 0x31}, {350 * kNs, 0x31}});
  CHECK(ioapic.in_flight() == 0);
}

TEST_CASE("an IPI arrives at the target CPU after the configured latency") {
  sim::Engine engine;
  InterruptController apics(engine, 3, {.ipi_latency = 120 * kNs});
  EagerCpu cpu0(engine, apics.local_apic(0), true);
  EagerCpu cpu2(engine, apics.local_apic(2), true);
  sim::CallbackEvent send([&] { REQUIRE(apics.send_ipi(engine.now(), 0, 2, 0xF1)); });
  engine.schedule(send, 1000 * kNs);
  engine.run();
  CHECK(cpu2.taken == std::vector<EagerCpu::Taken>{{1120 * kNs, 0xF1}});
  CHECK(cpu0.taken.empty());
  CHECK(apics.counters().ipis_sent == 1);
}

TEST_CASE("an IPI from a CPU whose clock runs ahead arrives latency after its send time") {
  sim::Engine engine;
  InterruptController apics(engine, 2, {.ipi_latency = 100 * kNs});
  EagerCpu cpu1(engine, apics.local_apic(1), true);
  REQUIRE(apics.send_ipi(500 * kNs, 0, 1, 0xE0));  // sender is at 500 ns, engine at 0
  REQUIRE(apics.send_ipi(0, 0, 1, 0xE1));          // sent "now"
  engine.run();
  CHECK(cpu1.taken == std::vector<EagerCpu::Taken>{{100 * kNs, 0xE1}, {600 * kNs, 0xE0}});

  // A send time in the engine's past is clamped to now.
  sim::CallbackEvent late([&] { apics.send_ipi(10 * kNs, 0, 1, 0xE2); });
  engine.schedule(late, 1000 * kNs);
  engine.run();
  CHECK(cpu1.taken.back() == EagerCpu::Taken{1100 * kNs, 0xE2});
}

TEST_CASE("a broadcast IPI reaches every CPU, including the sender only when asked") {
  sim::Engine engine;
  InterruptController apics(engine, 4, {.ipi_latency = 50 * kNs});
  std::vector<std::unique_ptr<EagerCpu>> cpus;
  for (unsigned i = 0; i < 4; ++i) {
    cpus.push_back(std::make_unique<EagerCpu>(engine, apics.local_apic(i), true));
  }
  CHECK(apics.broadcast_ipi(0, 1, 0xFD, false) == 3);
  engine.run();
  CHECK(cpus[1]->taken.empty());
  for (unsigned i : {0u, 2u, 3u}) {
    CHECK(cpus[i]->taken == std::vector<EagerCpu::Taken>{{50 * kNs, 0xFD}});
  }

  CHECK(apics.broadcast_ipi(engine.now(), 1, 0xFC, true) == 4);
  engine.run();
  for (unsigned i = 0; i < 4; ++i) {
    CHECK(cpus[i]->taken.back() == EagerCpu::Taken{100 * kNs, 0xFC});
  }
  CHECK(apics.counters().ipis_sent == 7);
}

TEST_CASE("out-of-range lines, CPUs and vectors are rejected without effect") {
  sim::Engine engine;
  InterruptController apics(engine, 2, {.irq_lines = 8});
  CHECK(apics.irq_lines() == 8);
  CHECK_FALSE(apics.route(8, 0x40, 0));
  CHECK_FALSE(apics.route(0, 0x40, 2));
  CHECK_FALSE(apics.route(0, 0x0E, 0));
  CHECK_FALSE(apics.mask(8));
  CHECK_FALSE(apics.unmask(99));
  CHECK(apics.is_masked(99));
  CHECK_FALSE(apics.raise(8));
  CHECK_FALSE(apics.set_line(8, true));
  CHECK_FALSE(apics.send_ipi(0, 0, 2, 0x40));
  CHECK_FALSE(apics.send_ipi(0, 5, 1, 0x40));
  CHECK_FALSE(apics.send_ipi(0, 0, 1, 0x02));
  CHECK(apics.broadcast_ipi(0, 2, 0x40, true) == 0);
  CHECK(apics.counters().rejected == 11);
  CHECK(apics.counters().ipis_sent == 0);
  CHECK(apics.in_flight() == 0);
  CHECK_THROWS_AS(apics.local_apic(2), std::out_of_range);
}
