// The real-time class (SCHED_FIFO, SCHED_RR): preemption of fair tasks on wakeup, the
// priority order, POSIX's head/tail rules (preempted: head; yield and slice end: tail),
// the exact RR slice, CPU selection with affinity; and the errno values of the
// scheduling syscalls. Kernel costs and hardware latencies are zero: times are exact.

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel_fixture.hpp"
#include "kernel/sched/realtime.hpp"
#include "kernel/sched/scheduler.hpp"
#include "ossim/sys/sched.hpp"

using namespace ossim;
using testing::KernelFixture;
using testing::labelled;

namespace {

constexpr sim::Tick kMs = sim::kMillisecond;
using testing::errno_of;

sys::sched_attr rt_attr(int policy, int priority) {
  sys::sched_attr attr;
  attr.size = sys::kSchedAttrSize;
  attr.sched_policy = static_cast<std::uint32_t>(policy);
  attr.sched_priority = static_cast<std::uint32_t>(priority);
  return attr;
}
sys::sched_attr fifo(int priority) { return rt_attr(sys::kSchedFifo, priority); }
sys::sched_attr round_robin(int priority) { return rt_attr(sys::kSchedRr, priority); }

/// Registers a program called `name` that computes for `cpu` of CPU time.
void register_compute(KernelFixture& f, const std::string& name, sim::Tick cpu) {
  f.kernel.register_program({.name = name, .main = [cpu](user::Process& self) {
                               self.compute_for(cpu);
                               return 0;
                             }});
}

/// Spawns `/bin/<program>` at `at` with `attr`, labelled `label`.
void spawn(KernelFixture& f, const std::string& program, sim::Tick at, std::optional<sys::sched_attr> attr,
           const std::string& label) {
  f.kernel.spawn({.path = "/bin/" + program, .argv = {program}, .at = at, .attr = attr, .label = label});
}

sim::Tick completion(KernelFixture& f, std::string_view label) {
  return labelled(f.kernel.tasks(), label).accounting.completion;
}

kernel::KernelConfig config_with_fair(const std::string& fair_policy) {
  kernel::KernelConfig config = KernelFixture::ideal_config();
  config.scheduler.policy = fair_policy;
  return config;
}

}  // namespace

// ---- Against the fair class -------------------------------------------------------------

TEST_CASE("a waking SCHED_FIFO task preempts a running fair CPU hog at its wake time", "[kernel][sched][rt]") {
  const std::string fair = GENERATE(std::string("rr"), std::string("cfs"));
  CAPTURE(fair);
  KernelFixture f(1, config_with_fair(fair));
  sim::Tick woke = 0, done = 0;
  register_compute(f, "hog", 20 * kMs);
  f.kernel.register_program({.name = "rt", .main = [&](user::Process& self) {
                               self.sleep_until(5 * kMs);
                               woke = self.now();
                               self.compute_for(3 * kMs);
                               done = self.now();
                               return 0;
                             }});
  spawn(f, "hog", 0, std::nullopt, "hog");
  spawn(f, "rt", 0, fifo(10), "rt");
  f.run({});
  CHECK(woke == 5 * kMs);
  CHECK(done == 8 * kMs);
  CHECK(completion(f, "hog") == 23 * kMs);
}

TEST_CASE("a SCHED_FIFO task arriving while a fair task runs is first put on the CPU at its arrival",
          "[kernel][sched][rt]") {
  KernelFixture f(1);
  register_compute(f, "hog", 10 * kMs);
  register_compute(f, "job", 2 * kMs);
  spawn(f, "hog", 0, std::nullopt, "hog");
  spawn(f, "job", 4 * kMs, fifo(1), "job");
  f.run({});
  const kernel::TaskInfo& job = labelled(f.kernel.tasks(), "job");
  CHECK(job.accounting.first_run == 4 * kMs);
  CHECK(job.accounting.completion == 6 * kMs);
  CHECK(completion(f, "hog") == 12 * kMs);
}

