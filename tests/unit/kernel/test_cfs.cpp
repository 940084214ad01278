// The Completely Fair Scheduler ("cfs"): CPU time in proportion to the nice weights,
// prompt wakeups for sleepers, no starvation by new tasks; and the nice syscalls
// (getpriority, setpriority, nice) that set the weights.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kernel_fixture.hpp"
#include "kernel/sched/cfs.hpp"
#include "kernel/sched/scheduler.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr std::uint64_t kCyclesPerUnit = 300'000;  // 100 us on the default 3 GHz CPU
using testing::errno_of;

kernel::KernelConfig cfs_config() {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.policy = "cfs";
  return config;
}

/// Hogs that compute 100 us units until told to stop, counting them.
struct Hogs {
  std::vector<std::uint64_t> units;
  bool stop = false;

  user::Entry hog(std::size_t index) {
    return [this, index](user::Process& self) {
      while (!stop) {
        self.compute(kCyclesPerUnit);
        ++units[index];
      }
      return 0;
    };
  }
};

/// Starts one hog per nice value, lets them share one CPU for `window`, and returns the
/// units each did in it.
std::vector<std::uint64_t> share(const std::vector<int>& nices, sim::Tick window,
                                 kernel::KernelConfig config = cfs_config()) {
  KernelFixture f(1, config);
  Hogs hogs;
  hogs.units.assign(nices.size(), 0);
  std::vector<std::uint64_t> done;
  f.run([&](user::Process& init) {
    for (std::size_t i = 0; i < nices.size(); ++i) {
      const sys::pid_t pid = init.fork(hogs.hog(i));
      CHECK(init.setpriority(sys::kPrioProcess, pid, nices[i]) == 0);
    }
    init.nanosleep(window);
    done = hogs.units;
    hogs.stop = true;
    return 0;
  });
  return done;
}

}  // namespace

TEST_CASE("the cfs scheduler is chosen by name, and an unknown name lists it", "[kernel][sched][cfs]") {
  KernelFixture f(1, cfs_config());
  CHECK(f.core().scheduler().fair_class().name() == "cfs");
  kernel::KernelConfig bad = cfs_config();
  bad.scheduler.policy = "bfs";
  CHECK_THROWS_WITH(KernelFixture(1, bad), Catch::Contains("unknown scheduling policy \"bfs\" (known: ") &&
                                               Catch::Contains("cfs"));
}

TEST_CASE("the nice-to-weight table is Linux's", "[kernel][sched][cfs]") {
  using kernel::CfsClass;
  CHECK(CfsClass::weight_of_nice(0) == 1024);
  CHECK(CfsClass::weight_of_nice(5) == 335);
  CHECK(CfsClass::weight_of_nice(-20) == 88761);
  CHECK(CfsClass::weight_of_nice(19) == 15);
  CHECK(CfsClass::weight_of_nice(-1) == 1277);
  CHECK(CfsClass::weight_of_nice(1) == 820);
}

