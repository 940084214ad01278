// Threads: tasks of one thread group sharing the address space and the fd table; one pid,
// one tid each; exit_group ends them all; the parent sees one exit status.

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr int errno_of(sys::Errno e) { return -static_cast<int>(e); }

mmu::VirtAddr map_page(user::Process& self) {
  return static_cast<mmu::VirtAddr>(
      self.mmap(0, 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
}

void await(user::Process& self, int fd) {
  char byte = 0;
  CHECK(self.read(fd, std::span<char>(&byte, 1)) == 1);
}

}  // namespace

TEST_CASE("a thread's store is seen by the other thread of the process and vice versa", "[kernel][threads]") {
  KernelFixture f;
  std::uint64_t main_saw = 0, thread_saw = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      const mmu::VirtAddr page = map_page(self);  // private, but one address space
      int to_main[2], to_thread[2];
      REQUIRE(self.pipe(to_main) == 0);
      REQUIRE(self.pipe(to_thread) == 0);
      self.store<std::uint64_t>(page, 1);
      self.spawn_thread([&](user::Process& thread) {
        thread.store<std::uint64_t>(page, 2);
        thread.write(to_main[1], "x");
        await(thread, to_thread[0]);
        thread_saw = thread.load<std::uint64_t>(page + 8);
        thread.write(to_main[1], "x");
        return 0;
      });
      await(self, to_main[0]);
      main_saw = self.load<std::uint64_t>(page);
      self.store<std::uint64_t>(page + 8, 3);
      self.write(to_thread[1], "x");
      await(self, to_main[0]);
      return 0;
    });
    return 0;
  });
  CHECK(main_saw == 2);
  CHECK(thread_saw == 3);
}

TEST_CASE("threads share memory mapped by either one after the thread started", "[kernel][threads]") {
  KernelFixture f;
  std::uint64_t main_saw = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      int to_main[2];
      REQUIRE(self.pipe(to_main) == 0);
      mmu::VirtAddr page = 0;
      self.spawn_thread([&](user::Process& thread) {
        page = map_page(thread);
        thread.store<std::uint64_t>(page, 0xfeed);
        thread.write(to_main[1], "x");
        return 0;
      });
      await(self, to_main[0]);
      main_saw = self.load<std::uint64_t>(page);
      return 0;
    });
    return 0;
  });
  CHECK(main_saw == 0xfeed);
}

TEST_CASE("threads have the process's pid and parent but their own tids", "[kernel][threads]") {
  KernelFixture f;
  sys::pid_t process = 0, main_tid = 0, main_ppid = 0, spawned = 0;
  sys::pid_t thread_pid = 0, thread_tid = 0, thread_ppid = 0;
  f.run([&](user::Process& init) {
    process = init.fork([&](user::Process& self) {
      main_tid = self.gettid();
      main_ppid = self.getppid();
      int done[2];
      REQUIRE(self.pipe(done) == 0);
      spawned = self.spawn_thread([&](user::Process& thread) {
        thread_pid = thread.getpid();
        thread_tid = thread.gettid();
        thread_ppid = thread.getppid();
        thread.write(done[1], "x");
        return 0;
      });
      await(self, done[0]);
      return 0;
    });
    return 0;
  });
  CHECK(main_tid == process);
  CHECK(main_ppid == 1);
  CHECK(spawned > 0);
  CHECK(thread_pid == process);
  CHECK(thread_tid == spawned);
  CHECK(thread_tid != process);
  CHECK(thread_ppid == 1);
  const auto info = f.kernel.task(spawned);
  REQUIRE(info);
  CHECK(info->tgid == process);
}

TEST_CASE("threads share the fd table: an fd opened by one is usable by the other", "[kernel][threads]") {
  KernelFixture f;
  std::int64_t wrote = 0;
  int close_result = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      int done[2];
      REQUIRE(self.pipe(done) == 0);
      int fd = -1;
      self.spawn_thread([&](user::Process& thread) {
        fd = thread.open("/tmp/by-thread", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
        thread.write(done[1], "x");
        return 0;
      });
      await(self, done[0]);
      wrote = self.write(fd, "main");
      close_result = self.close(fd);
      return 0;
    });
    return 0;
  });
  CHECK(wrote == 4);
  CHECK(close_result == 0);
}

