#include <catch2/catch.hpp>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

TEST_CASE("init runs as pid 1 with parent 0 and the machine powers off when it returns", "[kernel][boot]") {
  KernelFixture f;
  int pid = -1, ppid = -1;
  const int status = f.run([&](user::Process& init) {
    pid = init.getpid();
    ppid = init.getppid();
    return 3;
  });
  CHECK(pid == 1);
  CHECK(ppid == 0);
  CHECK(f.kernel.halted());
  CHECK(sys::exited_normally(status));
  CHECK(sys::exit_code(status) == 3);
}

TEST_CASE("init's fds 0, 1 and 2 write to the console", "[kernel][boot]") {
  KernelFixture f;
  f.run([](user::Process& init) {
    init.write(1, "hello ");
    init.write(2, "world\n");
    return 0;
  });
  CHECK(f.machine.console().output() == "hello world\n");
}

TEST_CASE("fork runs the child function in a new process that the parent reaps", "[kernel][fork]") {
  KernelFixture f;
  int child_pid = 0, reaped = 0, status = 0, child_saw_ppid = 0, child_saw_pid = 0;
  f.run([&](user::Process& init) {
    child_pid = init.fork([&](user::Process& child) {
      child_saw_pid = child.getpid();
      child_saw_ppid = child.getppid();
      return 42;
    });
    reaped = init.wait(&status);
    return 0;
  });
  CHECK(child_pid == 2);
  CHECK(child_saw_pid == 2);
  CHECK(child_saw_ppid == 1);
  CHECK(reaped == 2);
  CHECK(sys::exited_normally(status));
  CHECK(sys::exit_code(status) == 42);
}

TEST_CASE("execve of a registered program runs its main with argv", "[kernel][exec]") {
  KernelFixture f;
  std::vector<std::string> seen;
  f.kernel.register_program({.name = "echo", .main = [&](user::Process& self) {
                               seen = self.argv();
                               return 5;
                             }});
  int status = 0;
  f.run([&](user::Process& init) {
    init.fork([](user::Process& child) { return child.execve("/bin/echo", {"echo", "a", "bc"}); });
    init.wait(&status);
    return 0;
  });
  CHECK(seen == std::vector<std::string>{"echo", "a", "bc"});
  CHECK(sys::exit_code(status) == 5);
}
