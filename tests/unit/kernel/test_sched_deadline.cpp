// The deadline class (SCHED_DEADLINE): EDF meets every deadline of periodic task sets up
// to full utilisation where rate-monotonic fixed priorities (SCHED_FIFO) miss; the
// constant bandwidth server throttles a task at its runtime per period and applies the
// wakeup rule; admission control and the errno values of sched_setattr, sched_getattr
// and fork. Kernel costs and hardware latencies are zero: times are exact.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel_fixture.hpp"
#include "kernel/sched/deadline.hpp"
#include "kernel/sched/scheduler.hpp"
#include "ossim/sys/sched.hpp"

using namespace ossim;
using testing::KernelFixture;
using testing::labelled;

namespace {

constexpr sim::Tick kMs = sim::kMillisecond;
using testing::errno_of;

sys::sched_attr deadline_attr(sim::Tick runtime, sim::Tick deadline, sim::Tick period) {
  sys::sched_attr attr;
  attr.size = sys::kSchedAttrSize;
  attr.sched_policy = sys::kSchedDeadline;
  attr.sched_runtime = runtime / sim::kNanosecond;
  attr.sched_deadline = deadline / sim::kNanosecond;
  attr.sched_period = period / sim::kNanosecond;
  return attr;
}

sys::sched_attr fifo(int priority) {
  sys::sched_attr attr;
  attr.size = sys::kSchedAttrSize;
  attr.sched_policy = sys::kSchedFifo;
  attr.sched_priority = static_cast<std::uint32_t>(priority);
  return attr;
}

sim::Tick completion(KernelFixture& f, std::string_view label) {
  return labelled(f.kernel.tasks(), label).accounting.completion;
}

/// Registers `name` as a program running `main`, and spawns it at `at` with `attr`.
void start(KernelFixture& f, const std::string& name, sim::Tick at, std::optional<sys::sched_attr> attr,
           std::function<int(user::Process&)> main) {
  f.kernel.register_program({.name = name, .main = std::move(main)});
  f.kernel.spawn({.path = "/bin/" + name, .argv = {name}, .at = at, .attr = attr, .label = name});
}

/// A periodic task: WCET C, relative deadline D, period T (all released at time 0).
struct Periodic {
  sim::Tick c, d, t;
};

enum class Policy { kEdf, kRateMonotonic };

struct PeriodicOutcome {
  std::vector<std::uint64_t> jobs;
  std::vector<std::uint64_t> misses;
  std::uint64_t total_misses() const { return std::accumulate(misses.begin(), misses.end(), std::uint64_t{0}); }
};

/// Runs `set` on one CPU for `horizon`: each task's job k is released at k x T, computes
/// C, and misses if it completes after its release + D. EDF: SCHED_DEADLINE with (C, D,
/// T); rate-monotonic: SCHED_FIFO, the shorter the period the higher the priority.
PeriodicOutcome run_periodic(const std::vector<Periodic>& set, Policy policy, sim::Tick horizon) {
  KernelFixture f(1);
  PeriodicOutcome outcome;
  outcome.jobs.assign(set.size(), 0);
  outcome.misses.assign(set.size(), 0);
  for (std::size_t i = 0; i < set.size(); ++i) {
    const Periodic task = set[i];
    const auto shorter = std::count_if(set.begin(), set.end(), [&](const Periodic& other) { return other.t < task.t; });
    const sys::sched_attr attr =
        policy == Policy::kEdf ? deadline_attr(task.c, task.d, task.t) : fifo(90 - static_cast<int>(shorter));
    start(f, "periodic" + std::to_string(i), 0, attr, [&outcome, i, task, horizon](user::Process& self) {
      for (sim::Tick release = 0; release < horizon; release += task.t) {
        self.sleep_until(release);
        self.compute_for(task.c);
        if (self.now() > release + task.d) ++outcome.misses[i];
        ++outcome.jobs[i];
      }
      return 0;
    });
  }
  f.run({}, horizon + sim::kSecond);
  return outcome;
}

sim::Tick hyperperiod(const std::vector<Periodic>& set) {
  sim::Tick lcm = 1;
  for (const Periodic& task : set) lcm = std::lcm(lcm, task.t / kMs);
  return lcm * kMs;
}

std::vector<Periodic> implicit(std::initializer_list<std::pair<int, int>> c_and_t) {
  std::vector<Periodic> set;
  for (const auto& [c, t] : c_and_t) set.push_back({c * kMs, t * kMs, t * kMs});
  return set;
}

}  // namespace