TEST_CASE("exit_group from one thread ends every thread and the parent sees one exit status",
          "[kernel][threads][exit]") {
  KernelFixture f;
  sys::pid_t process = 0, first_wait = 0, second_wait = 0;
  std::vector<sys::pid_t> tids;
  int status = -1;
  bool main_went_on = false, sleeper_went_on = false;
  f.run([&](user::Process& init) {
    process = init.fork([&](user::Process& self) {
      int never[2];
      REQUIRE(self.pipe(never) == 0);
      tids.push_back(self.spawn_thread([&](user::Process& thread) {
        char byte;
        thread.read(never[0], std::span<char>(&byte, 1));  // blocked when the group dies
        sleeper_went_on = true;
        return 0;
      }));
      tids.push_back(self.spawn_thread([&](user::Process& thread) -> int {
        thread.nanosleep(sim::kMillisecond);
        thread.exit_group(9);
      }));
      char byte;
      self.read(never[0], std::span<char>(&byte, 1));
      main_went_on = true;
      return 0;
    });
    first_wait = init.wait(&status);
    second_wait = init.wait(nullptr);
    return 0;
  });
  CHECK(first_wait == process);
  CHECK(second_wait == errno_of(sys::Errno::kECHILD));
  CHECK(sys::exited_normally(status));
  CHECK(sys::exit_code(status) == 9);
  CHECK_FALSE(main_went_on);
  CHECK_FALSE(sleeper_went_on);
  for (sys::pid_t tid : tids) {
    const auto info = f.kernel.task(tid);
    REQUIRE(info);
    CHECK(info->exited);
    CHECK(info->state == kernel::TaskState::kDead);
  }
}

TEST_CASE("returning from main ends the process even while other threads run", "[kernel][threads][exit]") {
  KernelFixture f;
  int status = -1;
  bool thread_finished = false;
  f.run([&](user::Process& init) {
    const sys::pid_t process = init.fork([&](user::Process& self) {
      self.spawn_thread([&](user::Process& thread) {
        for (int i = 0; i < 100; ++i) thread.compute(3'000'000);  // 100 ms
        thread_finished = true;
        return 0;
      });
      self.nanosleep(sim::kMillisecond);
      return 4;
    });
    init.waitpid(process, &status);
    return 0;
  });
  CHECK(sys::exit_code(status) == 4);
  CHECK_FALSE(thread_finished);
}

TEST_CASE("a thread returning from its function ends only that thread", "[kernel][threads][exit]") {
  KernelFixture f;
  int status = -1;
  bool main_went_on = false;
  sys::pid_t thread_tid = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t process = init.fork([&](user::Process& self) {
      thread_tid = self.spawn_thread([](user::Process&) { return 77; });
      self.nanosleep(2 * sim::kMillisecond);  // the thread has long finished
      main_went_on = true;
      return 5;
    });
    init.waitpid(process, &status);
    return 0;
  });
  CHECK(main_went_on);
  CHECK(sys::exit_code(status) == 5);
  const auto info = f.kernel.task(thread_tid);
  REQUIRE(info);
  CHECK(info->state == kernel::TaskState::kDead);
}

TEST_CASE("a process whose main thread exit()s alone is reaped only after its last thread ends",
          "[kernel][threads][exit]") {
  KernelFixture f;
  int status = -1;
  sim::Tick reaped_at = 0;
  bool thread_finished = false;
  f.run([&](user::Process& init) {
    const sys::pid_t process = init.fork([&](user::Process& self) -> int {
      self.spawn_thread([&](user::Process& thread) {
        thread.nanosleep(5 * sim::kMillisecond);
        thread_finished = true;
        return 8;
      });
      self.exit(3);  // only the main thread
    });
    REQUIRE(init.waitpid(process, &status) == process);
    reaped_at = init.now();
    return 0;
  });
  CHECK(thread_finished);
  CHECK(reaped_at >= 5 * sim::kMillisecond);
  // Linux reports the leader's own exit code when no exit_group happened.
  CHECK(sys::exit_code(status) == 3);
}

