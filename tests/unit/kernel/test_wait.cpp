// wait4 and the end of processes: the status word for normal exits and deaths by signal,
// WNOHANG, ECHILD, waiting for one pid, zombies until reaped, orphans adopted by init.

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr int errno_of(sys::Errno e) { return -static_cast<int>(e); }

}  // namespace

TEST_CASE("a child that returns 7 from main is seen as exited normally with code 7", "[kernel][wait]") {
  KernelFixture f;
  int status = -1;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([](user::Process&) { return 7; });
    REQUIRE(init.wait(&status) == child);
    return 0;
  });
  CHECK(sys::exited_normally(status));
  CHECK_FALSE(sys::killed_by_signal(status));
  CHECK(sys::exit_code(status) == 7);
  CHECK(status == sys::exited_status(7));
}

TEST_CASE("exit and exit_group codes are truncated to 8 bits in the status", "[kernel][wait]") {
  KernelFixture f;
  int status_exit = -1, status_group = -1;
  f.run([&](user::Process& init) {
    const sys::pid_t a = init.fork([](user::Process& self) -> int { self.exit(300); });
    init.waitpid(a, &status_exit);
    const sys::pid_t b = init.fork([](user::Process& self) -> int { self.exit_group(-1); });
    init.waitpid(b, &status_group);
    return 0;
  });
  CHECK(sys::exited_normally(status_exit));
  CHECK(sys::exit_code(status_exit) == (300 & 0xff));
  CHECK(sys::exited_normally(status_group));
  CHECK(sys::exit_code(status_group) == 255);
}

TEST_CASE("a child that loads from address 0 is killed by SIGSEGV and the machine keeps running",
          "[kernel][wait][signal]") {
  KernelFixture f;
  int status_null = 0, status_dead = 0, status_store = 0, status_after = -1;
  bool child_went_on = false;
  f.run([&](user::Process& init) {
    const sys::pid_t a = init.fork([&](user::Process& self) {
      (void)self.load<std::uint64_t>(0);
      child_went_on = true;
      return 0;
    });
    REQUIRE(init.waitpid(a, &status_null) == a);
    const sys::pid_t b = init.fork([&](user::Process& self) {
      (void)self.load<std::uint32_t>(0xdead0000);
      child_went_on = true;
      return 0;
    });
    REQUIRE(init.waitpid(b, &status_dead) == b);
    const sys::pid_t c = init.fork([&](user::Process& self) {
      self.store<std::uint8_t>(0xdead0000, 1);
      child_went_on = true;
      return 0;
    });
    REQUIRE(init.waitpid(c, &status_store) == c);
    const sys::pid_t d = init.fork([](user::Process&) { return 3; });
    REQUIRE(init.waitpid(d, &status_after) == d);
    return 0;
  });
  for (int status : {status_null, status_dead, status_store}) {
    CHECK(sys::killed_by_signal(status));
    CHECK_FALSE(sys::exited_normally(status));
    CHECK(sys::terminating_signal(status) == sys::kSigSegv);
  }
  CHECK_FALSE(child_went_on);
  CHECK(sys::exit_code(status_after) == 3);
  CHECK(f.kernel.stats().segfaults >= 3);
  CHECK(f.kernel.halted());
}

TEST_CASE("a child killed with kill(SIGTERM) while blocked is seen as killed by signal 15", "[kernel][wait][signal]") {
  KernelFixture f;
  int status = 0, kill_result = -1;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      char byte;
      self.read(fds[0], std::span<char>(&byte, 1));  // never satisfied
      return 0;
    });
    init.nanosleep(sim::kMillisecond);
    kill_result = static_cast<int>(init.syscall(sys::nr::kill, static_cast<std::uint64_t>(child), sys::kSigTerm));
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(kill_result == 0);
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigTerm);
}