// ---- EDF and rate-monotonic ----------------------------------------------------------------

TEST_CASE("EDF meets every deadline of implicit-deadline sets with utilisation up to 1 on one CPU",
          "[kernel][sched][deadline][edf]") {
  const std::vector<Periodic> set = GENERATE(implicit({{2, 5}, {4, 7}}),          // U = 0.971
                                             implicit({{2, 4}, {2, 6}, {1, 6}}),  // U = 1
                                             implicit({{1, 4}, {1, 3}, {5, 12}}), // U = 1
                                             implicit({{1, 4}, {2, 6}, {1, 8}, {2, 12}}));  // U = 0.875
  const sim::Tick horizon = 3 * hyperperiod(set);
  const PeriodicOutcome outcome = run_periodic(set, Policy::kEdf, horizon);
  for (std::size_t i = 0; i < set.size(); ++i) {
    CAPTURE(i);
    CHECK(outcome.jobs[i] == horizon / set[i].t);
    CHECK(outcome.misses[i] == 0);
  }
}

TEST_CASE("EDF meets constrained deadlines it can meet (D < T)", "[kernel][sched][deadline][edf]") {
  // Density 1/3 + 2/6 + 1/4 < 1: schedulable by EDF.
  const std::vector<Periodic> set = {{1 * kMs, 3 * kMs, 4 * kMs}, {2 * kMs, 6 * kMs, 8 * kMs},
                                     {1 * kMs, 4 * kMs, 5 * kMs}};
  const PeriodicOutcome outcome = run_periodic(set, Policy::kEdf, 3 * 40 * kMs);
  CHECK(outcome.total_misses() == 0);
}

TEST_CASE("rate-monotonic SCHED_FIFO meets sets under the Liu-Layland bound", "[kernel][sched][rt][rm]") {
  const std::vector<Periodic> set = GENERATE(implicit({{1, 4}, {2, 6}}),           // U = 0.583 < 0.828
                                             implicit({{1, 4}, {1, 5}, {2, 10}}),  // U = 0.65 < 0.780
                                             implicit({{1, 5}, {1, 6}, {1, 7}, {2, 11}}));  // 0.690 < 0.757
  const sim::Tick horizon = 3 * hyperperiod(set);
  const PeriodicOutcome outcome = run_periodic(set, Policy::kRateMonotonic, horizon);
  for (std::size_t i = 0; i < set.size(); ++i) {
    CAPTURE(i);
    CHECK(outcome.jobs[i] == horizon / set[i].t);
    CHECK(outcome.misses[i] == 0);
  }
}

TEST_CASE("rate-monotonic misses a deadline of {(2,5),(4,7)} that EDF meets", "[kernel][sched][deadline][rm]") {
  const std::vector<Periodic> set = implicit({{2, 5}, {4, 7}});
  const sim::Tick horizon = 3 * hyperperiod(set);
  const PeriodicOutcome rm = run_periodic(set, Policy::kRateMonotonic, horizon);
  const PeriodicOutcome edf = run_periodic(set, Policy::kEdf, horizon);
  // RM: (2,5) at 0-2, (4,7) at 2-5, (2,5) at 5-7, (4,7) finishes its first job at 8 > 7.
  CHECK(rm.misses[0] == 0);
  CHECK(rm.misses[1] > 0);
  CHECK(edf.total_misses() == 0);
}

// ---- The constant bandwidth server ---------------------------------------------------------