TEST_CASE("a SIGSEGV in one thread kills the whole process", "[kernel][threads][signal]") {
  KernelFixture f;
  int status = -1;
  bool main_went_on = false;
  f.run([&](user::Process& init) {
    const sys::pid_t process = init.fork([&](user::Process& self) {
      self.spawn_thread([](user::Process& thread) {
        (void)thread.load<std::uint64_t>(0x10);
        return 0;
      });
      self.nanosleep(10 * sim::kMillisecond);
      main_went_on = true;
      return 0;
    });
    init.waitpid(process, &status);
    return 0;
  });
  CHECK_FALSE(main_went_on);
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigSegv);
}

TEST_CASE("two threads on two CPUs compute at the same time", "[kernel][threads][smp]") {
  // Short: two CPUs computing at once advance in one-cycle lockstep (see test_preemption).
  KernelFixture f(2);
  sim::Tick process_end = 0;
  constexpr std::uint64_t kCycles = 1'500'000;  // 0.5 ms
  f.run([&](user::Process& init) {
    const sys::pid_t process = init.fork([&](user::Process& self) {
      int done[2];
      REQUIRE(self.pipe(done) == 0);
      self.spawn_thread([&](user::Process& thread) {
        thread.compute(kCycles);
        thread.write(done[1], "x");
        return 0;
      });
      self.compute(kCycles);
      await(self, done[0]);
      return 0;
    });
    int status = 0;
    init.waitpid(process, &status);
    process_end = init.now();
    return 0;
  });
  CHECK(process_end < 750 * sim::kMicrosecond);
  CHECK(process_end >= 500 * sim::kMicrosecond);
}

TEST_CASE("a child forked by one thread can be reaped by another thread of the process", "[kernel][threads][wait]") {
  KernelFixture f;
  sys::pid_t forked = 0, reaped = 0, child_ppid = 0, process = 0;
  int status = -1;
  f.run([&](user::Process& init) {
    process = init.fork([&](user::Process& self) {
      int done[2];
      REQUIRE(self.pipe(done) == 0);
      self.spawn_thread([&](user::Process& thread) {
        forked = thread.fork([&](user::Process& c) {
          child_ppid = c.getppid();
          return 13;
        });
        thread.write(done[1], "x");
        return 0;
      });
      await(self, done[0]);
      reaped = self.wait(&status);  // the main thread reaps the other thread's child
      return 0;
    });
    init.waitpid(process, nullptr);
    return 0;
  });
  CHECK(forked > 0);
  CHECK(reaped == forked);
  CHECK(sys::exit_code(status) == 13);
  CHECK(child_ppid == process);  // the process's pid, not the forking thread's tid
}

TEST_CASE("a read blocked on a pipe goes on when another thread closes its fd", "[kernel][threads]") {
  // As on Linux, the call holds the open file: the other thread's close() removes the fd,
  // not the file under the read.
  KernelFixture f;
  std::int64_t got = -1;
  char byte = 0;
  int close_result = -1;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      int data[2];
      REQUIRE(self.pipe(data) == 0);
      self.spawn_thread([&](user::Process& thread) {
        thread.nanosleep(100 * sim::kMicrosecond);  // the reader is blocked by now
        close_result = thread.close(data[0]);
        thread.write(data[1], "y");
        return 0;
      });
      got = self.read(data[0], std::span<char>(&byte, 1));
      self.nanosleep(sim::kMillisecond);
      return 0;
    });
    return 0;
  });
  CHECK(close_result == 0);
  CHECK(got == 1);
  CHECK(byte == 'y');
}
