// Time: nanosleep sleeps the simulated time asked for without using the CPU; clocks
// read the simulated time; sched_yield hands the CPU to another runnable task.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

using testing::errno_of;

sim::Tick to_tick(const sys::timespec& t) {
  return static_cast<sim::Tick>(t.tv_sec) * sim::kSecond + static_cast<sim::Tick>(t.tv_nsec) * sim::kNanosecond;
}

/// nanosleep through the raw syscall with a timespec written to simulated memory.
std::int64_t raw_nanosleep(user::Process& self, std::int64_t seconds, std::int64_t nanoseconds) {
  const auto page = static_cast<mmu::VirtAddr>(
      self.mmap(0, 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
  self.store(page, sys::timespec{seconds, nanoseconds});
  const std::int64_t result = self.syscall(sys::nr::nanosleep, page, 0);
  self.munmap(page, 4096);
  return result;
}

}  // namespace

TEST_CASE("nanosleep sleeps the requested simulated time by CLOCK_MONOTONIC", "[kernel][time][sleep]") {
  KernelFixture f;
  sys::timespec before, after;
  int result = -1, clock_before = -1, clock_after = -1;
  f.run([&](user::Process& init) {
    clock_before = init.clock_gettime(sys::kClockMonotonic, before);
    result = init.nanosleep(5 * sim::kMillisecond + 250 * sim::kMicrosecond);
    clock_after = init.clock_gettime(sys::kClockMonotonic, after);
    return 0;
  });
  CHECK(clock_before == 0);
  CHECK(clock_after == 0);
  CHECK(result == 0);
  const sim::Tick slept = to_tick(after) - to_tick(before);
  CHECK(slept >= 5 * sim::kMillisecond + 250 * sim::kMicrosecond);
  CHECK(slept <= 5 * sim::kMillisecond + 260 * sim::kMicrosecond);
}

TEST_CASE("nanosleep of whole seconds sleeps them", "[kernel][time][sleep]") {
  KernelFixture f;
  sim::Tick before = 0, after = 0;
  f.run([&](user::Process& init) {
    before = init.now();
    init.nanosleep(2 * sim::kSecond);
    after = init.now();
    return 0;
  });
  CHECK(after - before >= 2 * sim::kSecond);
  CHECK(after - before < 2 * sim::kSecond + 10 * sim::kMicrosecond);
}

TEST_CASE("with default costs nanosleep still sleeps at least the requested time", "[kernel][time][sleep]") {
  KernelFixture f(1, kernel::KernelConfig{});
  sys::timespec before, after;
  f.run([&](user::Process& init) {
    init.clock_gettime(sys::kClockMonotonic, before);
    init.nanosleep(3 * sim::kMillisecond);
    init.clock_gettime(sys::kClockMonotonic, after);
    return 0;
  });
  const sim::Tick slept = to_tick(after) - to_tick(before);
  CHECK(slept >= 3 * sim::kMillisecond);
  CHECK(slept < 3 * sim::kMillisecond + 50 * sim::kMicrosecond);
}

TEST_CASE("a sleeping task is in state S and the CPU idles meanwhile", "[kernel][time][sleep]") {
  KernelFixture f;
  sys::pid_t sleeper = 0;
  kernel::TaskState state_while_asleep = kernel::TaskState::kRunning;
  f.run([&](user::Process& init) {
    sleeper = init.fork([](user::Process& self) {
      self.nanosleep(20 * sim::kMillisecond);
      return 0;
    });
    init.nanosleep(10 * sim::kMillisecond);
    state_while_asleep = f.kernel.task(sleeper)->state;
    int status = 0;
    init.waitpid(sleeper, &status);
    return 0;
  });
  CHECK(state_while_asleep == kernel::TaskState::kInterruptible);
  const auto info = f.kernel.task(sleeper);
  REQUIRE(info);
  CHECK(info->accounting.voluntary_switches >= 1);
  CHECK(info->accounting.completion - info->accounting.arrival >= 20 * sim::kMillisecond);
  CHECK(f.kernel.idle_time(0) >= 19 * sim::kMillisecond);
}

TEST_CASE("a task asleep in nanosleep is charged no CPU time",
          "[kernel][time][sleep][accounting]") {
  KernelFixture f;
  sys::pid_t sleeper = 0;
  sys::rusage usage;
  f.run([&](user::Process& init) {
    sleeper = init.fork([](user::Process& self) {
      self.nanosleep(20 * sim::kMillisecond);
      return 0;
    });
    int status = 0;
    init.wait4(sleeper, &status, 0, &usage);
    return 0;
  });
  const auto info = f.kernel.task(sleeper);
  REQUIRE(info);
  CHECK(info->accounting.user_time + info->accounting.system_time < 10 * sim::kMicrosecond);
  CHECK(usage.ru_stime.tv_sec == 0);
  CHECK(usage.ru_stime.tv_usec < 10);
}

TEST_CASE("sleepers wake in the order of their deadlines", "[kernel][time][sleep]") {
  KernelFixture f;
  std::string order;
  f.run([&](user::Process& init) {
    for (int ms : {7, 3, 9, 1, 5}) {
      init.fork([&order, ms](user::Process& self) {
        self.nanosleep(static_cast<sim::Tick>(ms) * sim::kMillisecond);
        order += std::to_string(ms);
        return 0;
      });
    }
    return 0;
  });
  CHECK(order == "13579");
}

TEST_CASE("nanosleep with tv_nsec of 1e9 or more, or negative fields, returns EINVAL", "[kernel][time][errors]") {
  KernelFixture f;
  std::int64_t too_many_ns = 0, negative_ns = 0, negative_s = 0, max_ns = -1;
  sim::Tick elapsed = 1;
  f.run([&](user::Process& init) {
    const sim::Tick before = init.now();
    too_many_ns = raw_nanosleep(init, 0, 1'000'000'000);
    negative_ns = raw_nanosleep(init, 0, -1);
    negative_s = raw_nanosleep(init, -1, 0);
    elapsed = init.now() - before;
    max_ns = raw_nanosleep(init, 0, 999'999'999);
    return 0;
  });
  CHECK(too_many_ns == errno_of(sys::Errno::kEINVAL));
  CHECK(negative_ns == errno_of(sys::Errno::kEINVAL));
  CHECK(negative_s == errno_of(sys::Errno::kEINVAL));
  CHECK(elapsed < sim::kMillisecond);  // the refused sleeps did not sleep
  CHECK(max_ns == 0);
}

TEST_CASE("nanosleep of zero returns at once", "[kernel][time][sleep]") {
  KernelFixture f;
  int result = -1;
  sim::Tick elapsed = 1;
  f.run([&](user::Process& init) {
    const sim::Tick before = init.now();
    result = init.nanosleep(0);
    elapsed = init.now() - before;
    return 0;
  });
  CHECK(result == 0);
  CHECK(elapsed < sim::kMicrosecond);
}

TEST_CASE("a signal that kills a sleeper ends its sleep early", "[kernel][time][sleep]") {
  KernelFixture f;
  int status = 0;
  sim::Tick reaped_at = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([](user::Process& self) {
      self.nanosleep(sim::kSecond);
      return 0;
    });
    init.nanosleep(2 * sim::kMillisecond);
    init.syscall(sys::nr::kill, static_cast<std::uint64_t>(child), sys::kSigTerm);
    init.waitpid(child, &status);
    reaped_at = init.now();
    return 0;
  });
  CHECK(sys::terminating_signal(status) == sys::kSigTerm);
  CHECK(reaped_at < 3 * sim::kMillisecond);
}