TEST_CASE("a deadline task that computes past its runtime gets only its runtime per period, and another "
          "deadline task still meets its deadlines",
          "[kernel][sched][deadline][cbs]") {
  KernelFixture f(1);
  std::uint64_t misses = 0, jobs = 0;
  std::vector<sim::Tick> greedy_runtime_at_period_end;
  start(f, "greedy", 0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs), [](user::Process& self) {
    self.compute_for(50 * kMs);
    return 0;
  });
  // Deadline 8 ms: always before the greedy task's, so the order is fixed.
  start(f, "periodic", 0, deadline_attr(3 * kMs, 8 * kMs, 10 * kMs), [&](user::Process& self) {
    for (sim::Tick release = 0; release < 250 * kMs; release += 10 * kMs) {
      self.sleep_until(release);
      self.compute_for(3 * kMs);
      if (self.now() > release + 8 * kMs) ++misses;
      ++jobs;
    }
    return 0;
  });
  f.run({});
  // 2 ms in each 10 ms period, at 3-5 of it: 25 periods for 50 ms.
  CHECK(completion(f, "greedy") == 245 * kMs);
  CHECK(jobs == 25);
  CHECK(misses == 0);
  CHECK(completion(f, "periodic") == 243 * kMs);
}

TEST_CASE("a throttled deadline task leaves the CPU to fair tasks until its replenishment",
          "[kernel][sched][deadline][cbs]") {
  const std::string fair = GENERATE(std::string("rr"), std::string("cfs"));
  CAPTURE(fair);
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.policy = fair;
  KernelFixture f(1, config);
  start(f, "greedy", 0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs), [](user::Process& self) {
    self.compute_for(6 * kMs);
    return 0;
  });
  start(f, "hog", 0, std::nullopt, [](user::Process& self) {
    self.compute_for(20 * kMs);
    return 0;
  });
  f.run({});
  // greedy 0-2, hog 2-10, greedy 10-12, hog 12-20, greedy 20-22, hog 22-26.
  CHECK(completion(f, "greedy") == 22 * kMs);
  CHECK(completion(f, "hog") == 26 * kMs);
}

TEST_CASE("the CBS wakeup rule: a new period when the remaining runtime would exceed the bandwidth",
          "[kernel][sched][deadline][cbs]") {
  KernelFixture f(1);
  start(f, "late", 0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs), [](user::Process& self) {
    self.compute_for(1 * kMs);
    // At 8: 1 ms left for 2 ms to the deadline is more than 2/10: deadline 18, runtime 2.
    self.sleep_until(8 * kMs);
    self.compute_for(2 * kMs);
    return 0;
  });
  f.run({});
  CHECK(completion(f, "late") == 10 * kMs);
}

TEST_CASE("the CBS wakeup rule: a task keeps its deadline and runtime when they fit its bandwidth",
          "[kernel][sched][deadline][cbs]") {
  KernelFixture f(1);
  start(f, "early", 0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs), [](user::Process& self) {
    self.compute_for(1 * kMs);
    // At 2: 1 ms left for 8 ms to the deadline is under 2/10: it keeps both, runs out at
    // 3 and waits for the next period at 10.
    self.sleep_until(2 * kMs);
    self.compute_for(2 * kMs);
    return 0;
  });
  f.run({});
  CHECK(completion(f, "early") == 11 * kMs);
}

TEST_CASE("a deadline task that blocks out of runtime stays throttled through its sleep",
          "[kernel][sched][deadline][cbs]") {
  KernelFixture f(1);
  sim::Tick resumed = 0;
  start(f, "sleeper", 0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs), [&](user::Process& self) {
    self.compute_for(2 * kMs);
    self.sleep_until(5 * kMs);
    resumed = self.now();
    self.compute_for(1 * kMs);
    return 0;
  });
  f.run({});
  CHECK(resumed == 10 * kMs);
  CHECK(completion(f, "sleeper") == 11 * kMs);
}

