// The multi-level feedback queue ("mlfq", OSTEP chapter 8): a long job sinks level by
// level, a job that keeps giving up the CPU early stays on top, a long job starves behind
// busy higher levels unless the priority boost lifts it, and giving up the CPU just before
// the quantum ends does not game the allotment. Times are exact (ideal costs).

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernel_fixture.hpp"
#include "kernel/sched/mlfq.hpp"
#include "kernel/sched/scheduler.hpp"

using namespace ossim;
using ossim::testing::KernelFixture;
using ossim::testing::labelled;

namespace {

constexpr sim::Tick kMs = sim::kMillisecond;
constexpr sim::Tick kUs = sim::kMicrosecond;

/// OSTEP's shape unless changed: 3 levels, quanta and allotments of 10, 20, 40 ms.
kernel::KernelConfig mlfq_config(sim::Tick boost) {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.policy = "mlfq";
  config.scheduler.mlfq.levels = 3;
  config.scheduler.mlfq.quantum = {10 * kMs, 20 * kMs, 40 * kMs};
  config.scheduler.mlfq.allotment = {10 * kMs, 20 * kMs, 40 * kMs};
  config.scheduler.mlfq.boost = boost;
  return config;
}

/// "steps <n> <step>...": does its steps n times; a step is c<us> (compute), s<us> (sleep,
/// the job's I/O) or y (sched_yield).
void register_steps(KernelFixture& f) {
  f.kernel.register_program({.name = "steps", .main = [](user::Process& self) {
                               const std::vector<std::string> argv = self.argv();
                               const std::uint64_t count = std::stoull(argv.at(1));
                               for (std::uint64_t i = 0; i < count; ++i) {
                                 for (std::size_t s = 2; s < argv.size(); ++s) {
                                   const std::string& step = argv[s];
                                   if (step[0] == 'c') self.compute_for(std::stoull(step.substr(1)) * kUs);
                                   if (step[0] == 's') self.nanosleep(std::stoull(step.substr(1)) * kUs);
                                   if (step[0] == 'y') self.sched_yield();
                                 }
                               }
                               return 0;
                             }});
}

void spawn(KernelFixture& f, std::string label, sim::Tick at, std::vector<std::string> steps) {
  steps.insert(steps.begin(), "steps");
  f.kernel.spawn({.path = "/bin/steps", .argv = std::move(steps), .at = at, .label = std::move(label)});
}

kernel::Task& task_labelled(KernelFixture& f, std::string_view label) {
  kernel::Task* task = f.core().find_task(labelled(f.kernel.tasks(), label).tid);
  REQUIRE(task != nullptr);
  return *task;
}

/// The level of the job `label` once the simulation has run to `when`.
unsigned level_at(KernelFixture& f, std::string_view label, sim::Tick when) {
  f.engine.run_until(when);
  return kernel::MlfqClass::level_of(task_labelled(f, label));
}

}  // namespace

TEST_CASE("mlfq: a long job moves down one level each time it uses a level's allotment", "[kernel][sched][mlfq]") {
  KernelFixture f(1, mlfq_config(0));
  register_steps(f);
  spawn(f, "L", 0, {"1", "c100000"});
  f.kernel.boot({});
  // Allotments of 10 and 20 ms: level 1 at 10 ms, level 2 at 30 ms, then it stays there.
  CHECK(level_at(f, "L", 10 * kMs - 1) == 0);
  CHECK(level_at(f, "L", 10 * kMs) == 1);
  CHECK(level_at(f, "L", 30 * kMs - 1) == 1);
  CHECK(level_at(f, "L", 30 * kMs) == 2);
  CHECK(level_at(f, "L", 90 * kMs) == 2);
  f.engine.run_until(10 * sim::kSecond);
  const kernel::TaskInfo& l = labelled(f.kernel.tasks(), "L");
  CHECK(l.accounting.completion == 100 * kMs);
  CHECK(l.accounting.first_run == 0);
  CHECK(l.accounting.slices == 1);  // alone, it was never switched out
}

// OSTEP figure 8.3: a long job L (200 ms) runs alone and sinks to the bottom; at 100 ms an
// interactive job I arrives that computes 1 ms and then does 9 ms of I/O, five times. I
// starts at the top (rule 3), preempts L at each wakeup, and uses 5 ms in all, less than
// the top level's 10 ms allotment, so it stays on top and never waits.
TEST_CASE("mlfq: an interactive job stays at the top and runs as soon as it wakes", "[kernel][sched][mlfq]") {
  KernelFixture f(1, mlfq_config(0));
  register_steps(f);
  spawn(f, "L", 0, {"1", "c200000"});
  spawn(f, "I", 100 * kMs, {"5", "c1000", "s9000"});
  f.kernel.boot({});
  CHECK(level_at(f, "L", 99 * kMs) == 2);
  CHECK(level_at(f, "I", 145 * kMs) == 0);
  CHECK(kernel::MlfqClass::allotment_used(task_labelled(f, "I")) == 5 * kMs);
  f.engine.run_until(10 * sim::kSecond);
  const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
  const kernel::TaskInfo& i = labelled(tasks, "I");
  CHECK(i.accounting.first_run == 100 * kMs);
  CHECK(i.accounting.wait_time == 0);
  CHECK(i.accounting.slices == 6);  // a burst each, and its exit after the last I/O
  CHECK(i.accounting.completion == 150 * kMs);
  CHECK(labelled(tasks, "L").accounting.completion == 205 * kMs);
}