TEST_CASE("wait with WNOHANG returns 0 while the child runs and its pid once it has exited", "[kernel][wait]") {
  KernelFixture f;
  sys::pid_t early = -1, late = -1;
  int status = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      char byte;
      self.read(fds[0], std::span<char>(&byte, 1));
      return 12;
    });
    early = init.waitpid(child, &status, sys::kWaitNoHang);
    init.write(fds[1], "x");
    init.nanosleep(sim::kMillisecond);  // the child reads and exits
    late = init.waitpid(child, &status, sys::kWaitNoHang);
    return 0;
  });
  CHECK(early == 0);
  CHECK(late > 0);
  CHECK(sys::exit_code(status) == 12);
}

TEST_CASE("wait with no children returns ECHILD", "[kernel][wait][errors]") {
  KernelFixture f;
  int in_init = 0, in_child = 0, nohang = 0, stranger = 0;
  f.run([&](user::Process& init) {
    in_init = init.wait(nullptr);
    nohang = init.waitpid(-1, nullptr, sys::kWaitNoHang);
    stranger = init.waitpid(4242, nullptr);
    init.fork([&](user::Process& self) {
      in_child = self.wait(nullptr);
      return 0;
    });
    return 0;
  });
  CHECK(in_init == errno_of(sys::Errno::kECHILD));
  CHECK(nohang == errno_of(sys::Errno::kECHILD));
  CHECK(stranger == errno_of(sys::Errno::kECHILD));
  CHECK(in_child == errno_of(sys::Errno::kECHILD));
}

TEST_CASE("waitpid for a pid that is not a child returns ECHILD even when other children exist", "[kernel][wait]") {
  KernelFixture f;
  int result = 0;
  f.run([&](user::Process& init) {
    init.fork([](user::Process& self) {
      self.nanosleep(sim::kMillisecond);
      return 0;
    });
    result = init.waitpid(init.getpid(), nullptr);  // itself
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kECHILD));
}

TEST_CASE("waitpid for a specific pid waits for that child even if another exited first", "[kernel][wait]") {
  KernelFixture f;
  sys::pid_t first = 0, second = 0, got_second = 0, got_any = 0, then_none = 0;
  int status_second = 0, status_first = 0;
  f.run([&](user::Process& init) {
    first = init.fork([](user::Process&) { return 1; });
    second = init.fork([](user::Process& self) {
      self.nanosleep(5 * sim::kMillisecond);
      return 2;
    });
    got_second = init.waitpid(second, &status_second);
    got_any = init.wait(&status_first);
    then_none = init.wait(nullptr);
    return 0;
  });
  CHECK(got_second == second);
  CHECK(sys::exit_code(status_second) == 2);
  CHECK(got_any == first);
  CHECK(sys::exit_code(status_first) == 1);
  CHECK(then_none == errno_of(sys::Errno::kECHILD));
}

TEST_CASE("a child that has exited stays a zombie until its parent reaps it", "[kernel][wait][zombie]") {
  KernelFixture f;
  kernel::TaskState before = kernel::TaskState::kRunning, after = kernel::TaskState::kRunning;
  bool exited_before = false, in_table_before = false, in_table_after = true;
  int status_before = -1;
  sys::pid_t child = 0;
  f.run([&](user::Process& init) {
    child = init.fork([](user::Process&) { return 5; });
    init.nanosleep(2 * sim::kMillisecond);  // long enough for the child to finish
    const auto info = f.kernel.task(child);
    REQUIRE(info);
    before = info->state;
    exited_before = info->exited;
    status_before = info->exit_status;
    in_table_before = f.core().find_task(child) != nullptr;
    int status = 0;
    REQUIRE(init.waitpid(child, &status) == child);
    const auto reaped = f.kernel.task(child);
    REQUIRE(reaped);
    after = reaped->state;
    in_table_after = f.core().find_task(child) != nullptr;
    return 0;
  });
  CHECK(before == kernel::TaskState::kZombie);
  CHECK(exited_before);
  CHECK(status_before == sys::exited_status(5));
  CHECK(in_table_before);
  CHECK(after == kernel::TaskState::kDead);
  CHECK_FALSE(in_table_after);
}