TEST_CASE("a throttled deadline task that wakes does not disturb the fair tasks running meanwhile",
          "[kernel][sched][deadline][cbs]") {
  // The sleeper wakes at 5 ms still throttled (replenished at 10 ms). Under RR with a
  // 20 ms quantum the two hogs would run back to back from 2 ms; a wakeup that made the
  // running hog reschedule would end its turn at 5 ms and hand the CPU to the other.
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.policy = "rr";
  config.scheduler.quantum = 20 * kMs;
  KernelFixture f(1, config);
  start(f, "sleeper", 0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs), [&](user::Process& self) {
    self.compute_for(2 * kMs);
    self.sleep_until(5 * kMs);
    self.compute_for(1 * kMs);
    return 0;
  });
  const auto hog = [](user::Process& self) {
    self.compute_for(4 * kMs);
    return 0;
  };
  start(f, "first", 0, {}, hog);
  start(f, "second", 0, {}, hog);
  f.run({});
  CHECK(completion(f, "sleeper") == 11 * kMs);
  // first runs 2-6 ms in one turn, second 6-10 ms; the replenishment at 10 ms follows.
  CHECK(labelled(f.kernel.tasks(), "first").accounting.preemptions == 0);
  CHECK(completion(f, "first") == 6 * kMs);
  CHECK(completion(f, "second") == 10 * kMs);
}

TEST_CASE("sched_yield by a deadline task gives up the rest of its runtime until the next period",
          "[kernel][sched][deadline][cbs]") {
  KernelFixture f(1);
  sim::Tick resumed = 0;
  start(f, "yielder", 0, deadline_attr(3 * kMs, 10 * kMs, 10 * kMs), [&](user::Process& self) {
    self.compute_for(1 * kMs);
    self.sched_yield();
    resumed = self.now();
    self.compute_for(1 * kMs);
    return 0;
  });
  f.run({});
  CHECK(resumed == 10 * kMs);
  CHECK(completion(f, "yielder") == 11 * kMs);
}

TEST_CASE("a waking deadline task preempts real-time and fair tasks at once", "[kernel][sched][deadline]") {
  KernelFixture f(1);
  sim::Tick woke = 0;
  start(f, "rt", 0, fifo(99), [](user::Process& self) {
    self.compute_for(10 * kMs);
    return 0;
  });
  start(f, "dl", 0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs), [&](user::Process& self) {
    self.sleep_until(3 * kMs);
    woke = self.now();
    self.compute_for(1 * kMs);
    return 0;
  });
  f.run({});
  CHECK(woke == 3 * kMs);
  CHECK(completion(f, "dl") == 4 * kMs);
  CHECK(completion(f, "rt") == 11 * kMs);
}

TEST_CASE("no deadline timer outlives its task: the event queue runs dry after power-off",
          "[kernel][sched][deadline]") {
  KernelFixture f(1);
  start(f, "greedy", 0, deadline_attr(1 * kMs, 4 * kMs, 4 * kMs), [](user::Process& self) {
    self.compute_for(3 * kMs);  // 0-1, 4-5, 8-9: done with no runtime left
    self.sleep_until(10 * kMs);  // so throttled through the sleep, until 12
    return 0;
  });
  f.run({});
  CHECK(completion(f, "greedy") == 12 * kMs);
  CHECK(f.engine.next_event_time() == sim::kTickNever);
}

// ---- Admission control ----------------------------------------------------------------------

TEST_CASE("admission control refuses bandwidth beyond the CPUs' with EBUSY and gets it back on exit",
          "[kernel][sched][deadline][admission]") {
  KernelFixture f(1);
  std::int64_t first = -1, refused = 0, after_exit = -1, own_change = -1, own_too_big = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t holder = init.fork([&](user::Process& self) {
      first = self.sched_setattr(0, deadline_attr(6 * kMs, 10 * kMs, 10 * kMs));
      // Its own change is measured against the others' bandwidth, not against itself.
      own_change = self.sched_setattr(0, deadline_attr(9 * kMs, 10 * kMs, 10 * kMs));
      self.nanosleep(5 * kMs);
      return 0;
    });
    const sys::pid_t asker = init.fork([&](user::Process& self) {
      self.nanosleep(1 * kMs);
      refused = self.sched_setattr(0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs));
      own_too_big = self.sched_setattr(holder, deadline_attr(11 * kMs, 11 * kMs, 10 * kMs));
      self.sleep_until(10 * kMs);
      after_exit = self.sched_setattr(0, deadline_attr(9 * kMs, 10 * kMs, 10 * kMs));
      return 0;
    });
    int status = 0;
    init.waitpid(holder, &status);
    init.waitpid(asker, &status);
    return 0;
  });
  CHECK(first == 0);
  CHECK(own_change == 0);
  CHECK(refused == errno_of(sys::Errno::kEBUSY));
  CHECK(own_too_big == errno_of(sys::Errno::kEINVAL));  // deadline > period
  CHECK(after_exit == 0);
}