// OSTEP figure 8.5 (left and right). Two levels, 20 ms quanta, a 200 ms top-level
// allotment. L (290 ms of CPU) runs alone and reaches the bottom level at 200 ms. At 205
// ms two interactive jobs arrive, each doing ten bursts of 10 ms, with 9 ms of I/O after
// each: one always wakes while the other computes, so together they keep the top level
// busy (their 100 ms each stay under the allotment).
//   - No boost: L gets nothing from 205 ms until they are done: burst k (0-19) runs
//     205 + 10k .. 215 + 10k ms, I1 the even ones, I2 the odd ones; I1 exits at 405 ms
//     (woken at 404, it waits for I2's last burst), I2 at 414; L runs its last 85 ms from
//     405 and ends at 490.
//   - Boost every 300 ms: at 300 ms (I2 running its burst 295-305, I1 asleep until 304)
//     L moves up to the top and gets a full 20 ms turn at 305, then every 40 ms after
//     that (L 20 ms, I1 10 ms, I2 10 ms); it ends at 470 ms, and the jobs it shared the CPU
//     with finish later: I1 at 490 ms, I2 at 499.
TEST_CASE("mlfq: without the boost a long job starves behind busy higher levels, the boost lifts it",
          "[kernel][sched][mlfq]") {
  const auto run = [](sim::Tick boost, sim::Tick* l_runtime_at_400) {
    kernel::KernelConfig config = mlfq_config(boost);
    config.scheduler.mlfq.levels = 2;
    config.scheduler.mlfq.quantum = {20 * kMs, 20 * kMs};
    config.scheduler.mlfq.allotment = {200 * kMs, 200 * kMs};
    auto f = std::make_unique<KernelFixture>(1, config);
    register_steps(*f);
    spawn(*f, "L", 0, {"1", "c290000"});
    spawn(*f, "I1", 205 * kMs, {"10", "c10000", "s9000"});
    spawn(*f, "I2", 205 * kMs, {"10", "c10000", "s9000"});
    f->kernel.boot({});
    CHECK(level_at(*f, "L", 204 * kMs) == 1);
    f->engine.run_until(400 * kMs);
    *l_runtime_at_400 = task_labelled(*f, "L").se.total_runtime;
    f->engine.run_until(10 * sim::kSecond);
    return f;
  };
  SECTION("no boost") {
    sim::Tick l_at_400 = 0;
    const auto f = run(0, &l_at_400);
    CHECK(l_at_400 == 205 * kMs);
    const std::vector<kernel::TaskInfo> tasks = f->kernel.tasks();
    CHECK(labelled(tasks, "I1").accounting.completion == 405 * kMs);
    CHECK(labelled(tasks, "I2").accounting.completion == 414 * kMs);
    CHECK(labelled(tasks, "L").accounting.completion == 490 * kMs);
  }
  SECTION("boost every 300 ms") {
    sim::Tick l_at_400 = 0;
    const auto f = run(300 * kMs, &l_at_400);
    CHECK(l_at_400 == (205 + 20 + 20 + 15) * kMs);  // turns at 305, 345 and 385 ms
    const std::vector<kernel::TaskInfo> tasks = f->kernel.tasks();
    CHECK(labelled(tasks, "L").accounting.completion == 470 * kMs);
    CHECK(labelled(tasks, "I1").accounting.completion == 490 * kMs);
    CHECK(labelled(tasks, "I2").accounting.completion == 499 * kMs);
  }
}

TEST_CASE("mlfq: the boost lifts the running job at exactly k x boost and restarts its turn", "[kernel][sched][mlfq]") {
  // L alone: level 0 until 10 ms, level 1 until 30 ms, level 2 at the boost (50 ms), which
  // puts it back on top with a fresh allotment: level 1 again at 60 ms.
  KernelFixture f(1, mlfq_config(50 * kMs));
  register_steps(f);
  spawn(f, "L", 0, {"1", "c120000"});
  f.kernel.boot({});
  CHECK(level_at(f, "L", 50 * kMs - 1) == 2);
  CHECK(level_at(f, "L", 50 * kMs) == 0);
  CHECK(level_at(f, "L", 60 * kMs - 1) == 0);
  CHECK(level_at(f, "L", 60 * kMs) == 1);
  CHECK(level_at(f, "L", 80 * kMs) == 2);
  CHECK(level_at(f, "L", 100 * kMs) == 0);
  f.engine.run_until(10 * sim::kSecond);
  CHECK(labelled(f.kernel.tasks(), "L").accounting.completion == 120 * kMs);
  CHECK(labelled(f.kernel.tasks(), "L").accounting.slices == 1);  // it kept the CPU throughout
  // Nothing of the class is left: its boost timer is not pending, nor anything else.
  CHECK(f.engine.next_event_time() == sim::kTickNever);
}

