// Kernel::spawn: processes started by the kernel at their arrival times, with their
// scheduling attributes in place before they first run.

#include <catch2/catch.hpp>

#include "kernel_fixture.hpp"
#include "ossim/sys/sched.hpp"

using namespace ossim;
using ossim::testing::KernelFixture;
using ossim::testing::labelled;

namespace {

/// A program that computes for argv[1] milliseconds of CPU time.
kernel::Program busy_program() {
  return {.name = "busy", .main = [](user::Process& self) {
            const std::vector<std::string> argv = self.argv();
            self.compute_for(std::stoull(argv.at(1)) * sim::kMillisecond);
            return 0;
          }};
}

}  // namespace

TEST_CASE("a spawned process arrives at its time and runs its CPU length exactly", "[kernel][spawn]") {
  KernelFixture f(1);
  f.kernel.register_program(busy_program());
  f.kernel.spawn({.path = "/bin/busy", .argv = {"busy", "5"}, .at = 10 * sim::kMillisecond, .label = "A"});
  f.run({});
  const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
  const kernel::TaskInfo& a = labelled(tasks, "A");
  CHECK(a.ppid == 1);
  CHECK(a.name == "busy");
  CHECK(a.accounting.arrival == 10 * sim::kMillisecond);
  CHECK(a.accounting.first_run == 10 * sim::kMillisecond);
  CHECK(a.accounting.completion == 15 * sim::kMillisecond);
  CHECK(sys::exited_normally(a.exit_status));
  // Init waited for it: the machine powered off when it was reaped.
  CHECK(f.kernel.power_off_time() == 15 * sim::kMillisecond);
}

TEST_CASE("a spawned process has its attributes before it first runs", "[kernel][spawn]") {
  KernelFixture f(2);
  int seen_nice = 99;
  std::int64_t seen_mask = 0;
  f.kernel.register_program({.name = "probe", .main = [&](user::Process& self) {
                               seen_nice = self.getpriority(sys::kPrioProcess, 0);
                               seen_mask = self.sched_getaffinity(0);
                               return 0;
                             }});
  sys::sched_attr attr;
  attr.size = sys::kSchedAttrSize;
  attr.sched_policy = sys::kSchedOther;
  attr.sched_nice = 7;
  f.kernel.spawn({.path = "/bin/probe", .argv = {"probe"}, .attr = attr, .affinity = 0b10, .label = "P"});
  f.run({});
  CHECK(seen_nice == 7);
  CHECK(seen_mask == 0b10);
}

TEST_CASE("spawn rejects bad attributes and an empty affinity", "[kernel][spawn]") {
  KernelFixture f(2);
  sys::sched_attr attr;
  attr.size = sys::kSchedAttrSize;
  attr.sched_policy = sys::kSchedFifo;
  attr.sched_priority = 0;  // real-time priorities are 1-99
  CHECK_THROWS_WITH(f.kernel.spawn({.path = "/bin/x", .attr = attr}), Catch::Contains("EINVAL"));
  CHECK_THROWS_WITH(f.kernel.spawn({.path = "/bin/x", .affinity = 0b100}), Catch::Contains("none of the 2 CPUs"));
}

TEST_CASE("a spawned path that cannot be executed exits with 127", "[kernel][spawn]") {
  KernelFixture f(1);
  f.kernel.spawn({.path = "/bin/missing", .argv = {"missing"}, .label = "M"});
  f.run({});
  const kernel::TaskInfo& m = labelled(f.kernel.tasks(), "M");
  CHECK(sys::exit_code(m.exit_status) == 127);
  CHECK(f.machine.console().output().find("spawn: cannot execute /bin/missing") != std::string::npos);
}