TEST_CASE("a SCHED_FIFO hog keeps the CPU from fair tasks until it is done", "[kernel][sched][rt]") {
  KernelFixture f(1, config_with_fair("cfs"));
  register_compute(f, "fair", 1 * kMs);
  register_compute(f, "hog", 30 * kMs);
  spawn(f, "hog", 0, fifo(50), "hog");
  spawn(f, "fair", 1 * kMs, std::nullopt, "fair");
  f.run({});
  // No RT throttling: the fair task waits the whole 30 ms.
  CHECK(completion(f, "hog") == 30 * kMs);
  CHECK(labelled(f.kernel.tasks(), "fair").accounting.first_run == 30 * kMs);
  CHECK(completion(f, "fair") == 31 * kMs);
}

// ---- Priorities and POSIX's list rules --------------------------------------------------

TEST_CASE("SCHED_FIFO runs the highest priority first, and equal priorities in arrival order to completion",
          "[kernel][sched][rt]") {
  KernelFixture f(1);
  register_compute(f, "blocker", 10 * kMs);
  register_compute(f, "a", 3 * kMs);
  register_compute(f, "b", 2 * kMs);
  register_compute(f, "c", 1 * kMs);
  spawn(f, "blocker", 0, fifo(50), "blocker");
  spawn(f, "a", 1 * kMs, fifo(10), "a");
  spawn(f, "b", 2 * kMs, fifo(20), "b");
  spawn(f, "c", 3 * kMs, fifo(10), "c");
  f.run({});
  CHECK(completion(f, "blocker") == 10 * kMs);
  CHECK(completion(f, "b") == 12 * kMs);
  CHECK(completion(f, "a") == 15 * kMs);
  CHECK(completion(f, "c") == 16 * kMs);
}

TEST_CASE("a SCHED_FIFO task preempted by a higher priority resumes before the others of its priority",
          "[kernel][sched][rt]") {
  KernelFixture f(1);
  register_compute(f, "x", 4 * kMs);
  register_compute(f, "y", 2 * kMs);
  register_compute(f, "high", 1 * kMs);
  spawn(f, "x", 0, fifo(10), "x");
  spawn(f, "y", 1 * kMs, fifo(10), "y");
  spawn(f, "high", 2 * kMs, fifo(30), "high");
  f.run({});
  CHECK(labelled(f.kernel.tasks(), "high").accounting.first_run == 2 * kMs);
  CHECK(completion(f, "high") == 3 * kMs);
  CHECK(completion(f, "x") == 5 * kMs);  // back at the head: its last 2 ms at 3-5
  CHECK(labelled(f.kernel.tasks(), "y").accounting.first_run == 5 * kMs);
  CHECK(completion(f, "y") == 7 * kMs);
}

TEST_CASE("sched_yield sends a SCHED_FIFO task to the tail of its priority's list", "[kernel][sched][rt]") {
  KernelFixture f(1);
  sim::Tick resumed = 0;
  f.kernel.register_program({.name = "yielder", .main = [&](user::Process& self) {
                               self.compute_for(1 * kMs);
                               self.sched_yield();
                               resumed = self.now();
                               self.compute_for(1 * kMs);
                               return 0;
                             }});
  register_compute(f, "other", 1 * kMs);
  spawn(f, "yielder", 0, fifo(10), "yielder");
  spawn(f, "other", kMs / 2, fifo(10), "other");
  f.run({});
  CHECK(completion(f, "other") == 2 * kMs);
  CHECK(resumed == 2 * kMs);
  CHECK(completion(f, "yielder") == 3 * kMs);
}

