// A scheduling class's peek_upcoming() names the tasks its pick_next() will choose next,
// in order, without taking them: the core prefetches their state for the switches to
// come, so a wrong answer would only cost time, but it must still be the class's order.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "kernel_fixture.hpp"
#include "kernel/sched/scheduler.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr std::uint64_t kCyclesPerUnit = 300'000;  // 100 us on the default 3 GHz CPU
constexpr int kUnits = 40;                          // 4 ms each: several quanta

struct Run {
  std::vector<sys::pid_t> slices;  // who ran, each time the CPU changed hands
  std::vector<sys::pid_t> peeked;  // peek_upcoming() from inside one slice
  std::size_t peeked_at = 0;       // the index in `slices` of that slice
};

/// Four hogs on one CPU; the peek happens in the slice that is the `peek_in_slice`th.
Run run_hogs(const std::string& policy, std::size_t peek_in_slice = 6) {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.policy = policy;
  config.scheduler.quantum = 1 * sim::kMillisecond;  // four slices per hog
  KernelFixture f(1, config);
  Run run;
  f.run([&](user::Process& init) {
    for (int hog = 0; hog < 4; ++hog) {
      init.fork([&](user::Process& self) {
        const sys::pid_t pid = self.getpid();
        for (int unit = 0; unit < kUnits; ++unit) {
          if (run.slices.empty() || run.slices.back() != pid) run.slices.push_back(pid);
          // Look at the queue from inside a slice, once.
          if (run.peeked_at == 0 && run.slices.size() == peek_in_slice) {
            kernel::RunQueue& rq = f.core().scheduler().rq(0);
            const kernel::Task* upcoming[3] = {};
            const std::size_t count = rq.curr->se.sched_class->peek_upcoming(rq, upcoming, 3);
            for (std::size_t i = 0; i < count; ++i) run.peeked.push_back(upcoming[i]->tid);
            run.peeked_at = run.slices.size() - 1;
          }
          self.compute(kCyclesPerUnit);
        }
        return 0;
      });
    }
    int status = 0;
    while (init.wait(&status) > 0) {
    }
    return 0;
  });
  return run;
}

}  // namespace

TEST_CASE("round robin's peek_upcoming gives the next tasks in the order they then run", "[kernel][sched]") {
  const Run run = run_hogs("rr");
  // Init waits, so the queue holds the three other hogs, which run next in turn.
  REQUIRE(run.peeked.size() == 3);
  REQUIRE(run.slices.size() >= run.peeked_at + 4);
  const std::vector<sys::pid_t> next(run.slices.begin() + static_cast<std::ptrdiff_t>(run.peeked_at) + 1,
                                     run.slices.begin() + static_cast<std::ptrdiff_t>(run.peeked_at) + 4);
  CHECK(next == run.peeked);
}

TEST_CASE("cfs's peek_upcoming starts with the task it picks next, none of them running", "[kernel][sched][cfs]") {
  const Run run = run_hogs("cfs");
  REQUIRE(run.peeked.size() == 3);
  REQUIRE(run.slices.size() > run.peeked_at + 1);
  CHECK(run.slices[run.peeked_at + 1] == run.peeked.front());
  CHECK(std::find(run.peeked.begin(), run.peeked.end(), run.slices[run.peeked_at]) == run.peeked.end());
}

TEST_CASE("fifo's peek_upcoming gives the tasks queued behind the running one, in order", "[kernel][sched]") {
  // Each hog runs to its end: the peek from the second hog's first unit sees the last two
  // (and then init, woken by the first hog's exit).
  const Run run = run_hogs("fifo", 2);
  REQUIRE(run.slices.size() == 4);
  REQUIRE(run.peeked.size() >= 2);
  CHECK(std::vector<sys::pid_t>(run.peeked.begin(), run.peeked.begin() + 2) ==
        std::vector<sys::pid_t>(run.slices.begin() + 2, run.slices.end()));
}

TEST_CASE("lottery, which draws at random, peeks nothing", "[kernel][sched]") {
  const Run run = run_hogs("lottery");
  CHECK(run.peeked_at != 0);
  CHECK(run.peeked.empty());
}
