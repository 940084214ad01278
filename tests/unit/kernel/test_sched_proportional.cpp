// Proportional share (OSTEP chapter 9): lottery ("lottery") gives each task a CPU share
// close to its share of the tickets over many quanta; stride ("stride") gives it exactly,
// within one quantum, and a task joining late cannot catch up by monopolising the CPU.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernel_fixture.hpp"
#include "kernel/sched/scheduler.hpp"
#include "kernel/sched/stride.hpp"
#include "ossim/sys/sched.hpp"

using namespace ossim;
using ossim::testing::KernelFixture;
using ossim::testing::labelled;

namespace {

constexpr sim::Tick kMs = sim::kMillisecond;

kernel::KernelConfig config_for(std::string_view policy, sim::Tick quantum) {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.policy = std::string(policy);
  config.scheduler.quantum = quantum;
  return config;
}

/// "cpu <us>": computes for <us> microseconds.
void register_cpu(KernelFixture& f) {
  f.kernel.register_program({.name = "cpu", .main = [](user::Process& self) {
                               self.compute_for(std::stoull(self.argv().at(1)) * sim::kMicrosecond);
                               return 0;
                             }});
}

/// A CPU job of `length` arriving at `at` with `tickets` (0: the default, 100).
void spawn(KernelFixture& f, std::string label, sim::Tick at, sim::Tick length, std::uint32_t tickets) {
  sys::sched_attr attr;
  attr.size = sys::kSchedAttrSize;
  attr.sched_policy = sys::kSchedOther;
  attr.sched_tickets = tickets;
  f.kernel.spawn({.path = "/bin/cpu",
                  .argv = {"cpu", std::to_string(length / sim::kMicrosecond)},
                  .at = at,
                  .attr = attr,
                  .label = std::move(label)});
}

}  // namespace

TEST_CASE("lottery: two hogs with 75 and 25 tickets share the CPU about 3:1", "[kernel][sched][lottery]") {
  // A needs 1999.5 ms of CPU; while both run, A's share is its work over its completion
  // time. 1 ms quanta: about 2700 draws, so the share is 0.75 within a few percent (the
  // standard deviation of the binomial share is under 0.01; the seed is fixed).
  const auto run = [] {
    KernelFixture f(1, config_for("lottery", 1 * kMs));
    register_cpu(f);
    spawn(f, "A", 0, 1999500 * sim::kMicrosecond, 75);
    spawn(f, "B", 0, 3000 * kMs, 25);
    f.run({}, 100 * sim::kSecond);
    return f.kernel.tasks();
  };
  const std::vector<kernel::TaskInfo> tasks = run();
  const sim::Tick a_done = labelled(tasks, "A").accounting.completion;
  const double share = 1999.5 * static_cast<double>(kMs) / static_cast<double>(a_done);
  CHECK(std::abs(share - 0.75) < 0.03);
  // Everything is used: B finishes when all the work is done.
  CHECK(labelled(tasks, "B").accounting.completion == 4999500 * sim::kMicrosecond);
  // The draws come from the seeded stream: the same run gives the same schedule.
  CHECK(labelled(run(), "A").accounting.completion == a_done);
}

TEST_CASE("lottery: equal tickets give equal shares on average, and a lone task is not drawn for",
          "[kernel][sched][lottery]") {
  KernelFixture f(1, config_for("lottery", 1 * kMs));
  register_cpu(f);
  spawn(f, "A", 0, 999500 * sim::kMicrosecond, 0);
  spawn(f, "B", 0, 3000 * kMs, 0);
  f.run({}, 100 * sim::kSecond);
  const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
  const double share = 999.5 * static_cast<double>(kMs) / static_cast<double>(labelled(tasks, "A").accounting.completion);
  CHECK(std::abs(share - 0.5) < 0.04);
  CHECK(labelled(tasks, "B").accounting.completion == 3999500 * sim::kMicrosecond);
}

