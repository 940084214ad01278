// Determinism: one scenario, run twice in fresh simulators with the same seed, gives the
// same console output, the same accounting for every task and the same final time.

#include <catch2/catch.hpp>

#include <cctype>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

/// Everything observable at the end of a run, flattened for comparison.
struct Outcome {
  std::string console;
  std::vector<std::string> tasks;  // one line per task: identity, state, accounting
  sim::Tick engine_now = 0;
  sim::Tick init_completion = 0;
  std::uint64_t events = 0;
  std::uint64_t context_switches = 0;
  std::uint64_t page_faults = 0;
  std::uint64_t cow_faults = 0;
  sim::Tick idle0 = 0, idle1 = 0;
};

std::string describe(const kernel::TaskInfo& t) {
  const auto& a = t.accounting;
  std::ostringstream out;
  out << t.tid << ' ' << t.tgid << ' ' << t.ppid << ' ' << t.pgid << ' ' << t.sid << ' ' << t.name << ' '
      << kernel::task_state_name(t.state) << ' ' << t.exit_status << ' ' << t.exited << " | " << a.arrival << ' '
      << a.first_run << ' ' << a.completion << ' ' << a.user_time << ' ' << a.system_time << ' ' << a.wait_time << ' '
      << a.voluntary_switches << ' ' << a.involuntary_switches << ' ' << a.slices << ' ' << a.minor_faults << ' '
      << a.major_faults << ' ' << a.syscalls;
  return out.str();
}

/// A mix of everything that schedules: fork, exec, pipes, sleeps and CPU hogs on two CPUs,
/// with the default cost model so that overheads take part too.
Outcome run_scenario() {
  KernelFixture f(2, kernel::KernelConfig{});
  f.kernel.register_program({.name = "upcase", .main = [](user::Process& self) {
                               char buffer[64];
                               for (std::int64_t got; (got = self.read(0, std::span<char>(buffer, 64))) > 0;) {
                                 std::string text(buffer, static_cast<std::size_t>(got));
                                 for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                                 self.write(1, text);
                               }
                               return 0;
                             }});
  f.run([&](user::Process& init) {
    // Two short hogs that also write (their lines interleave by timing alone).
    for (int h = 0; h < 2; ++h) {
      init.fork([h](user::Process& self) {
        for (int i = 0; i < 5; ++i) {
          self.compute(60'000 + 7'000 * static_cast<std::uint64_t>(h));  // ~20 us steps
          self.write(1, "hog" + std::to_string(h) + ":" + std::to_string(i) + "\n");
        }
        return h;
      });
    }
    // Sleepers with different periods.
    for (int s = 1; s <= 3; ++s) {
      init.fork([s](user::Process& self) {
        for (int i = 0; i < 3; ++i) {
          self.nanosleep(static_cast<sim::Tick>(s) * 37 * sim::kMicrosecond);
          self.write(1, "sleeper" + std::to_string(s) + "\n");
        }
        return 0;
      });
    }
    // A producer | upcase pipeline with copy-on-write memory in the producer.
    int fds[2];
    init.pipe(fds);
    init.fork([&](user::Process& self) {
      const auto page = static_cast<mmu::VirtAddr>(
          self.mmap(0, 8 * 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
      for (int i = 0; i < 8; ++i) self.store<std::uint64_t>(page + i * 4096, i);
      self.fork([&](user::Process& child) {
        for (int i = 0; i < 8; ++i) child.store<std::uint64_t>(page + i * 4096, 100 + i);
        return 0;
      });
      self.dup2(fds[1], 1);
      self.close(fds[0]);
      self.close(fds[1]);
      for (int i = 0; i < 4; ++i) {
        self.write(1, "piped line " + std::to_string(i) + "\n");
        self.nanosleep(11 * sim::kMicrosecond);
      }
      self.wait(nullptr);
      return 0;
    });
    init.fork([&](user::Process& self) {
      self.dup2(fds[0], 0);
      self.close(fds[0]);
      self.close(fds[1]);
      return self.execve("/bin/upcase", {"upcase"});
    });
    init.close(fds[0]);
    init.close(fds[1]);
    // The children above refer to init's locals (fds): keep them alive until all are done.
    while (init.wait(nullptr) > 0) {
    }
    return 0;
  });
  REQUIRE(f.kernel.halted());
  Outcome outcome;
  outcome.console = f.machine.console().output();
  for (const auto& info : f.kernel.tasks()) outcome.tasks.push_back(describe(info));
  outcome.engine_now = f.engine.now();
  outcome.init_completion = f.kernel.task(1)->accounting.completion;
  outcome.events = f.engine.events_fired();
  const auto stats = f.kernel.stats();
  outcome.context_switches = stats.context_switches;
  outcome.page_faults = stats.page_faults;
  outcome.cow_faults = stats.cow_faults;
  outcome.idle0 = f.kernel.idle_time(0);
  outcome.idle1 = f.kernel.idle_time(1);
  return outcome;
}

}  // namespace

TEST_CASE("the same scenario run twice gives identical output, accounting and end time", "[kernel][determinism]") {
  const Outcome first = run_scenario();
  const Outcome second = run_scenario();
  // The scenario did what it should before comparing runs of it.
  CHECK(first.console.find("PIPED LINE 3\n") != std::string::npos);
  CHECK(first.console.find("hog1:4\n") != std::string::npos);
  CHECK(first.console.find("sleeper3\n") != std::string::npos);
  CHECK(first.tasks.size() == 9);  // init, 2 hogs, 3 sleepers, the producer and its child, upcase
  CHECK(first.cow_faults > 0);

  CHECK(second.console == first.console);
  REQUIRE(second.tasks.size() == first.tasks.size());
  for (std::size_t i = 0; i < first.tasks.size(); ++i) {
    INFO("task line " << i);
    CHECK(second.tasks[i] == first.tasks[i]);
  }
  CHECK(second.engine_now == first.engine_now);
  CHECK(second.init_completion == first.init_completion);
  CHECK(second.events == first.events);
  CHECK(second.context_switches == first.context_switches);
  CHECK(second.page_faults == first.page_faults);
  CHECK(second.cow_faults == first.cow_faults);
  CHECK(second.idle0 == first.idle0);
  CHECK(second.idle1 == first.idle1);
}

TEST_CASE("two CPUs really interleave the scenario's output", "[kernel][determinism]") {
  // Guards the determinism test against a scenario so serial that it proves nothing.
  const Outcome outcome = run_scenario();
  const auto first_sleeper = outcome.console.find("sleeper");
  const auto last_hog = outcome.console.rfind("hog");
  CHECK(first_sleeper < last_hog);
  // Idle time runs on to the end of run_until(); what matters is that both CPUs worked.
  CHECK(outcome.engine_now - outcome.idle0 >= 50 * sim::kMicrosecond);
  CHECK(outcome.engine_now - outcome.idle1 >= 50 * sim::kMicrosecond);
}