TEST_CASE("sched_yield lets another runnable task run", "[kernel][time][yield]") {
  KernelFixture f;
  bool child_ran_before_yield = true, child_ran_after_yield = false;
  int yield_result = -1;
  f.run([&](user::Process& init) {
    bool child_ran = false;
    const sys::pid_t child = init.fork([&](user::Process&) {
      child_ran = true;
      return 0;
    });
    child_ran_before_yield = child_ran;  // round robin: a new task does not preempt
    yield_result = init.sched_yield();
    child_ran_after_yield = child_ran;
    int status = 0;
    init.waitpid(child, &status);
    return 0;
  });
  CHECK_FALSE(child_ran_before_yield);
  CHECK(yield_result == 0);
  CHECK(child_ran_after_yield);
  const auto init_info = f.kernel.task(1);
  REQUIRE(init_info);
  CHECK(init_info->accounting.involuntary_switches >= 1);
}

TEST_CASE("two tasks that yield to each other alternate strictly", "[kernel][time][yield]") {
  KernelFixture f;
  std::string trace;
  f.run([&](user::Process& init) {
    for (char name : {'a', 'b'}) {
      init.fork([&trace, name](user::Process& self) {
        for (int i = 0; i < 4; ++i) {
          trace += name;
          self.sched_yield();
        }
        return 0;
      });
    }
    return 0;
  });
  CHECK(trace == "abababab");
}

TEST_CASE("sched_yield with nothing else runnable returns at once", "[kernel][time][yield]") {
  KernelFixture f;
  int result = -1;
  sim::Tick elapsed = 1;
  f.run([&](user::Process& init) {
    const sim::Tick before = init.now();
    result = init.sched_yield();
    elapsed = init.now() - before;
    return 0;
  });
  CHECK(result == 0);
  CHECK(elapsed < sim::kMicrosecond);
}