TEST_CASE("an orphan is reparented to init, sees getppid() == 1, and init reaps it", "[kernel][wait][orphan]") {
  KernelFixture f;
  sys::pid_t parent_pid = 0, grandchild = 0, ppid_before = 0, ppid_after = 0, reaped_second = 0;
  int status_grandchild = -1;
  f.run([&](user::Process& init) {
    int fds[2], ready[2];
    REQUIRE(init.pipe(fds) == 0);
    REQUIRE(init.pipe(ready) == 0);
    parent_pid = init.fork([&](user::Process& self) {
      grandchild = self.fork([&](user::Process& g) {
        ppid_before = g.getppid();
        g.write(ready[1], "r");
        char byte;
        g.read(fds[0], std::span<char>(&byte, 1));  // until init says its parent is gone
        ppid_after = g.getppid();
        return 21;
      });
      char byte;
      self.read(ready[0], std::span<char>(&byte, 1));  // the grandchild has looked
      return 0;  // exits without waiting: the grandchild is orphaned
    });
    int status = 0;
    REQUIRE(init.waitpid(parent_pid, &status) == parent_pid);
    init.write(fds[1], "x");
    reaped_second = init.wait(&status_grandchild);
    return 0;
  });
  CHECK(ppid_before == parent_pid);
  CHECK(ppid_after == 1);
  CHECK(reaped_second == grandchild);
  CHECK(sys::exit_code(status_grandchild) == 21);
  const auto info = f.kernel.task(grandchild);
  REQUIRE(info);
  CHECK(info->state == kernel::TaskState::kDead);
}

TEST_CASE("an orphan that is already a zombie when its parent exits is reaped by init", "[kernel][wait][orphan]") {
  KernelFixture f;
  sys::pid_t grandchild = 0, reaped = 0;
  int status = -1;
  f.run([&](user::Process& init) {
    const sys::pid_t parent = init.fork([&](user::Process& self) {
      grandchild = self.fork([](user::Process&) { return 33; });
      self.nanosleep(2 * sim::kMillisecond);  // the grandchild exits first and stays a zombie
      return 0;
    });
    int ignored = 0;
    REQUIRE(init.waitpid(parent, &ignored) == parent);
    reaped = init.waitpid(grandchild, &status);
    return 0;
  });
  CHECK(reaped == grandchild);
  CHECK(sys::exit_code(status) == 33);
}

TEST_CASE("wait4 reports the child's resource usage", "[kernel][wait]") {
  KernelFixture f;
  sys::rusage usage;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([](user::Process& self) {
      self.compute(3'000'000'000ull / 100);  // 10 ms at 3 GHz
      return 0;
    });
    int status = 0;
    REQUIRE(init.wait4(child, &status, 0, &usage) == child);
    return 0;
  });
  const std::int64_t micros = usage.ru_utime.tv_sec * 1'000'000 + usage.ru_utime.tv_usec;
  CHECK(micros >= 10'000);
  CHECK(micros <= 10'100);
}

TEST_CASE("wait with an invalid option returns EINVAL", "[kernel][wait][errors]") {
  KernelFixture f;
  int result = 0;
  f.run([&](user::Process& init) {
    init.fork([](user::Process&) { return 0; });
    result = init.waitpid(-1, nullptr, 0x100);
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEINVAL));
}

// Linux's kernel_wait4() reaps the child first and only then copies the status out.
TEST_CASE("wait4 with a bad status pointer returns EFAULT and the child is reaped anyway",
          "[kernel][wait][errors]") {
  KernelFixture f;
  std::int64_t bad = 0;
  sys::pid_t again = 0;
  f.run([&](user::Process& init) {
    init.fork([](user::Process&) { return 0; });
    init.nanosleep(sim::kMillisecond);
    bad = init.syscall(sys::nr::wait4, static_cast<std::uint64_t>(-1), 0x10, 0, 0);
    again = init.waitpid(-1, nullptr, sys::kWaitNoHang);
    return 0;
  });
  CHECK(bad == errno_of(sys::Errno::kEFAULT));
  CHECK(again == errno_of(sys::Errno::kECHILD));
}

namespace {

/// SIG_IGN for `signal` through the raw rt_sigaction (struct kernel_sigaction in memory).
std::int64_t ignore_signal(user::Process& self, int signal) {
  const auto page = static_cast<mmu::VirtAddr>(
      self.mmap(0, 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
  const std::uint64_t action[4] = {1, 0, 0, 0};
  self.write_memory(page, action, sizeof(action));
  return self.syscall(sys::nr::rt_sigaction, static_cast<std::uint64_t>(signal), page, 0, 8);
}

}  // namespace

TEST_CASE("with SIGCHLD ignored, children are reaped at exit and wait returns ECHILD once they are gone",
          "[kernel][wait][signal]") {
  KernelFixture f;
  std::int64_t result = 0;
  sim::Tick returned_at = 0;
  sys::pid_t child = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      REQUIRE(ignore_signal(self, sys::kSigChld) == 0);
      child = self.fork([](user::Process& c) {
        c.nanosleep(3 * sim::kMillisecond);
        return 1;
      });
      result = self.wait(nullptr);  // blocks until the child is gone (POSIX, Linux)
      returned_at = self.now();
      return 0;
    });
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kECHILD));
  CHECK(returned_at >= 3 * sim::kMillisecond);
  const auto info = f.kernel.task(child);
  REQUIRE(info);
  CHECK(info->state == kernel::TaskState::kDead);
}

