// Process groups and sessions: setpgid, getpgid, setsid, getsid with POSIX/Linux rules.

#include <catch2/catch.hpp>

#include <cstdint>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr int errno_of(sys::Errno e) { return -static_cast<int>(e); }

void await(user::Process& self, int fd) {
  char byte = 0;
  CHECK(self.read(fd, std::span<char>(&byte, 1)) == 1);
}

/// Waits for every child, so that init's locals the children refer to outlive them.
void reap_all(user::Process& self) {
  while (self.wait(nullptr) > 0) {
  }
}

}  // namespace

TEST_CASE("init leads its own group and session", "[kernel][pgrp]") {
  KernelFixture f;
  sys::pid_t pgid = 0, sid = 0, pgid_of_1 = 0;
  f.run([&](user::Process& init) {
    pgid = init.getpgid(0);
    sid = init.getsid(0);
    pgid_of_1 = init.getpgid(1);
    return 0;
  });
  CHECK(pgid == 1);
  CHECK(sid == 1);
  CHECK(pgid_of_1 == 1);
}

TEST_CASE("a child starts in its parent's process group and session", "[kernel][pgrp]") {
  KernelFixture f;
  sys::pid_t child_pgid = 0, child_sid = 0, grandchild_pgid = 0, seen_by_parent = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      child_pgid = self.getpgid(0);
      child_sid = self.getsid(0);
      self.fork([&](user::Process& g) {
        grandchild_pgid = g.getpgid(0);
        return 0;
      });
      self.wait(nullptr);
      return 0;
    });
    seen_by_parent = init.getpgid(child);
    return 0;
  });
  CHECK(child_pgid == 1);
  CHECK(child_sid == 1);
  CHECK(grandchild_pgid == 1);
  CHECK(seen_by_parent == 1);
}

TEST_CASE("setsid by a process-group leader returns EPERM", "[kernel][pgrp][setsid]") {
  KernelFixture f;
  sys::pid_t init_setsid = 0, leader_setsid = 0, leader_pgid = 0;
  sys::pid_t child = 0;
  f.run([&](user::Process& init) {
    init_setsid = init.setsid();  // init leads group 1
    child = init.fork([&](user::Process& self) {
      REQUIRE(self.setpgid(0, 0) == 0);  // now leads its own group
      leader_pgid = self.getpgid(0);
      leader_setsid = self.setsid();
      return 0;
    });
    return 0;
  });
  CHECK(init_setsid == errno_of(sys::Errno::kEPERM));
  CHECK(leader_pgid == child);
  CHECK(leader_setsid == errno_of(sys::Errno::kEPERM));
}

TEST_CASE("a child's setsid creates a new session and group named after it", "[kernel][pgrp][setsid]") {
  KernelFixture f;
  sys::pid_t child = 0, result = 0, sid = 0, pgid = 0, seen_sid = 0, seen_pgid = 0, grandchild_sid = 0,
             grandchild_pgid = 0, parent_sid_after = 0;
  f.run([&](user::Process& init) {
    int done[2], go[2];
    REQUIRE(init.pipe(done) == 0);
    REQUIRE(init.pipe(go) == 0);
    child = init.fork([&](user::Process& self) {
      result = self.setsid();
      sid = self.getsid(0);
      pgid = self.getpgid(0);
      self.fork([&](user::Process& g) {
        grandchild_sid = g.getsid(0);
        grandchild_pgid = g.getpgid(0);
        return 0;
      });
      self.wait(nullptr);
      self.write(done[1], "x");
      await(self, go[0]);
      return 0;
    });
    await(init, done[0]);
    seen_sid = init.getsid(child);
    seen_pgid = init.getpgid(child);
    parent_sid_after = init.getsid(0);
    init.write(go[1], "x");
    reap_all(init);
    return 0;
  });
  CHECK(result == child);
  CHECK(sid == child);
  CHECK(pgid == child);
  CHECK(seen_sid == child);
  CHECK(seen_pgid == child);
  CHECK(grandchild_sid == child);
  CHECK(grandchild_pgid == child);
  CHECK(parent_sid_after == 1);
  const auto info = f.kernel.task(child);
  REQUIRE(info);
  CHECK(info->sid == child);
  CHECK(info->pgid == child);
}