TEST_CASE("admission control counts every CPU, and deadline_bandwidth caps each", "[kernel][sched][deadline][admission]") {
  SECTION("two CPUs take 0.6 + 0.6, not 0.9 more") {
    KernelFixture f(2);
    std::vector<std::int64_t> results;
    f.run([&](user::Process& init) {
      for (sim::Tick runtime : {6 * kMs, 6 * kMs, 9 * kMs}) {
        const sys::pid_t child = init.fork([&results, runtime](user::Process& self) {
          results.push_back(self.sched_setattr(0, deadline_attr(runtime, 10 * kMs, 10 * kMs)));
          self.nanosleep(5 * kMs);
          return 0;
        });
        (void)child;
        init.nanosleep(1 * kMs);
      }
      int status = 0;
      while (init.wait(&status) > 0) {
      }
      return 0;
    });
    CHECK(results == std::vector<std::int64_t>{0, 0, errno_of(sys::Errno::kEBUSY)});
  }
  SECTION("deadline_bandwidth 0.5 refuses 0.6 on one CPU") {
    kernel::KernelConfig config = KernelFixture::ideal_config();
    config.scheduler.deadline_bandwidth = 0.5;
    KernelFixture f(1, config);
    std::int64_t big = 0, small = -1;
    f.run([&](user::Process& init) {
      int status = 0;
      init.waitpid(init.fork([&](user::Process& self) {
        big = self.sched_setattr(0, deadline_attr(6 * kMs, 10 * kMs, 10 * kMs));
        small = self.sched_setattr(0, deadline_attr(5 * kMs, 10 * kMs, 10 * kMs));
        return 0;
      }),
                   &status);
      return 0;
    });
    CHECK(big == errno_of(sys::Errno::kEBUSY));
    CHECK(small == 0);
  }
}

TEST_CASE("leaving SCHED_DEADLINE gives its bandwidth back", "[kernel][sched][deadline][admission]") {
  KernelFixture f(1);
  std::int64_t first = -1, leave = -1, second = -1;
  kernel::DeadlineClass* dl =
      dynamic_cast<kernel::DeadlineClass*>(f.core().scheduler().class_for(sys::kSchedDeadline));
  REQUIRE(dl != nullptr);
  std::uint64_t reserved = 0;
  f.run([&](user::Process& init) {
    first = init.sched_setattr(0, deadline_attr(6 * kMs, 10 * kMs, 10 * kMs));
    reserved = dl->total_bandwidth();
    sys::sched_attr other;
    other.size = sys::kSchedAttrSize;
    other.sched_policy = sys::kSchedOther;
    leave = init.sched_setattr(0, other);
    int status = 0;
    init.waitpid(init.fork([&](user::Process& self) {
      second = self.sched_setattr(0, deadline_attr(6 * kMs, 10 * kMs, 10 * kMs));
      return 0;
    }),
                 &status);
    return 0;
  });
  CHECK(first == 0);
  CHECK(reserved == kernel::DeadlineClass::to_ratio(10 * kMs, 6 * kMs));
  CHECK(leave == 0);
  CHECK(second == 0);
  CHECK(dl->total_bandwidth() == 0);  // the child exited
}

TEST_CASE("a spawned deadline task refused by admission control runs as SCHED_OTHER",
          "[kernel][sched][deadline][admission]") {
  KernelFixture f(1);
  int policy_of_second = -1;
  start(f, "first", 0, deadline_attr(8 * kMs, 10 * kMs, 10 * kMs), [](user::Process& self) {
    self.compute_for(1 * kMs);
    return 0;
  });
  start(f, "second", 0, deadline_attr(8 * kMs, 10 * kMs, 10 * kMs), [&](user::Process& self) {
    policy_of_second = self.sched_getscheduler(0);
    return 0;
  });
  f.run({});
  CHECK(policy_of_second == sys::kSchedOther);
  CHECK(f.machine.console().output().find("admission control refused") != std::string::npos);
}