TEST_CASE("sched_yield by a SCHED_FIFO task alone at its priority returns at once", "[kernel][sched][rt]") {
  KernelFixture f(1);
  sim::Tick after = 1;
  register_compute(f, "low", 1 * kMs);
  f.kernel.register_program({.name = "yielder", .main = [&](user::Process& self) {
                               self.compute_for(1 * kMs);
                               self.sched_yield();
                               after = self.now();
                               return 0;
                             }});
  spawn(f, "low", 0, fifo(5), "low");
  spawn(f, "yielder", 0, fifo(10), "yielder");
  f.run({});
  CHECK(after == 1 * kMs);
  CHECK(completion(f, "low") == 2 * kMs);
}

TEST_CASE("raising a queued task's priority above the running one's preempts it", "[kernel][sched][rt]") {
  KernelFixture f(1);
  sys::pid_t waiting = 0;
  int result = -1;
  register_compute(f, "waiting", 2 * kMs);
  f.kernel.register_program({.name = "raiser", .main = [&](user::Process& self) {
                               self.compute_for(1 * kMs);
                               // The other task (spawned second) is the next pid.
                               waiting = self.getpid() + 1;
                               result = self.sched_setparam(waiting, 40);
                               self.compute_for(1 * kMs);
                               return 0;
                             }});
  spawn(f, "raiser", 0, fifo(20), "raiser");
  spawn(f, "waiting", 0, fifo(10), "waiting");
  f.run({});
  CHECK(result == 0);
  CHECK(completion(f, "waiting") == 3 * kMs);
  CHECK(completion(f, "raiser") == 4 * kMs);
}

// ---- SCHED_RR ---------------------------------------------------------------------------

TEST_CASE("two SCHED_RR tasks of one priority alternate every quantum", "[kernel][sched][rt][rr]") {
  KernelFixture f(1);  // quantum 10 ms
  register_compute(f, "a", 25 * kMs);
  register_compute(f, "b", 25 * kMs);
  spawn(f, "a", 0, round_robin(10), "a");
  spawn(f, "b", 1 * kMs, round_robin(10), "b");
  f.run({});
  // a 0-10, b 10-20, a 20-30, b 30-40, a 40-45, b 45-50.
  const kernel::TaskInfo& a = labelled(f.kernel.tasks(), "a");
  const kernel::TaskInfo& b = labelled(f.kernel.tasks(), "b");
  CHECK(b.accounting.first_run == 10 * kMs);
  CHECK(a.accounting.completion == 45 * kMs);
  CHECK(b.accounting.completion == 50 * kMs);
  CHECK(a.accounting.slices == 3);
  CHECK(b.accounting.slices == 3);
}

TEST_CASE("SCHED_FIFO tasks of one priority do not alternate", "[kernel][sched][rt]") {
  KernelFixture f(1);
  register_compute(f, "a", 25 * kMs);
  register_compute(f, "b", 25 * kMs);
  spawn(f, "a", 0, fifo(10), "a");
  spawn(f, "b", 1 * kMs, fifo(10), "b");
  f.run({});
  CHECK(completion(f, "a") == 25 * kMs);
  CHECK(completion(f, "b") == 50 * kMs);
}

TEST_CASE("a preempted SCHED_RR task resumes at the head with the rest of its slice", "[kernel][sched][rt][rr]") {
  KernelFixture f(1);
  register_compute(f, "a", 25 * kMs);
  register_compute(f, "b", 25 * kMs);
  register_compute(f, "high", 4 * kMs);
  spawn(f, "a", 0, round_robin(10), "a");
  spawn(f, "b", 1 * kMs, round_robin(10), "b");
  spawn(f, "high", 5 * kMs, fifo(50), "high");
  f.run({});
  // a 0-5, high 5-9, a 9-14 (the 5 ms left of its slice), b 14-24, a 24-34, b 34-44,
  // a 44-49, b 49-54.
  CHECK(completion(f, "high") == 9 * kMs);
  CHECK(labelled(f.kernel.tasks(), "b").accounting.first_run == 14 * kMs);
  CHECK(completion(f, "a") == 49 * kMs);
  CHECK(completion(f, "b") == 54 * kMs);
}