// Stride with 75 and 25 tickets: strides 13981 and 41943 (2^20 / tickets, exactly 1:3).
// Both start at pass 0; ties go to the lower tid (A). A runs 0-10 ms, B 10-20, A 20-50
// (its pass ties B's after two quanta, and wins the tie), B 50-60, and so on: in every
// 40 ms from 0 A gets exactly 30 ms and B 10 ms. A's 295 ms are done at 395 ms (30 x 9 =
// 270 by 360, then 360-370, 380-390, 390-395), when B has had 100 ms; B's other 200 ms
// follow alone.
TEST_CASE("stride: 3:1 tickets give a 3:1 share, exact to the quantum", "[kernel][sched][stride]") {
  CHECK(kernel::StrideClass::stride_of(25) == 3 * kernel::StrideClass::stride_of(75));
  KernelFixture f(1, config_for("stride", 10 * kMs));
  register_cpu(f);
  spawn(f, "A", 0, 295 * kMs, 75);
  spawn(f, "B", 0, 300 * kMs, 25);
  f.kernel.boot({});
  for (sim::Tick t = 40 * kMs; t <= 360 * kMs; t += 40 * kMs) {
    f.engine.run_until(t);
    const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
    INFO("at " << t / kMs << " ms");
    kernel::Task* a = f.core().find_task(labelled(tasks, "A").tid);
    kernel::Task* b = f.core().find_task(labelled(tasks, "B").tid);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(a->se.total_runtime == t / 40 * 30);
    CHECK(b->se.total_runtime == t / 40 * 10);
  }
  f.engine.run_until(10 * sim::kSecond);
  const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
  CHECK(labelled(tasks, "A").accounting.completion == 395 * kMs);
  CHECK(labelled(tasks, "B").accounting.completion == 595 * kMs);
}

// Equal tickets: A and B alternate 10 ms quanta (A 200-210 ms...). C arrives at 205 ms
// with pass 0 but joins at the queue's minimum pass (A's and B's pass then), so instead
// of running alone until its pass catches up it takes its turn with the others: B 210-220
// (tie with C, lower tid), C 220-230, then A, B, C in turn; C's 25 ms end at 285 ms.
TEST_CASE("stride: a task joining late starts at the minimum pass and cannot monopolise the CPU",
          "[kernel][sched][stride]") {
  KernelFixture f(1, config_for("stride", 10 * kMs));
  register_cpu(f);
  spawn(f, "A", 0, 1000 * kMs, 0);
  spawn(f, "B", 0, 1000 * kMs, 0);
  spawn(f, "C", 205 * kMs, 25 * kMs, 0);
  f.run({}, 100 * sim::kSecond);
  const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
  CHECK(labelled(tasks, "C").accounting.first_run == 220 * kMs);
  CHECK(labelled(tasks, "C").accounting.completion == 285 * kMs);
  CHECK(labelled(tasks, "C").accounting.slices == 3);
}

// Equal tickets (stride 10485, 10 ms quanta). S computes 5 ms bursts (half a quantum)
// and yields after each; H is a hog. Charged in proportion, each burst costs S half a
// stride, so S runs two bursts for each quantum of H's:
//   S 0-5 (pass 5242.5), S 5-10 (10485), H 10-20 (10485), S 20-25 (15727.5),
//   H 25-35 (20970), S 35-40 (20970): S's four bursts are done at 40 ms.
// (Charged a whole quantum per burst, S would get one burst per quantum of H's and end at
// 50 ms; charged nothing, it would keep the CPU.)
TEST_CASE("stride: a partial quantum is charged in proportion", "[kernel][sched][stride]") {
  KernelFixture f(1, config_for("stride", 10 * kMs));
  register_cpu(f);
  f.kernel.register_program({.name = "bursty", .main = [](user::Process& self) {
                               for (int i = 0; i < 4; ++i) {
                                 self.compute_for(5 * kMs);
                                 self.sched_yield();
                               }
                               return 0;
                             }});
  f.kernel.spawn({.path = "/bin/bursty", .argv = {"bursty"}, .label = "S"});
  spawn(f, "H", 0, 100 * kMs, 0);
  f.run({});
  const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
  CHECK(labelled(tasks, "S").accounting.completion == 40 * kMs);
  CHECK(labelled(tasks, "H").accounting.completion == 120 * kMs);
}