TEST_CASE("a second setsid by a session leader returns EPERM", "[kernel][pgrp][setsid]") {
  KernelFixture f;
  sys::pid_t first = 0, second = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      first = self.setsid();
      second = self.setsid();
      return 0;
    });
    return 0;
  });
  CHECK(first > 0);
  CHECK(second == errno_of(sys::Errno::kEPERM));
}

TEST_CASE("setpgid(0, 0) puts the caller in a new group named after it", "[kernel][pgrp][setpgid]") {
  KernelFixture f;
  sys::pid_t child = 0, pgid = 0, sid = 0;
  int result = -1;
  f.run([&](user::Process& init) {
    child = init.fork([&](user::Process& self) {
      result = self.setpgid(0, 0);
      pgid = self.getpgid(0);
      sid = self.getsid(0);
      return 0;
    });
    return 0;
  });
  CHECK(result == 0);
  CHECK(pgid == child);
  CHECK(sid == 1);  // the session does not change
}

TEST_CASE("a parent may move its child into a new group and into an existing group of its session",
          "[kernel][pgrp][setpgid]") {
  KernelFixture f;
  int make_group = -1, join_group = -1;
  sys::pid_t first = 0, second = 0, first_pgid = 0, second_pgid = 0;
  f.run([&](user::Process& init) {
    int go[2];
    REQUIRE(init.pipe(go) == 0);
    const auto sleeper = [&](user::Process& self) {
      await(self, go[0]);
      return 0;
    };
    first = init.fork(sleeper);
    second = init.fork(sleeper);
    make_group = init.setpgid(first, first);   // as a shell does for a job's leader
    join_group = init.setpgid(second, first);  // and for the job's other processes
    first_pgid = init.getpgid(first);
    second_pgid = init.getpgid(second);
    init.write(go[1], "xx");
    reap_all(init);
    return 0;
  });
  CHECK(make_group == 0);
  CHECK(join_group == 0);
  CHECK(first_pgid == first);
  CHECK(second_pgid == first);
}

TEST_CASE("setpgid into a group that does not exist returns EPERM", "[kernel][pgrp][setpgid]") {
  KernelFixture f;
  int result = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      result = self.setpgid(0, 4242);
      return 0;
    });
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEPERM));
}

TEST_CASE("setpgid with a negative pgid returns EINVAL", "[kernel][pgrp][setpgid]") {
  KernelFixture f;
  int result = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      result = self.setpgid(0, -3);
      return 0;
    });
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEINVAL));
}

TEST_CASE("setpgid of a process that is neither the caller nor its child returns ESRCH", "[kernel][pgrp][setpgid]") {
  KernelFixture f;
  int grandchild_result = 0, missing_result = 0, parent_result = 0;
  f.run([&](user::Process& init) {
    int ready[2], go[2];
    REQUIRE(init.pipe(ready) == 0);
    REQUIRE(init.pipe(go) == 0);
    sys::pid_t grandchild = 0;
    const sys::pid_t child = init.fork([&](user::Process& self) {
      grandchild = self.fork([&](user::Process& g) {
        await(g, go[0]);
        return 0;
      });
      parent_result = self.setpgid(1, 1);  // its parent, init
      self.write(ready[1], "x");
      self.wait(nullptr);
      return 0;
    });
    await(init, ready[0]);
    grandchild_result = init.setpgid(grandchild, grandchild);
    missing_result = init.setpgid(4242, 0);
    init.write(go[1], "x");
    (void)child;
    reap_all(init);
    return 0;
  });
  CHECK(grandchild_result == errno_of(sys::Errno::kESRCH));
  CHECK(missing_result == errno_of(sys::Errno::kESRCH));
  CHECK(parent_result == errno_of(sys::Errno::kESRCH));
}

TEST_CASE("setpgid of a child in another session returns EPERM", "[kernel][pgrp][setpgid]") {
  KernelFixture f;
  int result = 0;
  f.run([&](user::Process& init) {
    int ready[2], go[2];
    REQUIRE(init.pipe(ready) == 0);
    REQUIRE(init.pipe(go) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.setsid();
      self.write(ready[1], "x");
      await(self, go[0]);
      return 0;
    });
    await(init, ready[0]);
    result = init.setpgid(child, 1);
    init.write(go[1], "x");
    reap_all(init);
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEPERM));
}