TEST_CASE("under cfs two nice-0 hogs started together split one CPU 50/50", "[kernel][sched][cfs]") {
  const std::vector<std::uint64_t> units = share({0, 0}, sim::kSecond);
  const double total = static_cast<double>(units[0] + units[1]);
  const double first = static_cast<double>(units[0]) / total;
  UNSCOPED_INFO("split " << 100 * first << " / " << 100 * (1 - first) << " of " << total << " units");
  CHECK(total >= 9'990);  // the whole second went to the hogs (10,000 units of 100 us)
  CHECK(first == Approx(0.5).margin(0.005));
}

TEST_CASE("under cfs with default costs two nice-0 hogs still split one CPU evenly", "[kernel][sched][cfs]") {
  kernel::KernelConfig config;
  config.scheduler.policy = "cfs";
  const std::vector<std::uint64_t> units = share({0, 0}, sim::kSecond, config);
  const double total = static_cast<double>(units[0] + units[1]);
  CHECK(total < 10'000);  // switches and interrupts cost CPU time now
  CHECK(static_cast<double>(units[0]) / total == Approx(0.5).margin(0.01));
}

TEST_CASE("under cfs a nice-0 hog gets 1024/335 times the CPU of a nice-5 hog", "[kernel][sched][cfs]") {
  const std::vector<std::uint64_t> units = share({0, 5}, sim::kSecond);
  REQUIRE(units[1] > 0);
  const double ratio = static_cast<double>(units[0]) / static_cast<double>(units[1]);
  UNSCOPED_INFO("ratio " << ratio << " (" << units[0] << " : " << units[1] << ")");
  CHECK(ratio == Approx(1024.0 / 335.0).epsilon(0.01));
}

TEST_CASE("under cfs three hogs of nice -5, 0 and 5 share the CPU by weight", "[kernel][sched][cfs]") {
  const std::vector<std::uint64_t> units = share({-5, 0, 5}, sim::kSecond);
  const double total = static_cast<double>(units[0] + units[1] + units[2]);
  const double weights = 3121 + 1024 + 335;
  CHECK(static_cast<double>(units[0]) / total == Approx(3121 / weights).epsilon(0.01));
  CHECK(static_cast<double>(units[1]) / total == Approx(1024 / weights).epsilon(0.02));
  CHECK(static_cast<double>(units[2]) / total == Approx(335 / weights).epsilon(0.03));
}

TEST_CASE("under cfs a sleeper that wakes while a hog runs is on the CPU within the wakeup granularity",
          "[kernel][sched][cfs]") {
  for (const char* scheduler : {"cfs", "rr"}) {
    kernel::KernelConfig config = cfs_config();
    config.scheduler.policy = scheduler;
    KernelFixture f(1, config);
    Hogs hogs;
    hogs.units.assign(1, 0);
    sim::Tick worst = 0;
    f.run([&](user::Process& init) {
      init.fork(hogs.hog(0));
      init.nanosleep(20 * sim::kMillisecond);  // the hog has the CPU
      for (int i = 0; i < 10; ++i) {
        sys::timespec before{};
        sys::timespec after{};
        init.clock_gettime(sys::kClockMonotonic, before);
        init.nanosleep(55 * sim::kMillisecond);  // not a multiple of rr's quantum
        init.clock_gettime(sys::kClockMonotonic, after);
        const auto to_tick = [](const sys::timespec& t) {
          return static_cast<sim::Tick>(t.tv_sec) * sim::kSecond + static_cast<sim::Tick>(t.tv_nsec) * sim::kNanosecond;
        };
        const sim::Tick late = to_tick(after) - to_tick(before) - 55 * sim::kMillisecond;
        worst = std::max(worst, late);
      }
      hogs.stop = true;
      return 0;
    });
    UNSCOPED_INFO(scheduler << ": worst wakeup latency " << worst << " ps");
    if (std::string_view(scheduler) == "cfs") {
      CHECK(worst <= sim::kMillisecond);
    } else {
      CHECK(worst > sim::kMillisecond);  // round robin makes it wait for the hog's quantum
    }
    CHECK(hogs.units[0] > 0);
  }
}

TEST_CASE("under cfs new tasks do not starve a running one", "[kernel][sched][cfs]") {
  KernelFixture f(1, cfs_config());
  Hogs hogs;
  hogs.units.assign(4, 0);
  std::vector<std::uint64_t> before;
  std::vector<std::uint64_t> after;
  f.run([&](user::Process& init) {
    init.fork(hogs.hog(0));
    init.nanosleep(100 * sim::kMillisecond);
    // Newcomers start behind the running hog (START_DEBIT), then all four share.
    for (std::size_t i = 1; i < 4; ++i) init.fork(hogs.hog(i));
    before = hogs.units;
    init.nanosleep(400 * sim::kMillisecond);
    after = hogs.units;
    hogs.stop = true;
    return 0;
  });
  CHECK(before[0] >= 990);  // alone for the first 100 ms
  const double window = static_cast<double>(after[0] + after[1] + after[2] + after[3] - before[0]);
  for (std::size_t i = 0; i < 4; ++i) {
    const double share = static_cast<double>(after[i] - before[i]) / window;
    CHECK(share == Approx(0.25).margin(0.02));
  }
}

TEST_CASE("under cfs a yielding task lets the other runnable task go first", "[kernel][sched][cfs]") {
  KernelFixture f(1, cfs_config());
  std::vector<int> order;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      for (int i = 0; i < 3; ++i) {
        order.push_back(1);
        self.sched_yield();
      }
      return 0;
    });
    init.fork([&](user::Process& self) {
      for (int i = 0; i < 3; ++i) {
        order.push_back(2);
        self.sched_yield();
      }
      return 0;
    });
    return 0;
  });
  // init's own wait sleeps, so the two children take turns at each yield.
  REQUIRE(order.size() == 6);
  for (std::size_t i = 1; i < order.size(); ++i) CHECK(order[i] != order[i - 1]);
}