TEST_CASE("clock_gettime with an unknown clock returns EINVAL", "[kernel][time][errors]") {
  KernelFixture f;
  int unknown = 0, large = 0;
  f.run([&](user::Process& init) {
    sys::timespec t;
    unknown = init.clock_gettime(99, t);
    large = init.clock_gettime(12345, t);
    return 0;
  });
  CHECK(unknown == errno_of(sys::Errno::kEINVAL));
  CHECK(large == errno_of(sys::Errno::kEINVAL));
}

TEST_CASE("the clocks agree: realtime and monotonic advance together with computation",
          "[kernel][time][clock]") {
  KernelFixture f;
  sys::timespec mono_a, real_a, mono_b, real_b, boot, raw;
  f.run([&](user::Process& init) {
    init.clock_gettime(sys::kClockMonotonic, mono_a);
    init.clock_gettime(sys::kClockRealtime, real_a);
    init.compute(3'000'000);  // 1 ms at 3 GHz
    init.clock_gettime(sys::kClockMonotonic, mono_b);
    init.clock_gettime(sys::kClockRealtime, real_b);
    init.clock_gettime(sys::kClockBoottime, boot);
    init.clock_gettime(sys::kClockMonotonicRaw, raw);
    return 0;
  });
  CHECK(to_tick(mono_b) - to_tick(mono_a) >= sim::kMillisecond);
  CHECK(to_tick(mono_b) - to_tick(mono_a) < sim::kMillisecond + sim::kMicrosecond);
  const sim::Tick real_elapsed = to_tick(real_b) - to_tick(real_a);
  CHECK(real_elapsed >= sim::kMillisecond);
  CHECK(real_elapsed < sim::kMillisecond + sim::kMicrosecond);
  CHECK(to_tick(boot) >= to_tick(mono_b));
  CHECK(to_tick(raw) >= to_tick(mono_b));
  CHECK(mono_a.tv_nsec >= 0);
  CHECK(mono_a.tv_nsec < 1'000'000'000);
}

TEST_CASE("CLOCK_REALTIME reads the fixed boot date (2026-01-01) plus the time since boot",
          "[kernel][time][clock]") {
  KernelFixture f;
  sys::timespec real, mono;
  f.run([&](user::Process& init) {
    init.nanosleep(1500 * sim::kMillisecond);
    init.clock_gettime(sys::kClockRealtime, real);
    init.clock_gettime(sys::kClockMonotonic, mono);
    return 0;
  });
  CHECK(real.tv_sec > 1'700'000'000);  // a date after 2023
  // The two reads are a syscall apart (a few cycles of copying): within a microsecond.
  const std::int64_t real_ns = (real.tv_sec - 1'767'225'600) * 1'000'000'000 + real.tv_nsec;
  const std::int64_t mono_ns = mono.tv_sec * 1'000'000'000 + mono.tv_nsec;
  CHECK(mono_ns - real_ns >= 0);
  CHECK(mono_ns - real_ns < 1000);
}

TEST_CASE("CLOCK_PROCESS_CPUTIME_ID counts computation", "[kernel][time][clock]") {
  KernelFixture f;
  sys::timespec start, after_compute, after_sleep, thread_clock;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      self.clock_gettime(sys::kClockProcessCputime, start);
      self.compute(6'000'000);  // 2 ms
      self.clock_gettime(sys::kClockProcessCputime, after_compute);
      self.nanosleep(5 * sim::kMillisecond);
      self.clock_gettime(sys::kClockProcessCputime, after_sleep);
      self.clock_gettime(sys::kClockThreadCputime, thread_clock);
      return 0;
    });
    return 0;
  });
  const sim::Tick computed = to_tick(after_compute) - to_tick(start);
  CHECK(computed >= 2 * sim::kMillisecond);
  CHECK(computed < 2 * sim::kMillisecond + 10 * sim::kMicrosecond);
  CHECK(to_tick(thread_clock) >= to_tick(after_sleep));
}

TEST_CASE("CLOCK_PROCESS_CPUTIME_ID does not advance while the process sleeps",
          "[kernel][time][clock][accounting]") {
  KernelFixture f;
  sys::timespec before, after;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      self.clock_gettime(sys::kClockProcessCputime, before);
      self.nanosleep(5 * sim::kMillisecond);
      self.clock_gettime(sys::kClockProcessCputime, after);
      return 0;
    });
    return 0;
  });
  CHECK(to_tick(after) - to_tick(before) < 10 * sim::kMicrosecond);
}
