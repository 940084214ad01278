// A CPU that runs ahead of the engine and reaches pending events: under run() it fires
// the events any context may run on its own fiber (Engine::fire_due_before), and the
// simulation must be exactly the one that step() gives, where every event is fired by
// the host and the CPU yields to it each time.

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bare_metal.hpp"

using namespace ossim;
using test::BareMetal;
using test::kNs;
using test::kUs;

namespace {

/// What happened, in order: event firings with the engine's time, and the clock each CPU
/// read between its operations.
struct Log {
  std::vector<std::string> lines;
  void add(const std::string& what, sim::Tick at) { lines.push_back(what + "@" + std::to_string(at)); }
};

/// Two CPUs that advance by kernel-style stalls of different lengths, and timers at
/// times the CPUs pass, land on exactly, or fall between. Each timer schedules a
/// follow-up event, some at its own time (a tie with a later sequence), one at the very
/// time a CPU has run ahead to (it must come after that CPU's resumption there).
struct Rig {
  struct Timer {
    sim::Tick at;
    sim::Tick follow_up_after;
  };
  Rig(Log& log, unsigned cpus) : hw(test::small_machine(cpus)) {
    const std::vector<Timer> plan = {{250 * kNs, 0},      {300 * kNs, 0},       {400 * kNs, 100 * kNs + 500},
                                     {1 * kUs, 0},        {1 * kUs, 0},         {1'100 * kNs, 0},
                                     {2'999 * kNs, 1 * kNs}, {3 * kUs, 0}};
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const std::string name = "timer" + std::to_string(i);
      follow_ups.push_back(std::make_unique<sim::CallbackEvent>(
          [this, &log, name] { log.add(name + ".follow_up", hw.engine.now()); }, "follow_up"));
      sim::CallbackEvent& follow_up = *follow_ups.back();
      const sim::Tick after = plan[i].follow_up_after;
      timers.push_back(std::make_unique<sim::CallbackEvent>(
          [this, &log, name, &follow_up, after] {
            // A handler runs as if on the host, whoever fires it.
            const bool as_on_host = hw.engine.fibers().on_host() || hw.engine.firing_on_fiber();
            log.add(as_on_host ? name : name + " (on a CPU!)", hw.engine.now());
            hw.engine.schedule(follow_up, hw.engine.now() + after);
          },
          "timer"));
      hw.engine.schedule(*timers.back(), plan[i].at);
    }
    const auto body = [this, &log](unsigned index, sim::Tick step) {
      return [this, &log, index, step] {
        for (int i = 0; i < 20; ++i) {
          hw.machine().cpu(index).stall(step);
          // A boundary that takes no time: the clock read right after the sync.
          hw.machine().cpu(index).compute(0);
          log.add("cpu" + std::to_string(index), hw.machine().cpu(index).now());
          hw.machine().cpu(index).compute(1);
        }
      };
    };
    hw.run_on(0, body(0, 250 * kNs));
    if (cpus > 1) hw.run_on(1, body(1, 333 * kNs));
  }
  std::uint64_t syncs() {
    std::uint64_t total = 0;
    for (unsigned i = 0; i < hw.machine().cpu_count(); ++i) total += hw.cpu(i).stats().engine_syncs;
    return total;
  }

  std::vector<std::unique_ptr<sim::CallbackEvent>> timers;
  std::vector<std::unique_ptr<sim::CallbackEvent>> follow_ups;
  BareMetal hw;
};

}  // namespace

TEST_CASE("a CPU firing the events it runs past gives the same simulation as the host firing them") {
  const unsigned cpus = GENERATE(1u, 2u);
  Log stepped;
  Rig by_host(stepped, cpus);
  while (by_host.hw.engine.step()) {
  }
  Log ran;
  Rig inline_firing(ran, cpus);
  inline_firing.hw.engine.run();
  CHECK(ran.lines == stepped.lines);
  CHECK(ran.lines.size() == 20 * cpus + 2 * 8);
  // The timers were fired by the CPUs: fewer hand-overs to the host.
  CHECK(inline_firing.syncs() < by_host.syncs());
}

TEST_CASE("CPUs overtaking each other hand control straight to each other's fiber") {
  // No timers: only the CPUs' run events. Under run() a CPU that must wait for the other
  // switches to the other's fiber itself, instead of through the host.
  const auto fiber_switches = [](bool stepped, Log& log) {
    BareMetal hw(test::small_machine(2));
    const auto body = [&](unsigned index, sim::Tick step) {
      return [&hw, &log, index, step] {
        for (int i = 0; i < 10; ++i) {
          hw.machine().cpu(index).stall(step);
          hw.machine().cpu(index).compute(1);
          log.add("cpu" + std::to_string(index), hw.machine().cpu(index).now());
        }
      };
    };
    hw.run_on(0, body(0, 250 * kNs));
    hw.run_on(1, body(1, 333 * kNs));
    if (stepped) {
      while (hw.engine.step()) {
      }
    } else {
      hw.engine.run();
    }
    // Each context ended on its CPU, whichever fiber regained control then.
    CHECK(hw.cpu(0).state() == cpu::CpuState::kOff);
    CHECK(hw.cpu(1).state() == cpu::CpuState::kOff);
    CHECK(hw.cpu(0).current() == nullptr);
    CHECK(hw.cpu(1).current() == nullptr);
    return hw.engine.fibers().switches();
  };
  Log stepped;
  const std::uint64_t through_host = fiber_switches(true, stepped);
  Log ran;
  const std::uint64_t direct = fiber_switches(false, ran);
  CHECK(ran.lines == stepped.lines);
  CHECK(ran.lines.size() == 20);
  // Through the host every resumption costs two switches; handed over directly, one.
  CHECK(direct * 3 < through_host * 2);
}

TEST_CASE("an event that stops the engine ends run() before the CPU's next operation") {
  BareMetal hw;
  std::vector<sim::Tick> cpu_times;
  sim::CallbackEvent stopper([&] { hw.engine.stop(); }, "stopper");
  hw.engine.schedule(stopper, 1 * kUs);
  hw.run_on(0, [&] {
    for (int i = 0; i < 4; ++i) {
      hw.cpu().stall(400 * kNs);
      hw.cpu().compute(1);
      cpu_times.push_back(hw.cpu().now());
    }
  });
  hw.engine.run();
  // Stopped at 1 us: the CPU had reached 1.2 us and waits there for the host.
  CHECK(hw.engine.now() == 1 * kUs);
  CHECK(cpu_times == std::vector<sim::Tick>{400 * kNs + 500, 800 * kNs + 1000});
  hw.engine.run();
  CHECK(cpu_times.size() == 4);
}

TEST_CASE("run_until never lets a CPU fire an event after the limit") {
  BareMetal hw;
  bool late_fired = false;
  sim::CallbackEvent late([&] { late_fired = true; }, "late");
  hw.engine.schedule(late, 2 * kUs);
  std::vector<sim::Tick> cpu_times;
  hw.run_on(0, [&] {
    for (int i = 0; i < 4; ++i) {
      hw.cpu().stall(1 * kUs);
      hw.cpu().compute(1);
      cpu_times.push_back(hw.cpu().now());
    }
  });
  hw.engine.run_until(1'500 * kNs);
  CHECK_FALSE(late_fired);
  CHECK(hw.engine.now() == 1'500 * kNs);
  hw.engine.run();
  CHECK(late_fired);
  CHECK(cpu_times.size() == 4);
}
