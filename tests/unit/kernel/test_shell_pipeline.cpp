// A shell's pipeline, end to end: fork, dup2 of the pipe ends onto stdin and stdout,
// closing the spare fds, execve of registered programs, wait for both.

#include <catch2/catch.hpp>

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

/// Reads stdin to EOF and writes it uppercased to stdout.
int upcase_main(user::Process& self) {
  char buffer[128];
  for (std::int64_t got; (got = self.read(0, std::span<char>(buffer, sizeof(buffer)))) > 0;) {
    std::string text(buffer, static_cast<std::size_t>(got));
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (self.write(1, text) != static_cast<std::int64_t>(text.size())) return 2;
  }
  return 0;
}

/// `left | right` as a shell runs it; returns the two wait statuses.
std::pair<int, int> run_pipeline(user::Process& shell, const std::vector<std::string>& left,
                                 const std::vector<std::string>& right) {
  int fds[2];
  REQUIRE(shell.pipe(fds) == 0);
  const sys::pid_t writer = shell.fork([&](user::Process& self) {
    self.dup2(fds[1], 1);
    self.close(fds[0]);
    self.close(fds[1]);
    return self.execve("/bin/" + left[0], left);
  });
  const sys::pid_t reader = shell.fork([&](user::Process& self) {
    self.dup2(fds[0], 0);
    self.close(fds[0]);
    self.close(fds[1]);
    return self.execve("/bin/" + right[0], right);
  });
  shell.close(fds[0]);
  shell.close(fds[1]);
  int writer_status = -1, reader_status = -1;
  REQUIRE(shell.waitpid(writer, &writer_status) == writer);
  REQUIRE(shell.waitpid(reader, &reader_status) == reader);
  return {writer_status, reader_status};
}

}  // namespace

TEST_CASE("producer | consumer writes the producer's text uppercased to the console", "[kernel][pipeline]") {
  KernelFixture f;
  f.kernel.register_program({.name = "producer", .main = [](user::Process& self) {
                               self.write(1, "hello, world\n");
                               self.write(1, "pipes are ");
                               self.write(1, "fine\n");
                               return 0;
                             }});
  f.kernel.register_program({.name = "consumer", .main = upcase_main});
  std::pair<int, int> statuses{-1, -1};
  f.run([&](user::Process& init) {
    statuses = run_pipeline(init, {"producer"}, {"consumer"});
    return 0;
  });
  CHECK(f.machine.console().output() == "HELLO, WORLD\nPIPES ARE FINE\n");
  CHECK(sys::exited_normally(statuses.first));
  CHECK(sys::exit_code(statuses.first) == 0);
  CHECK(sys::exited_normally(statuses.second));
  CHECK(sys::exit_code(statuses.second) == 0);
}

TEST_CASE("a pipeline moves more than a pipe's capacity and ends when the producer exits", "[kernel][pipeline]") {
  for (unsigned cpus : {1u, 2u}) {
    DYNAMIC_SECTION("on " << cpus << " CPU(s)") {
      KernelFixture f(cpus);
      constexpr int kLines = 5000;  // ~ 150 KB, more than twice the pipe's capacity
      f.kernel.register_program({.name = "seq", .main = [](user::Process& self) {
                                   for (int i = 0; i < kLines; ++i) {
                                     self.write(1, "line number " + std::to_string(i) + " of seq\n");
                                   }
                                   return 0;
                                 }});
      // Counts bytes and lines of stdin and prints the counts.
      f.kernel.register_program({.name = "wc", .main = [](user::Process& self) {
                                   std::uint64_t bytes = 0, lines = 0;
                                   char buffer[1000];
                                   for (std::int64_t got; (got = self.read(0, std::span<char>(buffer, 1000))) > 0;) {
                                     bytes += static_cast<std::uint64_t>(got);
                                     for (std::int64_t i = 0; i < got; ++i) lines += buffer[i] == '\n';
                                   }
                                   self.write(1, std::to_string(lines) + " " + std::to_string(bytes) + "\n");
                                   return 0;
                                 }});
      std::pair<int, int> statuses{-1, -1};
      f.run([&](user::Process& init) {
        statuses = run_pipeline(init, {"seq"}, {"wc"});
        return 0;
      });
      std::uint64_t expected_bytes = 0;
      for (int i = 0; i < kLines; ++i) expected_bytes += ("line number " + std::to_string(i) + " of seq\n").size();
      CHECK(f.machine.console().output() == std::to_string(kLines) + " " + std::to_string(expected_bytes) + "\n");
      CHECK(sys::exit_code(statuses.first) == 0);
      CHECK(sys::exit_code(statuses.second) == 0);
    }
  }
}