TEST_CASE("mlfq: a job asleep across a boost wakes at the top", "[kernel][sched][mlfq]") {
  // S computes 35 ms (level 2 from 30 ms), sleeps 100 ms across the boost at 50 ms, then
  // computes 5 ms: boosted when it wakes at 135 ms.
  KernelFixture f(1, mlfq_config(50 * kMs));
  register_steps(f);
  spawn(f, "S", 0, {"1", "c35000", "s100000", "c5000"});
  f.kernel.boot({});
  CHECK(level_at(f, "S", 100 * kMs) == 2);
  CHECK(level_at(f, "S", 136 * kMs) == 0);
  f.engine.run_until(10 * sim::kSecond);
  CHECK(labelled(f.kernel.tasks(), "S").accounting.completion == 140 * kMs);
}

// OSTEP figure 8.4: G computes 9.9 ms and then gives up the CPU for 0.1 ms, over and
// over, next to a CPU hog H. With the allotment counted over all its turns, G is demoted
// anyway: G 0-9.9 ms, H 9.9-19.9 (its 10 ms: to level 1), G's second burst gets the 0.1
// ms left of its allotment and G moves to level 1 at 20.0 ms; at level 1 H runs 20-40 (to
// level 2), G 40-49.8 and, woken at 49.9 above H, 49.9-59.8 and 59.9-60.2: its 20 ms at
// level 1 are used at 60.2 ms.
TEST_CASE("mlfq: giving up the CPU just before the quantum ends does not game the allotment",
          "[kernel][sched][mlfq]") {
  SECTION("sleeping for 0.1 ms") {
    KernelFixture f(1, mlfq_config(0));
    register_steps(f);
    spawn(f, "G", 0, {"20", "c9900", "s100"});
    spawn(f, "H", 0, {"1", "c300000"});
    f.kernel.boot({});
    CHECK(level_at(f, "H", 19900 * kUs) == 1);
    CHECK(level_at(f, "G", 20 * kMs - 1) == 0);
    CHECK(level_at(f, "G", 20 * kMs) == 1);
    CHECK(level_at(f, "G", 60200 * kUs - 1) == 1);
    CHECK(level_at(f, "G", 60200 * kUs) == 2);
  }
  SECTION("yielding") {
    KernelFixture f(1, mlfq_config(0));
    register_steps(f);
    spawn(f, "G", 0, {"20", "c9900", "y"});
    spawn(f, "H", 0, {"1", "c300000"});
    f.kernel.boot({});
    CHECK(level_at(f, "G", 20 * kMs - 1) == 0);
    CHECK(level_at(f, "G", 20 * kMs) == 1);
  }
}

TEST_CASE("mlfq: a job preempted by a higher level resumes first, with the rest of its turn",
          "[kernel][sched][mlfq]") {
  kernel::KernelConfig config = mlfq_config(0);
  config.scheduler.mlfq.levels = 2;
  config.scheduler.mlfq.quantum = {10 * kMs, 10 * kMs};
  config.scheduler.mlfq.allotment = {10 * kMs, 10 * kMs};
  KernelFixture f(1, config);
  register_steps(f);
  // Two levels of 10 ms. A and B (45.5 ms each) sink to level 1 (A at 10 ms, B at 20).
  // W arrives at 25 ms on top, preempts A (whose level-1 turn began at 20) and runs 1 ms;
  // A resumes at 26 ms, ahead of B, for the 5 ms left of its turn, until 31.
  spawn(f, "A", 0, {"1", "c45500"});
  spawn(f, "B", 0, {"1", "c45500"});
  spawn(f, "W", 25 * kMs, {"1", "c1000"});
  f.kernel.boot({});
  f.engine.run_until(31 * kMs);
  CHECK(task_labelled(f, "A").se.total_runtime == 20 * kMs);
  CHECK(task_labelled(f, "B").se.total_runtime == 10 * kMs);
  f.engine.run_until(10 * sim::kSecond);
  const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
  CHECK(labelled(tasks, "W").accounting.completion == 26 * kMs);
  CHECK(labelled(tasks, "W").accounting.wait_time == 0);
  // Then 10 ms turns alternate: B 31-41, A 41-51, B 51-61, A 61-71, B 71-81, A 81-91
  // (A's 45.5 ms are done at 86.5), B 86.5-92.
  CHECK(labelled(tasks, "A").accounting.completion == 86500 * kUs);
  CHECK(labelled(tasks, "B").accounting.completion == 92 * kMs);
}