TEST_CASE("a child's exit does not interrupt its parent's nanosleep (SIGCHLD is ignored by default)",
          "[kernel][wait][signal]") {
  KernelFixture f;
  int result = -1;
  sim::Tick slept = 0;
  f.run([&](user::Process& init) {
    init.fork([](user::Process&) { return 0; });
    const sim::Tick before = init.now();
    result = init.nanosleep(5 * sim::kMillisecond);
    slept = init.now() - before;
    return 0;
  });
  CHECK(result == 0);
  CHECK(slept >= 5 * sim::kMillisecond);
}

TEST_CASE("a signal whose disposition is SIG_IGN neither kills nor wakes the target", "[kernel][wait][signal]") {
  KernelFixture f;
  int status = -1;
  sim::Tick finished = 0;
  f.run([&](user::Process& init) {
    int ready[2];
    REQUIRE(init.pipe(ready) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      ignore_signal(self, sys::kSigUsr1);
      self.write(ready[1], "x");
      self.nanosleep(4 * sim::kMillisecond);
      finished = self.now();
      return 2;
    });
    char byte;
    init.read(ready[0], std::span<char>(&byte, 1));
    init.syscall(sys::nr::kill, static_cast<std::uint64_t>(child), sys::kSigUsr1);
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(sys::exited_normally(status));
  CHECK(sys::exit_code(status) == 2);
  CHECK(finished >= 4 * sim::kMillisecond);
}

TEST_CASE("SIGKILL cannot be ignored", "[kernel][wait][signal]") {
  KernelFixture f;
  int status = -1;
  std::int64_t ignore_result = 0;
  f.run([&](user::Process& init) {
    int ready[2];
    REQUIRE(init.pipe(ready) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      ignore_result = ignore_signal(self, sys::kSigKill);
      self.write(ready[1], "x");
      for (;;) self.nanosleep(sim::kMillisecond);
      return 0;
    });
    char byte;
    init.read(ready[0], std::span<char>(&byte, 1));
    init.syscall(sys::nr::kill, static_cast<std::uint64_t>(child), sys::kSigKill);
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(ignore_result == errno_of(sys::Errno::kEINVAL));
  CHECK(sys::terminating_signal(status) == sys::kSigKill);
}

TEST_CASE("a killed compute-bound child dies promptly, not at the end of its computation", "[kernel][wait][signal]") {
  KernelFixture f;
  int status = -1;
  sim::Tick reaped_at = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([](user::Process& self) {
      self.compute(3'000'000'000ull);  // 1 s in one go
      return 0;
    });
    init.nanosleep(2 * sim::kMillisecond);  // 1 CPU: the child gets it meanwhile
    init.syscall(sys::nr::kill, static_cast<std::uint64_t>(child), sys::kSigTerm);
    init.waitpid(child, &status);
    reaped_at = init.now();
    return 0;
  });
  CHECK(sys::terminating_signal(status) == sys::kSigTerm);
  CHECK(reaped_at < 20 * sim::kMillisecond);
}