TEST_CASE("a three-stage pipeline passes its arguments and data through every stage", "[kernel][pipeline]") {
  KernelFixture f;
  // echo ARGS... | upcase | rev-lines
  f.kernel.register_program({.name = "echo", .main = [](user::Process& self) {
                               const auto args = self.argv();
                               std::string line;
                               for (std::size_t i = 1; i < args.size(); ++i) line += (i > 1 ? " " : "") + args[i];
                               self.write(1, line + "\n");
                               return 0;
                             }});
  f.kernel.register_program({.name = "upcase", .main = upcase_main});
  f.kernel.register_program({.name = "rev", .main = [](user::Process& self) {
                               std::string all;
                               char buffer[64];
                               for (std::int64_t got; (got = self.read(0, std::span<char>(buffer, 64))) > 0;) {
                                 all.append(buffer, static_cast<std::size_t>(got));
                               }
                               if (!all.empty() && all.back() == '\n') all.pop_back();
                               self.write(1, std::string(all.rbegin(), all.rend()) + "\n");
                               return 0;
                             }});
  std::vector<int> statuses;
  f.run([&](user::Process& init) {
    int first[2], second[2];
    REQUIRE(init.pipe(first) == 0);
    REQUIRE(init.pipe(second) == 0);
    std::vector<sys::pid_t> pids;
    pids.push_back(init.fork([&](user::Process& self) {
      self.dup2(first[1], 1);
      for (int fd : {first[0], first[1], second[0], second[1]}) self.close(fd);
      return self.execve("/bin/echo", {"echo", "abc", "def"});
    }));
    pids.push_back(init.fork([&](user::Process& self) {
      self.dup2(first[0], 0);
      self.dup2(second[1], 1);
      for (int fd : {first[0], first[1], second[0], second[1]}) self.close(fd);
      return self.execve("/bin/upcase", {"upcase"});
    }));
    pids.push_back(init.fork([&](user::Process& self) {
      self.dup2(second[0], 0);
      for (int fd : {first[0], first[1], second[0], second[1]}) self.close(fd);
      return self.execve("/bin/rev", {"rev"});
    }));
    for (int fd : {first[0], first[1], second[0], second[1]}) init.close(fd);
    for (sys::pid_t pid : pids) {
      int status = -1;
      REQUIRE(init.waitpid(pid, &status) == pid);
      statuses.push_back(status);
    }
    return 0;
  });
  CHECK(f.machine.console().output() == "FED CBA\n");
  CHECK(statuses == std::vector<int>{0, 0, 0});
}

TEST_CASE("a consumer whose shell forgot to close the write end never sees EOF", "[kernel][pipeline]") {
  // The classic mistake: the shell keeps fds[1] open, so the consumer blocks forever;
  // with a time limit the run stops with the consumer asleep in read.
  KernelFixture f;
  f.kernel.register_program({.name = "producer", .main = [](user::Process& self) {
                               self.write(1, "x\n");
                               return 0;
                             }});
  f.kernel.register_program({.name = "consumer", .main = upcase_main});
  sys::pid_t reader = 0;
  f.run(
      [&](user::Process& init) {
        int fds[2];
        REQUIRE(init.pipe(fds) == 0);
        init.fork([&](user::Process& self) {
          self.dup2(fds[1], 1);
          self.close(fds[0]);
          self.close(fds[1]);
          return self.execve("/bin/producer", {"producer"});
        });
        reader = init.fork([&](user::Process& self) {
          self.dup2(fds[0], 0);
          self.close(fds[0]);
          self.close(fds[1]);
          return self.execve("/bin/consumer", {"consumer"});
        });
        init.close(fds[0]);  // but not fds[1]
        int status = 0;
        init.waitpid(reader, &status);
        return 0;
      },
      50 * sim::kMillisecond);
  CHECK(f.machine.console().output() == "X\n");
  CHECK_FALSE(f.kernel.halted());
  const auto info = f.kernel.task(reader);
  REQUIRE(info);
  CHECK(info->state == kernel::TaskState::kInterruptible);
}
