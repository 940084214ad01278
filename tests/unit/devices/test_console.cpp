#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ossim/dev/console.hpp"
#include "ossim/dev/interrupt_controller.hpp"
#include "ossim/sim/engine.hpp"

using namespace ossim;
using dev::Console;
using dev::InterruptController;

namespace {

// A console driver: on each interrupt it reads everything available and records
// (time, vector, bytes read).
class ConsoleDriverCpu final : public dev::InterruptTarget {
 public:
  struct Read {
    sim::Tick when;
    int vector;
    std::string bytes;
    bool operator==(const Read&) const = default;
  };

  ConsoleDriverCpu(sim::Engine& engine, dev::LocalApic& apic, Console& console)
      : engine_(engine), apic_(apic), console_(console) {
    apic_.connect(*this);
  }

  void interrupt_requested() override {
    for (int vector = apic_.acknowledge(); vector != dev::kSpuriousInterrupt;
         vector = apic_.acknowledge()) {
      std::string bytes(console_.input_available(), '\0');
      bytes.resize(console_.read_input(bytes.data(), bytes.size()));
      reads.push_back({engine_.now(), vector, bytes});
      apic_.eoi();
    }
  }

  std::vector<Read> reads;

 private:
  sim::Engine& engine_;
  dev::LocalApic& apic_;
  Console& console_;
};

constexpr sim::Tick kUs = sim::kMicrosecond;
constexpr unsigned kConsoleIrq = 4;

}  // namespace

TEST_CASE("console output is captured per instance, so two simulations do not interfere") {
  sim::Engine engine_a;
  sim::Engine engine_b;
  InterruptController apics_a(engine_a, 1);
  InterruptController apics_b(engine_b, 1);
  Console a(engine_a, apics_a, kConsoleIrq);
  Console b(engine_b, apics_b, kConsoleIrq);
  a.write("hello ");
  b.write("other");
  a.write("world\n");
  CHECK(a.output() == "hello world\n");
  CHECK(b.output() == "other");
  CHECK(a.bytes_written() == 12);
  a.clear_output();
  CHECK(a.output().empty());
  CHECK(b.output() == "other");
}

TEST_CASE("the output listener sees every write as it happens") {
  sim::Engine engine;
  InterruptController apics(engine, 1);
  Console console(engine, apics, kConsoleIrq);
  std::vector<std::string> echoed;
  console.set_output_listener([&](std::string_view bytes) { echoed.emplace_back(bytes); });
  console.write("ab");
  console.write("c");
  CHECK(echoed == std::vector<std::string>{"ab", "c"});
  CHECK(console.output() == "abc");
}

TEST_CASE("injected input arrives exactly at its time, in time then call order") {
  sim::Engine engine;
  InterruptController apics(engine, 1);
  Console console(engine, apics, kConsoleIrq);
  console.inject_input(30 * kUs, "C");
  console.inject_input(10 * kUs, "A1");
  console.inject_input(20 * kUs, "B");
  console.inject_input(10 * kUs, "A2");
  CHECK(console.pending_injections() == 4);

  engine.run_until(10 * kUs - 1);
  CHECK(console.input_available() == 0);
  engine.run_until(10 * kUs);
  CHECK(console.input_available() == 4);
  engine.run_until(20 * kUs - 1);
  CHECK(console.input_available() == 4);
  engine.run();
  CHECK(engine.now() == 30 * kUs);

  std::string all(16, '\0');
  all.resize(console.read_input(all.data(), all.size()));
  CHECK(all == "A1A2BC");
  CHECK(console.input_available() == 0);
}

TEST_CASE("input arrival raises the console's IRQ at the routed vector and CPU") {
  sim::Engine engine;
  InterruptController apics(engine, 2);
  Console console(engine, apics, kConsoleIrq);
  ConsoleDriverCpu cpu1(engine, apics.local_apic(1), console);
  REQUIRE(apics.route(kConsoleIrq, 0x24, 1));
  apics.unmask(kConsoleIrq);

  console.inject_input(5 * kUs, "ls\n");
  console.inject_input(5 * kUs, "pwd\n");
  console.inject_input(9 * kUs, "q");
  engine.run();
  CHECK(cpu1.reads == std::vector<ConsoleDriverCpu::Read>{{5 * kUs, 0x24, "ls\npwd\n"},
                                                          {9 * kUs, 0x24, "q"}});
  CHECK(console.interrupts_raised() == 2);
  CHECK(apics.local_apic(0).counters().requests == 0);
}

TEST_CASE("input arriving on a masked console line stays buffered but raises nothing") {
  sim::Engine engine;
  InterruptController apics(engine, 1);
  Console console(engine, apics, kConsoleIrq);
  apics.route(kConsoleIrq, 0x24, 0);
  console.inject_input(1 * kUs, "x");
  engine.run();
  CHECK(console.input_available() == 1);
  CHECK_FALSE(apics.local_apic(0).requested(0x24));
  CHECK(apics.counters().lost_edges == 1);
}

TEST_CASE("read_input consumes at most the requested number of bytes") {
  sim::Engine engine;
  InterruptController apics(engine, 1);
  Console console(engine, apics, kConsoleIrq);
  console.inject_input(0, "abcdef");
  console.inject_input(0, "");  // ignored
  engine.run();
  char buffer[4] = {};
  REQUIRE(console.read_input(buffer, 4) == 4);
  CHECK(std::string(buffer, 4) == "abcd");
  CHECK(console.input_available() == 2);
  REQUIRE(console.read_input(buffer, 4) == 2);
  CHECK(std::string(buffer, 2) == "ef");
  CHECK(console.read_input(buffer, 4) == 0);
  CHECK(console.bytes_read() == 6);
}

TEST_CASE("input injected for a past time arrives now, after input already due now") {
  sim::Engine engine;
  InterruptController apics(engine, 1);
  Console console(engine, apics, kConsoleIrq);
  sim::CallbackEvent at_50([&] {
    console.inject_input(50 * kUs, "now ");
    console.inject_input(10 * kUs, "late");  // in the past: clamped to 50 us
  });
  engine.schedule(at_50, 50 * kUs);
  engine.run();
  std::string all(16, '\0');
  all.resize(console.read_input(all.data(), all.size()));
  CHECK(all == "now late");
  CHECK(engine.now() == 50 * kUs);
}