TEST_CASE("a SCHED_RR task alone at its priority keeps the CPU past its quantum", "[kernel][sched][rt][rr]") {
  KernelFixture f(1);
  register_compute(f, "a", 35 * kMs);
  register_compute(f, "low", 1 * kMs);
  spawn(f, "a", 0, round_robin(10), "a");
  spawn(f, "low", 0, round_robin(5), "low");
  f.run({});
  CHECK(completion(f, "a") == 35 * kMs);
  CHECK(completion(f, "low") == 36 * kMs);
}

// ---- Several CPUs -----------------------------------------------------------------------

// Two CPUs computing at once advance in picosecond lockstep under the ideal timing, so
// the tasks here compute for nanoseconds.
TEST_CASE("a waking real-time task goes to the CPU running the lowest priority", "[kernel][sched][rt][smp]") {
  constexpr sim::Tick kNs = sim::kNanosecond;
  KernelFixture f(2);
  unsigned cpu_of_high = 99, cpu_of_rt = 99;
  sim::Tick rt_started = 0;
  f.kernel.register_program({.name = "high", .main = [&](user::Process& self) {
                               cpu_of_high = f.core().find_task(self.getpid())->se.cpu;
                               self.compute_for(300 * kNs);
                               return 0;
                             }});
  register_compute(f, "fair", 300 * kNs);
  f.kernel.register_program({.name = "rt", .main = [&](user::Process& self) {
                               rt_started = self.now();
                               cpu_of_rt = f.core().find_task(self.getpid())->se.cpu;
                               self.compute_for(100 * kNs);
                               return 0;
                             }});
  spawn(f, "high", 0, fifo(50), "high");
  spawn(f, "fair", 0, std::nullopt, "fair");
  spawn(f, "rt", 100 * kNs, fifo(10), "rt");
  f.run({});
  // Not behind the priority-50 task: on the other CPU, ahead of the fair task.
  CHECK(cpu_of_high != 99);
  CHECK(cpu_of_rt == 1 - cpu_of_high);
  CHECK(rt_started == 100 * kNs);
  CHECK(completion(f, "high") == 300 * kNs);
  CHECK(completion(f, "rt") == 200 * kNs);
  CHECK(completion(f, "fair") == 400 * kNs);
}

TEST_CASE("sched_setaffinity moves a real-time task to an allowed CPU", "[kernel][sched][rt][smp]") {
  KernelFixture f(2);
  unsigned before = 99, after = 99, again = 99;
  int first = -1, second = -1;
  f.kernel.register_program({.name = "mover", .main = [&](user::Process& self) {
                               kernel::Task* me = f.core().find_task(self.getpid());
                               first = self.sched_setaffinity(0, 0b01);
                               before = me->se.cpu;
                               second = self.sched_setaffinity(0, 0b10);
                               after = me->se.cpu;
                               self.compute_for(1 * kMs);
                               again = me->se.cpu;
                               return 0;
                             }});
  spawn(f, "mover", 0, fifo(10), "mover");
  f.run({});
  CHECK(first == 0);
  CHECK(second == 0);
  CHECK(before == 0);
  CHECK(after == 1);
  CHECK(again == 1);
}

// ---- The syscalls' errno values ---------------------------------------------------------