TEST_CASE("a session leader cannot change its process group", "[kernel][pgrp][setpgid]") {
  KernelFixture f;
  int result = 0;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      self.setsid();
      result = self.setpgid(0, 0);
      return 0;
    });
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEPERM));
}

TEST_CASE("setpgid of a child that has already exec'ed returns EACCES",
          "[kernel][pgrp][setpgid]") {
  KernelFixture f;
  int result = 0;
  f.kernel.register_program({.name = "waiter", .main = [](user::Process& self) {
                               char byte;
                               self.read(0, std::span<char>(&byte, 1));
                               return 0;
                             }});
  f.run([&](user::Process& init) {
    int go[2];
    REQUIRE(init.pipe(go) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.dup2(go[0], 0);
      self.close(go[0]);
      self.close(go[1]);
      return self.execve("/bin/waiter", {"waiter"});
    });
    init.nanosleep(sim::kMillisecond);  // the child has exec'ed and sleeps in read
    result = init.setpgid(child, child);
    init.write(go[1], "x");
    reap_all(init);
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEACCES));
}

TEST_CASE("getpgid and getsid of a missing pid return ESRCH", "[kernel][pgrp]") {
  KernelFixture f;
  sys::pid_t pgid = 0, sid = 0, negative = 0;
  f.run([&](user::Process& init) {
    pgid = init.getpgid(4242);
    sid = init.getsid(4242);
    negative = init.getpgid(-1);
    return 0;
  });
  CHECK(pgid == errno_of(sys::Errno::kESRCH));
  CHECK(sid == errno_of(sys::Errno::kESRCH));
  CHECK(negative == errno_of(sys::Errno::kESRCH));
}

TEST_CASE("waitpid(-pgid) waits only for children in that group", "[kernel][pgrp][wait]") {
  KernelFixture f;
  sys::pid_t in_group = 0, other = 0, reaped = 0, none_left = 0;
  f.run([&](user::Process& init) {
    other = init.fork([](user::Process&) { return 1; });  // exits first, group 1
    int ready[2];
    REQUIRE(init.pipe(ready) == 0);
    in_group = init.fork([&](user::Process& self) {
      self.setpgid(0, 0);
      self.write(ready[1], "x");
      self.nanosleep(2 * sim::kMillisecond);
      return 2;
    });
    await(init, ready[0]);
    int status = 0;
    reaped = init.waitpid(-in_group, &status);
    none_left = init.waitpid(-in_group, nullptr, sys::kWaitNoHang);
    return 0;
  });
  CHECK(reaped == in_group);
  CHECK(none_left == errno_of(sys::Errno::kECHILD));
}

TEST_CASE("kill of a negative pid signals every process of that group", "[kernel][pgrp][signal]") {
  KernelFixture f;
  int status_a = 0, status_b = 0, status_outside = 0;
  f.run([&](user::Process& init) {
    int ready[2], never[2];
    REQUIRE(init.pipe(ready) == 0);
    REQUIRE(init.pipe(never) == 0);
    const auto blocker = [&](user::Process& self) {
      self.write(ready[1], "x");
      char byte;
      self.read(never[0], std::span<char>(&byte, 1));
      return 0;
    };
    const sys::pid_t a = init.fork(blocker);
    const sys::pid_t b = init.fork(blocker);
    const sys::pid_t outside = init.fork([&](user::Process& self) {
      self.nanosleep(5 * sim::kMillisecond);
      return 7;
    });
    init.setpgid(a, a);
    init.setpgid(b, a);
    await(init, ready[0]);
    await(init, ready[0]);
    init.syscall(sys::nr::kill, static_cast<std::uint64_t>(-static_cast<std::int64_t>(a)), sys::kSigTerm);
    init.waitpid(a, &status_a);
    init.waitpid(b, &status_b);
    init.waitpid(outside, &status_outside);
    return 0;
  });
  CHECK(sys::terminating_signal(status_a) == sys::kSigTerm);
  CHECK(sys::terminating_signal(status_b) == sys::kSigTerm);
  CHECK(sys::exit_code(status_outside) == 7);
}
