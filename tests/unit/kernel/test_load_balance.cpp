// SMP load balancing: idle CPUs pull work, busy ones even out their queues, affinity is
// honoured, and a migration costs the task its cold-cache time.

#include <catch2/catch.hpp>

#include "kernel_fixture.hpp"
#include "ossim/sys/sched.hpp"

using namespace ossim;
using ossim::testing::KernelFixture;

namespace {

/// Widens its own affinity to every CPU (it starts pinned to CPU 0), then computes
/// argv[1] ms.
kernel::Program unpinning_hog() {
  return {.name = "hog", .main = [](user::Process& self) {
            if (self.sched_setaffinity(0, ~sys::cpu_mask_t{0}) != 0) return 1;
            self.compute_for(std::stoull(self.argv().at(1)) * sim::kMillisecond);
            return 0;
          }};
}

std::vector<kernel::TaskInfo> all_labelled(const std::vector<kernel::TaskInfo>& tasks, std::string_view label) {
  std::vector<kernel::TaskInfo> found;
  for (const kernel::TaskInfo& task : tasks) {
    if (task.label == label) found.push_back(task);
  }
  return found;
}

}  // namespace

TEST_CASE("tasks piled on one CPU spread to the idle one", "[kernel][sched][balance]") {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.policy = "rr";
  config.scheduler.quantum = 5 * sim::kMillisecond;
  // Two CPUs computing at once: a 1 us sync quantum keeps the run fast (times within 1 us).
  KernelFixture f(2, config, std::uint64_t{64} << 20, sim::kMicrosecond);
  f.kernel.register_program(unpinning_hog());
  for (int i = 0; i < 4; ++i) {
    f.kernel.spawn({.path = "/bin/hog", .argv = {"hog", "20"}, .affinity = 0b01, .label = "hog"});
  }
  f.run({});
  const std::vector<kernel::TaskInfo> hogs = all_labelled(f.kernel.tasks(), "hog");
  REQUIRE(hogs.size() == 4);
  std::uint64_t migrations = 0;
  sim::Tick last = 0;
  for (const kernel::TaskInfo& hog : hogs) {
    migrations += hog.accounting.migrations;
    last = std::max(last, hog.accounting.completion);
    CHECK(hog.accounting.user_time + hog.accounting.system_time == 20 * sim::kMillisecond);
  }
  CHECK(migrations >= 1);
  // 80 ms of work: on one CPU it would end at 80 ms; spread over two, near 40 ms (a
  // task waits for an idle tick or a slice end to move).
  CHECK(last <= 50 * sim::kMillisecond);
}

TEST_CASE("pinned tasks stay on their CPU even when another is idle", "[kernel][sched][balance]") {
  KernelFixture f(2);
  f.kernel.register_program({.name = "pinned", .main = [](user::Process& self) {
                               self.compute_for(10 * sim::kMillisecond);
                               return 0;
                             }});
  for (int i = 0; i < 3; ++i) {
    f.kernel.spawn({.path = "/bin/pinned", .argv = {"pinned"}, .affinity = 0b10, .label = "pinned"});
  }
  f.run({});
  for (const kernel::TaskInfo& task : all_labelled(f.kernel.tasks(), "pinned")) CHECK(task.accounting.migrations == 0);
  CHECK(f.kernel.power_off_time() == 30 * sim::kMillisecond);
  CHECK(f.kernel.idle_time(0) >= 30 * sim::kMillisecond);
}

TEST_CASE("a running task whose affinity excludes its CPU moves at once", "[kernel][sched][balance]") {
  KernelFixture f(2);
  unsigned cpu_after = 99;
  f.kernel.register_program({.name = "mover", .main = [&](user::Process& self) {
                               self.compute_for(1 * sim::kMillisecond);
                               if (self.sched_setaffinity(0, 0b10) != 0) return 1;
                               self.compute_for(1 * sim::kMillisecond);
                               cpu_after = f.core().find_task(self.gettid())->se.cpu;
                               return 0;
                             }});
  f.kernel.spawn({.path = "/bin/mover", .argv = {"mover"}, .affinity = 0b01, .label = "mover"});
  f.run({});
  CHECK(cpu_after == 1);
  const auto mover = all_labelled(f.kernel.tasks(), "mover");
  REQUIRE(mover.size() == 1);
  CHECK(mover[0].accounting.migrations == 1);
  CHECK(mover[0].accounting.completion == 2 * sim::kMillisecond);  // no time lost with ideal costs
}

TEST_CASE("a migrated task pays costs.migration once on its new CPU", "[kernel][sched][balance]") {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.costs.migration = 50 * sim::kMicrosecond;
  KernelFixture f(2, config);
  f.kernel.register_program({.name = "mover", .main = [](user::Process& self) {
                               self.compute_for(1 * sim::kMillisecond);
                               if (self.sched_setaffinity(0, 0b10) != 0) return 1;
                               self.compute_for(1 * sim::kMillisecond);
                               return 0;
                             }});
  f.kernel.spawn({.path = "/bin/mover", .argv = {"mover"}, .affinity = 0b01, .label = "mover"});
  f.run({});
  const auto mover = all_labelled(f.kernel.tasks(), "mover");
  REQUIRE(mover.size() == 1);
  // (Costs other than ideal leave the hardware's own small latencies in.)
  CHECK(mover[0].accounting.system_time >= 50 * sim::kMicrosecond);
  CHECK(mover[0].accounting.system_time < 51 * sim::kMicrosecond);
  CHECK(mover[0].accounting.completion >= 2 * sim::kMillisecond + 50 * sim::kMicrosecond);
  CHECK(mover[0].accounting.completion < 2 * sim::kMillisecond + 52 * sim::kMicrosecond);
}

TEST_CASE("a preempted real-time task is pushed to a CPU running fair work", "[kernel][sched][balance]") {
  KernelFixture f(2, KernelFixture::ideal_config(), std::uint64_t{64} << 20, sim::kMicrosecond);
  f.kernel.register_program({.name = "work", .main = [](user::Process& self) {
                               self.compute_for(std::stoull(self.argv().at(1)) * sim::kMillisecond);
                               return 0;
                             }});
  sys::sched_attr low;
  low.size = sys::kSchedAttrSize;
  low.sched_policy = sys::kSchedFifo;
  low.sched_priority = 10;
  sys::sched_attr high = low;
  high.sched_priority = 20;
  // CPU 1 runs a fair hog; on CPU 0 a low-priority RT task is preempted by a high one.
  f.kernel.spawn({.path = "/bin/work", .argv = {"work", "20"}, .affinity = 0b10, .label = "fair"});
  f.kernel.spawn({.path = "/bin/work", .argv = {"work", "10"}, .attr = low, .affinity = 0b11, .label = "low"});
  f.kernel.spawn({.path = "/bin/work", .argv = {"work", "10"}, .at = 2 * sim::kMillisecond, .attr = high,
                  .affinity = 0b01, .label = "high"});
  f.run({});
  const auto low_info = all_labelled(f.kernel.tasks(), "low");
  REQUIRE(low_info.size() == 1);
  // Pushed to CPU 1 when preempted at 2 ms, it loses no time (within the sync quantum).
  CHECK(low_info[0].accounting.migrations >= 1);
  CHECK(low_info[0].accounting.completion <= 10 * sim::kMillisecond + 2 * sim::kMicrosecond);
}