// ---- The syscalls' errno values -------------------------------------------------------------

TEST_CASE("sched_setattr checks the struct size and the deadline parameters", "[kernel][sched][deadline][errors]") {
  KernelFixture f(1);
  std::int64_t too_small = 0, runtime_over_deadline = 0, deadline_over_period = 0, tiny_runtime = 0,
               no_deadline = 0;
  f.run([&](user::Process& init) {
    int status = 0;
    init.waitpid(init.fork([&](user::Process& self) {
      sys::sched_attr small = deadline_attr(1 * kMs, 10 * kMs, 10 * kMs);
      small.size = 40;
      too_small = self.sched_setattr(0, small);
      runtime_over_deadline = self.sched_setattr(0, deadline_attr(5 * kMs, 4 * kMs, 10 * kMs));
      deadline_over_period = self.sched_setattr(0, deadline_attr(1 * kMs, 11 * kMs, 10 * kMs));
      tiny_runtime = self.sched_setattr(0, deadline_attr(1000 * sim::kNanosecond, 10 * kMs, 10 * kMs));
      no_deadline = self.sched_setattr(0, deadline_attr(1 * kMs, 0, 10 * kMs));
      return 0;
    }),
                 &status);
    return 0;
  });
  CHECK(too_small == errno_of(sys::Errno::kE2BIG));
  CHECK(runtime_over_deadline == errno_of(sys::Errno::kEINVAL));
  CHECK(deadline_over_period == errno_of(sys::Errno::kEINVAL));
  CHECK(tiny_runtime == errno_of(sys::Errno::kEINVAL));  // under 1024 ns
  CHECK(no_deadline == errno_of(sys::Errno::kEINVAL));
}

TEST_CASE("sched_getattr returns what sched_setattr set for SCHED_DEADLINE", "[kernel][sched][deadline]") {
  KernelFixture f(1);
  sys::sched_attr got;
  std::int64_t set = -1, get = -1, policy = -1;
  f.run([&](user::Process& init) {
    int status = 0;
    init.waitpid(init.fork([&](user::Process& self) {
      sys::sched_attr attr = deadline_attr(2 * kMs, 5 * kMs, 10 * kMs);
      attr.sched_flags = sys::kSchedFlagResetOnFork;
      set = self.sched_setattr(0, attr);
      get = self.sched_getattr(0, got);
      policy = self.sched_getscheduler(0);
      return 0;
    }),
                 &status);
    return 0;
  });
  CHECK(set == 0);
  CHECK(get == 0);
  CHECK(got.sched_policy == sys::kSchedDeadline);
  CHECK(got.sched_flags == sys::kSchedFlagResetOnFork);
  CHECK(got.sched_runtime == 2'000'000);
  CHECK(got.sched_deadline == 5'000'000);
  CHECK(got.sched_period == 10'000'000);
  CHECK(policy == (sys::kSchedDeadline | sys::kSchedResetOnFork));
}

TEST_CASE("fork by a SCHED_DEADLINE task fails with EAGAIN unless reset_on_fork is set",
          "[kernel][sched][deadline][errors]") {
  KernelFixture f(1);
  std::int64_t refused = 0, allowed = -1, child_policy = -1;
  f.run([&](user::Process& init) {
    int status = 0;
    init.waitpid(init.fork([&](user::Process& self) {
      self.sched_setattr(0, deadline_attr(2 * kMs, 10 * kMs, 10 * kMs));
      refused = self.fork([](user::Process&) { return 0; });
      sys::sched_attr reset = deadline_attr(2 * kMs, 10 * kMs, 10 * kMs);
      reset.sched_flags = sys::kSchedFlagResetOnFork;
      self.sched_setattr(0, reset);
      allowed = self.fork([&](user::Process& child) {
        child_policy = child.sched_getscheduler(0);
        return 0;
      });
      int child_status = 0;
      if (allowed > 0) self.waitpid(static_cast<sys::pid_t>(allowed), &child_status);
      return 0;
    }),
                 &status);
    return 0;
  });
  CHECK(refused == errno_of(sys::Errno::kEAGAIN));
  CHECK(allowed > 0);
  CHECK(child_policy == sys::kSchedOther);
}