TEST_CASE("getpriority and setpriority read and set nice values as Linux does", "[kernel][sched][nice]") {
  for (const char* scheduler : {"cfs", "rr"}) {
    kernel::KernelConfig config = cfs_config();
    config.scheduler.policy = scheduler;
    KernelFixture f(1, config);
    f.run([&](user::Process& init) {
      CHECK(init.getpriority(sys::kPrioProcess, 0) == 0);
      CHECK(init.syscall(sys::nr::getpriority, sys::kPrioProcess, 0) == 20);  // raw: 20 - nice
      CHECK(init.setpriority(sys::kPrioProcess, 0, 5) == 0);
      CHECK(init.getpriority(sys::kPrioProcess, 0) == 5);
      CHECK(init.syscall(sys::nr::getpriority, sys::kPrioProcess, 0) == 15);
      CHECK(init.nice(3) == 8);
      CHECK(init.nice(-10) == -2);  // root may raise its priority
      // Out-of-range values are clamped.
      CHECK(init.setpriority(sys::kPrioProcess, 0, 100) == 0);
      CHECK(init.getpriority(sys::kPrioProcess, 0) == 19);
      CHECK(init.setpriority(sys::kPrioProcess, 0, -100) == 0);
      CHECK(init.getpriority(sys::kPrioProcess, 0) == -20);
      CHECK(init.setpriority(sys::kPrioProcess, init.getpid(), 2) == 0);
      // A child inherits its parent's nice value; another task can be named by pid.
      int child_nice = 99;
      const sys::pid_t child = init.fork([&](user::Process& self) {
        child_nice = self.getpriority(sys::kPrioProcess, 0);
        return 0;
      });
      CHECK(init.getpriority(sys::kPrioProcess, child) == 2);
      CHECK(init.setpriority(sys::kPrioProcess, child, 7) == 0);
      CHECK(init.getpriority(sys::kPrioProcess, child) == 7);
      // A group or a user answers for its highest priority (lowest nice).
      CHECK(init.getpriority(sys::kPrioProcessGroup, 0) == 2);
      CHECK(init.getpriority(sys::kPrioUser, 0) == 2);
      CHECK(init.setpriority(sys::kPrioUser, 0, 4) == 0);
      CHECK(init.getpriority(sys::kPrioProcess, child) == 4);
      int status = 0;
      init.wait(&status);
      CHECK(child_nice == 4);
      // Errors: no such process, an unknown `which`.
      CHECK(init.syscall(sys::nr::getpriority, sys::kPrioProcess, 999'999) == errno_of(sys::Errno::kESRCH));
      CHECK(init.setpriority(sys::kPrioProcess, 999'999, 0) == errno_of(sys::Errno::kESRCH));
      CHECK(init.syscall(sys::nr::getpriority, sys::kPrioProcess, static_cast<std::uint64_t>(-5)) ==
            errno_of(sys::Errno::kESRCH));
      CHECK(init.syscall(sys::nr::getpriority, sys::kPrioProcessGroup, 999'999) == errno_of(sys::Errno::kESRCH));
      CHECK(init.syscall(sys::nr::getpriority, 3, 0) == errno_of(sys::Errno::kEINVAL));
      CHECK(init.setpriority(-1, 0, 0) == errno_of(sys::Errno::kEINVAL));
      return 0;
    });
    CHECK(f.kernel.init_status() == 0);
  }
}

TEST_CASE("under cfs renicing a running hog moves its share at once", "[kernel][sched][cfs][nice]") {
  KernelFixture f(1, cfs_config());
  Hogs hogs;
  hogs.units.assign(2, 0);
  std::vector<std::uint64_t> before;
  std::vector<std::uint64_t> after;
  f.run([&](user::Process& init) {
    const sys::pid_t first = init.fork(hogs.hog(0));
    init.fork(hogs.hog(1));
    init.nanosleep(200 * sim::kMillisecond);
    CHECK(init.setpriority(sys::kPrioProcess, first, 5) == 0);
    before = hogs.units;
    init.nanosleep(sim::kSecond);
    after = hogs.units;
    hogs.stop = true;
    return 0;
  });
  CHECK(static_cast<double>(before[0]) / static_cast<double>(before[1]) == Approx(1.0).epsilon(0.05));
  const double ratio =
      static_cast<double>(after[1] - before[1]) / static_cast<double>(after[0] - before[0]);
  UNSCOPED_INFO("after renice " << after[1] - before[1] << " : " << after[0] - before[0]);
  CHECK(ratio == Approx(1024.0 / 335.0).epsilon(0.02));
}

// Two CPUs advance in one-cycle lockstep, so the hogs here are short (as in test_preemption).
TEST_CASE("under cfs on two CPUs four short hogs spread over both and all finish", "[kernel][sched][cfs][smp]") {
  constexpr std::uint64_t kStepCycles = 30'000;  // 10 us
  constexpr int kSteps = 50;
  KernelFixture f(2, cfs_config());
  std::vector<sys::pid_t> pids;
  f.run([&](user::Process& init) {
    for (int i = 0; i < 4; ++i) {
      pids.push_back(init.fork([](user::Process& self) {
        for (int step = 0; step < kSteps; ++step) self.compute(kStepCycles);
        return 0;
      }));
    }
    return 0;
  });
  sim::Tick last = 0;
  for (sys::pid_t pid : pids) {
    const auto info = f.kernel.task(pid);
    REQUIRE(info);
    CHECK(info->exited);
    CHECK(info->accounting.user_time >= kSteps * 10 * sim::kMicrosecond);
    CHECK(info->accounting.user_time <= kSteps * 10 * sim::kMicrosecond + sim::kNanosecond);
    last = std::max(last, info->accounting.completion);
  }
  // 2 ms of work on two CPUs: about 1 ms, not the 2 ms of one CPU.
  CHECK(last < 3 * sim::kMillisecond / 2);
}
