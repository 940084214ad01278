#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "ossim/dev/local_apic.hpp"

using namespace ossim;
using dev::LocalApic;

namespace {

// Records how often the APIC signalled the CPU.
class CountingTarget final : public dev::InterruptTarget {
 public:
  void interrupt_requested() override { ++notifications; }
  int notifications = 0;
};

}  // namespace

TEST_CASE("a higher priority class preempts a handler while the same or a lower class waits for EOI") {
  LocalApic apic(0);
  apic.request(0x55);
  REQUIRE(apic.acknowledge() == 0x55);

  apic.request(0x52);  // same class 5
  apic.request(0x41);  // lower class 4
  CHECK_FALSE(apic.has_deliverable());
  CHECK(apic.acknowledge() == dev::kSpuriousInterrupt);

  apic.request(0x60);  // class 6 preempts
  REQUIRE(apic.has_deliverable());
  REQUIRE(apic.acknowledge() == 0x60);
  CHECK(apic.in_service(0x60));
  CHECK(apic.in_service(0x55));
  CHECK(apic.processor_priority() == 0x60);

  apic.eoi();  // retires 0x60; 0x55 still in service, so class 5 still waits
  CHECK_FALSE(apic.in_service(0x60));
  CHECK_FALSE(apic.has_deliverable());

  apic.eoi();  // retires 0x55
  REQUIRE(apic.acknowledge() == 0x52);
  apic.eoi();
  REQUIRE(apic.acknowledge() == 0x41);
  apic.eoi();
  CHECK(apic.acknowledge() == dev::kSpuriousInterrupt);
  CHECK(apic.counters().acknowledged == 4);
  CHECK(apic.counters().eois == 4);
}

TEST_CASE("the highest pending vector is acknowledged first, across all 256 vectors") {
  LocalApic apic(0);
  for (int v : {0x21, 0xF0, 0x80, 0x7F, 0xFF, 0x10, 0x40}) apic.request(static_cast<std::uint8_t>(v));
  std::vector<int> order;
  for (int vector = apic.acknowledge(); vector != dev::kSpuriousInterrupt; vector = apic.acknowledge()) {
    order.push_back(vector);
    apic.eoi();
  }
  CHECK(order == std::vector<int>{0xFF, 0xF0, 0x80, 0x7F, 0x40, 0x21, 0x10});
}

TEST_CASE("the task priority blocks vectors at or below its class until it is lowered") {
  LocalApic apic(0);
  CountingTarget cpu;
  apic.connect(cpu);
  apic.set_task_priority(0x50);

  apic.request(0x5F);
  apic.request(0x31);
  CHECK_FALSE(apic.has_deliverable());
  CHECK(cpu.notifications == 0);
  CHECK(apic.acknowledge() == dev::kSpuriousInterrupt);

  apic.request(0x61);
  CHECK(cpu.notifications == 1);
  REQUIRE(apic.acknowledge() == 0x61);
  apic.eoi();

  apic.set_task_priority(0x30);  // unblocks 0x5F but not 0x31
  CHECK(cpu.notifications == 2);
  REQUIRE(apic.acknowledge() == 0x5F);
  apic.eoi();
  CHECK_FALSE(apic.has_deliverable());
  CHECK(apic.requested(0x31));
}

TEST_CASE("the processor priority is the higher of the task priority and the class in service") {
  LocalApic apic(0);
  apic.request(0x45);
  REQUIRE(apic.acknowledge() == 0x45);
  CHECK(apic.processor_priority() == 0x40);
  apic.set_task_priority(0x4B);  // same class: the SDM takes the TPR, sub-class bits too
  CHECK(apic.processor_priority() == 0x4B);

  apic.set_task_priority(0x83);  // above the class in service: PPR takes the whole TPR
  CHECK(apic.processor_priority() == 0x83);
  apic.request(0x6A);  // above the handler's class, but not above the TPR
  CHECK_FALSE(apic.has_deliverable());
  apic.request(0x91);
  CHECK(apic.acknowledge() == 0x91);
  CHECK(apic.processor_priority() == 0x90);

  apic.eoi();
  apic.set_task_priority(0x20);  // below the class in service: PPR is that class
  CHECK(apic.processor_priority() == 0x40);
  CHECK(apic.acknowledge() == 0x6A);
}

TEST_CASE("a repeated request for a pending vector merges into one interrupt") {
  LocalApic apic(0);
  apic.request(0x40);
  apic.request(0x40);
  apic.request(0x40);
  CHECK(apic.counters().requests == 3);
  CHECK(apic.counters().merged == 2);
  REQUIRE(apic.acknowledge() == 0x40);
  apic.eoi();
  CHECK(apic.acknowledge() == dev::kSpuriousInterrupt);
}

TEST_CASE("a vector requested while it is in service is taken again after EOI") {
  LocalApic apic(0);
  apic.request(0x40);
  REQUIRE(apic.acknowledge() == 0x40);
  apic.request(0x40);  // IRR and ISR both hold it; not merged
  CHECK(apic.counters().merged == 0);
  CHECK(apic.requested(0x40));
  CHECK(apic.in_service(0x40));
  CHECK_FALSE(apic.has_deliverable());
  apic.eoi();
  CHECK(apic.acknowledge() == 0x40);
}

TEST_CASE("acknowledge returns spurious when nothing is deliverable") {
  LocalApic apic(0);
  CHECK(apic.acknowledge() == dev::kSpuriousInterrupt);
  CHECK(apic.counters().spurious == 1);
  CHECK(apic.counters().acknowledged == 0);
}

TEST_CASE("EOI notifies the CPU again when a waiting vector becomes deliverable") {
  LocalApic apic(0);
  CountingTarget cpu;
  apic.connect(cpu);
  apic.request(0x80);
  CHECK(cpu.notifications == 1);
  REQUIRE(apic.acknowledge() == 0x80);
  apic.request(0x70);  // waits behind the handler in service
  CHECK(cpu.notifications == 1);
  apic.eoi();
  CHECK(cpu.notifications == 2);
  REQUIRE(apic.acknowledge() == 0x70);
  apic.eoi();
  CHECK(cpu.notifications == 2);  // nothing was left to deliver
}

TEST_CASE("an EOI with nothing in service is ignored and counted") {
  LocalApic apic(0);
  apic.eoi();
  CHECK(apic.counters().stray_eois == 1);
  CHECK(apic.counters().eois == 0);
}

TEST_CASE("vectors below 16 are counted as illegal and ignored") {
  LocalApic apic(0);
  CountingTarget cpu;
  apic.connect(cpu);
  apic.request(0x0F);
  apic.request(0);
  CHECK(apic.counters().illegal_vectors == 2);
  CHECK(apic.counters().requests == 0);
  CHECK_FALSE(apic.requested(0x0F));
  CHECK(cpu.notifications == 0);
  CHECK(apic.acknowledge() == dev::kSpuriousInterrupt);
}

TEST_CASE("the level EOI listener hears only EOIs of level-triggered vectors") {
  LocalApic apic(3);
  CHECK(apic.id() == 3);
  std::vector<int> level_eois;
  apic.set_level_eoi_listener([&](std::uint8_t vector) { level_eois.push_back(vector); });
  apic.request(0x30, dev::Trigger::kEdge);
  apic.request(0x90, dev::Trigger::kLevel);
  CHECK(apic.level_triggered(0x90));
  CHECK_FALSE(apic.level_triggered(0x30));
  REQUIRE(apic.acknowledge() == 0x90);
  apic.eoi();
  REQUIRE(apic.acknowledge() == 0x30);
  apic.eoi();
  CHECK(level_eois == std::vector<int>{0x90});
}