TEST_CASE("sched_setscheduler validates policy, priority and pid as Linux does", "[kernel][sched][rt][errors]") {
  KernelFixture f(1);
  std::int64_t fifo_zero = 0, other_five = 0, unknown_pid = 0, negative_pid = 0, bad_policy = 0, deadline = 0;
  std::int64_t ok = -1, policy = -1, param = -1, rr_ok = -1, rr_policy = -1, setparam_zero = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      fifo_zero = self.sched_setscheduler(0, sys::kSchedFifo, 0);
      other_five = self.sched_setscheduler(0, sys::kSchedOther, 5);
      unknown_pid = self.sched_setscheduler(4000, sys::kSchedFifo, 10);
      negative_pid = self.sched_setscheduler(-1, sys::kSchedFifo, 10);
      bad_policy = self.sched_setscheduler(0, 4, 0);
      deadline = self.sched_setscheduler(0, sys::kSchedDeadline, 0);
      ok = self.sched_setscheduler(0, sys::kSchedFifo | sys::kSchedResetOnFork, 10);
      policy = self.sched_getscheduler(0);
      param = self.sched_getparam(0);
      setparam_zero = self.sched_setparam(0, 0);
      rr_ok = self.sched_setscheduler(0, sys::kSchedRr, 99);
      rr_policy = self.sched_getscheduler(0);
      return 0;
    });
    int status = 0;
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(fifo_zero == errno_of(sys::Errno::kEINVAL));
  CHECK(other_five == errno_of(sys::Errno::kEINVAL));
  CHECK(unknown_pid == errno_of(sys::Errno::kESRCH));
  CHECK(negative_pid == errno_of(sys::Errno::kEINVAL));
  CHECK(bad_policy == errno_of(sys::Errno::kEINVAL));
  CHECK(deadline == errno_of(sys::Errno::kEINVAL));
  CHECK(ok == 0);
  CHECK(policy == (sys::kSchedFifo | sys::kSchedResetOnFork));
  CHECK(param == 10);
  CHECK(setparam_zero == errno_of(sys::Errno::kEINVAL));
  CHECK(rr_ok == 0);
  CHECK(rr_policy == sys::kSchedRr);
}

TEST_CASE("sched_get_priority_max and min give 1-99 for the real-time policies and 0 otherwise",
          "[kernel][sched][rt][errors]") {
  KernelFixture f(1);
  std::vector<std::int64_t> got;
  f.run([&](user::Process& init) {
    got = {init.sched_get_priority_max(sys::kSchedFifo), init.sched_get_priority_min(sys::kSchedFifo),
           init.sched_get_priority_max(sys::kSchedRr),   init.sched_get_priority_min(sys::kSchedRr),
           init.sched_get_priority_max(sys::kSchedOther), init.sched_get_priority_min(sys::kSchedOther),
           init.sched_get_priority_max(sys::kSchedDeadline), init.sched_get_priority_max(42)};
    return 0;
  });
  const std::vector<std::int64_t> expected = {99, 1, 99, 1, 0, 0, 0, errno_of(sys::Errno::kEINVAL)};
  CHECK(got == expected);
}

TEST_CASE("children of a real-time task inherit its policy unless reset_on_fork is set", "[kernel][sched][rt]") {
  KernelFixture f(1);
  std::int64_t kept_policy = -1, kept_param = -1, reset_policy = -1, reset_param = -1;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.sched_setscheduler(0, sys::kSchedRr, 30);
      int status = 0;
      self.waitpid(self.fork([&](user::Process& grandchild) {
                     kept_policy = grandchild.sched_getscheduler(0);
                     kept_param = grandchild.sched_getparam(0);
                     return 0;
                   }),
                   &status);
      self.sched_setscheduler(0, sys::kSchedRr | sys::kSchedResetOnFork, 30);
      self.waitpid(self.fork([&](user::Process& grandchild) {
                     reset_policy = grandchild.sched_getscheduler(0);
                     reset_param = grandchild.sched_getparam(0);
                     return 0;
                   }),
                   &status);
      return 0;
    });
    int status = 0;
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(kept_policy == sys::kSchedRr);
  CHECK(kept_param == 30);
  CHECK(reset_policy == sys::kSchedOther);
  CHECK(reset_param == 0);
}

TEST_CASE("the real-time class schedules both SCHED_FIFO and SCHED_RR", "[kernel][sched][rt]") {
  KernelFixture f(1);
  kernel::RtClass* rt = dynamic_cast<kernel::RtClass*>(f.core().scheduler().class_for(sys::kSchedFifo));
  REQUIRE(rt != nullptr);
  CHECK(rt->name() == "rt");
  CHECK(f.core().scheduler().class_for(sys::kSchedRr) == rt);
}
