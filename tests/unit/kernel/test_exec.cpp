// execve: the program image is replaced; the pid, the open file descriptions (but not the
// close-on-exec ones) and the parent relationship survive; argv and envp arrive on the
// new stack; failures return an errno and leave the caller running its old image.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr mmu::VirtAddr kTextBase = 0x400000;

/// The whole content of the file at `path`, read through open/read.
std::string slurp(user::Process& self, std::string_view path) {
  const int fd = self.open(path, sys::kOpenReadOnly);
  if (fd < 0) return "<open failed>";
  std::string text;
  char buffer[512];
  for (;;) {
    const std::int64_t got = self.read(fd, std::span<char>(buffer, sizeof(buffer)));
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  self.close(fd);
  return text;
}

/// Creates `path` with `mode` holding `content`.
void make_file(user::Process& self, std::string_view path, sys::mode_t mode, std::string_view content) {
  const int fd = self.open(path, sys::kOpenCreate | sys::kOpenWriteOnly | sys::kOpenTruncate, mode);
  REQUIRE(fd >= 0);
  REQUIRE(self.write(fd, content) == static_cast<std::int64_t>(content.size()));
  self.close(fd);
}

}  // namespace

TEST_CASE("exec keeps the pid, the parent and the open fds but closes the close-on-exec ones", "[kernel][exec]") {
  KernelFixture f;
  sys::pid_t pid_before = 0, pid_after = 0, ppid_after = 0;
  std::int64_t write_kept = 0, write_cloexec = 0;
  int fstat_cloexec = 0, kept_fd = -1, cloexec_fd = -1;
  f.kernel.register_program({.name = "after", .main = [&](user::Process& self) {
                               pid_after = self.getpid();
                               ppid_after = self.getppid();
                               write_kept = self.write(kept_fd, "written after exec");
                               write_cloexec = self.write(cloexec_fd, "x");
                               sys::stat st;
                               fstat_cloexec = self.fstat(cloexec_fd, st);
                               return 0;
                             }});
  int status = -1;
  std::string content;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      pid_before = self.getpid();
      kept_fd = self.open("/tmp/kept", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
      cloexec_fd = self.open("/tmp/cloexec", sys::kOpenCreate | sys::kOpenWriteOnly | sys::kOpenCloseOnExec, 0644);
      return self.execve("/bin/after", {"after"});
    });
    init.waitpid(child, &status);
    content = slurp(init, "/tmp/kept");
    return 0;
  });
  CHECK(kept_fd == 3);
  CHECK(cloexec_fd == 4);
  CHECK(pid_after == pid_before);
  CHECK(ppid_after == 1);
  CHECK(write_kept == 18);
  CHECK(write_cloexec == -static_cast<int>(sys::Errno::kEBADF));
  CHECK(fstat_cloexec == -static_cast<int>(sys::Errno::kEBADF));
  CHECK(content == "written after exec");
  CHECK(sys::exited_normally(status));
  CHECK(sys::exit_code(status) == 0);
}

TEST_CASE("exec keeps the offset of an inherited open file description", "[kernel][exec]") {
  KernelFixture f;
  f.kernel.register_program({.name = "appender", .main = [](user::Process& self) {
                               self.write(3, "-second");
                               return 0;
                             }});
  std::string content;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/log", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
    REQUIRE(fd == 3);
    init.write(fd, "first");
    const sys::pid_t child = init.fork([](user::Process& self) { return self.execve("/bin/appender", {"appender"}); });
    int status = 0;
    init.waitpid(child, &status);
    init.write(fd, "-third");
    content = slurp(init, "/tmp/log");
    return 0;
  });
  CHECK(content == "first-second-third");
}

TEST_CASE("exec discards the old address space: a mapping made before exec is gone", "[kernel][exec]") {
  KernelFixture f;
  mmu::VirtAddr mapped = 0;
  f.kernel.register_program({.name = "prober", .main = [&](user::Process& self) {
                               (void)self.load<std::uint64_t>(mapped);  // no longer mapped: SIGSEGV
                               return 0;
                             }});
  int status = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      mapped = static_cast<mmu::VirtAddr>(self.mmap(0x10000000, 4096, sys::kProtRead | sys::kProtWrite,
                                                    sys::kMapPrivate | sys::kMapAnonymous | sys::kMapFixed));
      self.store<std::uint64_t>(mapped, 1);
      return self.execve("/bin/prober", {"prober"});
    });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(mapped == 0x10000000);
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigSegv);
}

TEST_CASE("exec of a missing file returns ENOENT and the caller carries on", "[kernel][exec][errors]") {
  KernelFixture f;
  int result = 0, result_empty = 0;
  std::uint64_t still_there = 0;
  f.run([&](user::Process& init) {
    const auto page = static_cast<mmu::VirtAddr>(
        init.mmap(0, 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
    init.store<std::uint64_t>(page, 1234);
    result = init.execve("/bin/no-such-program", {"x"});
    result_empty = init.execve("", {"x"});
    still_there = init.load<std::uint64_t>(page);
    return 0;
  });
  CHECK(result == -static_cast<int>(sys::Errno::kENOENT));
  CHECK(result_empty == -static_cast<int>(sys::Errno::kENOENT));
  CHECK(still_there == 1234);
}

TEST_CASE("exec of a file without execute permission returns EACCES", "[kernel][exec][errors]") {
  KernelFixture f;
  int result = 0, result_dir = 0;
  f.run([&](user::Process& init) {
    make_file(init, "/tmp/data", 0644, std::string(200, 'a'));
    result = init.execve("/tmp/data", {"data"});
    result_dir = init.execve("/tmp", {"tmp"});
    return 0;
  });
  CHECK(result == -static_cast<int>(sys::Errno::kEACCES));
  CHECK(result_dir == -static_cast<int>(sys::Errno::kEACCES));
}

TEST_CASE("exec of an executable file without the executable header returns ENOEXEC", "[kernel][exec][errors]") {
  KernelFixture f;
  int long_file = 0, short_file = 0, empty_file = 0;
  f.run([&](user::Process& init) {
    make_file(init, "/tmp/script", 0755, "#!/bin/sh\necho this is not an ossim executable, just text\n" +
                                             std::string(300, '#'));
    make_file(init, "/tmp/short", 0755, "\x7fOS");
    make_file(init, "/tmp/empty", 0755, "");
    long_file = init.execve("/tmp/script", {"script"});
    short_file = init.execve("/tmp/short", {"short"});
    empty_file = init.execve("/tmp/empty", {"empty"});
    return 0;
  });
  CHECK(long_file == -static_cast<int>(sys::Errno::kENOEXEC));
  CHECK(short_file == -static_cast<int>(sys::Errno::kENOEXEC));
  CHECK(empty_file == -static_cast<int>(sys::Errno::kENOEXEC));
}

TEST_CASE("a copy of an executable file runs the same program", "[kernel][exec]") {
  KernelFixture f;
  std::vector<std::string> seen;
  f.kernel.register_program({.name = "tool", .main = [&](user::Process& self) {
                               seen = self.argv();
                               return 9;
                             }});
  int status = 0;
  f.run([&](user::Process& init) {
    make_file(init, "/tmp/tool-copy", 0755, slurp(init, "/bin/tool"));
    const sys::pid_t child = init.fork([](user::Process& self) { return self.execve("/tmp/tool-copy", {"copy"}); });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(seen == std::vector<std::string>{"copy"});
  CHECK(sys::exit_code(status) == 9);
}

TEST_CASE("argv and envp arrive in the new program", "[kernel][exec]") {
  KernelFixture f;
  std::vector<std::string> argv, envp;
  f.kernel.register_program({.name = "env", .main = [&](user::Process& self) {
                               argv = self.argv();
                               envp = self.envp();
                               return 0;
                             }});
  f.run([&](user::Process& init) {
    init.fork([](user::Process& self) {
      return self.execve("/bin/env", {"env", "-i", "", "a b c"}, {"HOME=/root", "PATH=/bin:/usr/bin", "EMPTY="});
    });
    return 0;
  });
  CHECK(argv == std::vector<std::string>{"env", "-i", "", "a b c"});
  CHECK(envp == std::vector<std::string>{"HOME=/root", "PATH=/bin:/usr/bin", "EMPTY="});
}

TEST_CASE("an empty argv and envp arrive empty", "[kernel][exec]") {
  KernelFixture f;
  std::vector<std::string> argv{"unset"}, envp{"unset"};
  f.kernel.register_program({.name = "bare", .main = [&](user::Process& self) {
                               argv = self.argv();
                               envp = self.envp();
                               return 0;
                             }});
  f.run([&](user::Process& init) {
    init.fork([](user::Process& self) { return self.execve("/bin/bare", {}, {}); });
    return 0;
  });
  CHECK(argv.empty());
  CHECK(envp.empty());
}

TEST_CASE("text and data pages read through the mapping equal the executable file's bytes", "[kernel][exec][image]") {
  KernelFixture f;
  constexpr std::uint64_t kText = 3 * 4096 + 100;  // not a whole number of pages
  constexpr std::uint64_t kData = 4096 + 17;
  std::string file_text, mapped_text, file_data, mapped_data, text_tail, data_tail;
  std::uint64_t bss_word = 1;
  f.kernel.register_program({.name = "imaged",
                             .main =
                                 [&](user::Process& self) {
                                   const std::string file = slurp(self, "/bin/imaged");
                                   const std::uint64_t data_offset = 4096 + 4 * 4096;
                                   file_text = file.substr(4096, kText);
                                   file_data = file.substr(data_offset, kData);
                                   mapped_text.resize(kText);
                                   self.read_memory(kTextBase, mapped_text.data(), kText);
                                   text_tail.resize(4 * 4096 - kText);
                                   self.read_memory(kTextBase + kText, text_tail.data(), text_tail.size());
                                   const mmu::VirtAddr data_base = kTextBase + 4 * 4096;
                                   mapped_data.resize(kData);
                                   self.read_memory(data_base, mapped_data.data(), kData);
                                   data_tail.resize(2 * 4096 - kData);
                                   self.read_memory(data_base + kData, data_tail.data(), data_tail.size());
                                   bss_word = self.load<std::uint64_t>(data_base + 2 * 4096);
                                   return 0;
                                 },
                             .text_bytes = kText,
                             .data_bytes = kData,
                             .bss_bytes = 4096});
  f.run([](user::Process& init) {
    init.fork([](user::Process& self) { return self.execve("/bin/imaged", {"imaged"}); });
    return 0;
  });
  REQUIRE(file_text.size() == kText);
  CHECK(mapped_text == file_text);
  CHECK(text_tail == std::string(text_tail.size(), '\0'));
  REQUIRE(file_data.size() == kData);
  CHECK(mapped_data == file_data);
  CHECK(data_tail == std::string(data_tail.size(), '\0'));
  CHECK(bss_word == 0);
  CHECK(file_text != std::string(kText, '\0'));  // the image is not trivially zero
}

TEST_CASE("a write to a program's data page does not change the executable file", "[kernel][exec][image]") {
  KernelFixture f;
  std::string before, after;
  f.kernel.register_program({.name = "writer", .main = [&](user::Process& self) {
                               const mmu::VirtAddr data_base = kTextBase + 4 * 4096;  // 16 KiB of text
                               before = slurp(self, "/bin/writer");
                               self.store<std::uint64_t>(data_base, 0x1122334455667788ull);
                               after = slurp(self, "/bin/writer");
                               return 0;
                             }});
  f.run([](user::Process& init) {
    init.fork([](user::Process& self) { return self.execve("/bin/writer", {"writer"}); });
    return 0;
  });
  CHECK(!before.empty());
  CHECK(before == after);
}

TEST_CASE("a write to a program's text page is a segfault", "[kernel][exec][image]") {
  KernelFixture f;
  f.kernel.register_program({.name = "selfmod", .main = [](user::Process& self) {
                               self.store<std::uint8_t>(kTextBase, 0x90);
                               return 0;
                             }});
  int status = 0;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([](user::Process& self) { return self.execve("/bin/selfmod", {"selfmod"}); });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigSegv);
}

TEST_CASE("a program exec'ed twice in a row runs the last image", "[kernel][exec]") {
  KernelFixture f;
  std::vector<std::string> trail;
  f.kernel.register_program({.name = "first", .main = [&](user::Process& self) {
                               trail.push_back("first");
                               return self.execve("/bin/second", {"second"});
                             }});
  f.kernel.register_program({.name = "second", .main = [&](user::Process& self) {
                               trail.push_back("second:" + std::to_string(self.getpid()));
                               return 4;
                             }});
  int status = 0;
  sys::pid_t child = 0;
  f.run([&](user::Process& init) {
    child = init.fork([](user::Process& self) { return self.execve("/bin/first", {"first"}); });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(trail == std::vector<std::string>{"first", "second:" + std::to_string(child)});
  CHECK(sys::exit_code(status) == 4);
  const auto info = f.kernel.task(child);
  REQUIRE(info);
  CHECK(info->name == "second");
}

TEST_CASE("an fd dup'ed from a close-on-exec fd does not inherit close-on-exec", "[kernel][exec]") {
  KernelFixture f;
  std::int64_t original = 0, duplicate = 0, duplicate2 = 0;
  f.kernel.register_program({.name = "probe", .main = [&](user::Process& self) {
                               sys::stat st;
                               original = self.fstat(3, st);
                               duplicate = self.fstat(4, st);
                               duplicate2 = self.fstat(9, st);
                               return 0;
                             }});
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([](user::Process& self) {
      const int fd = self.open("/dev/null", sys::kOpenReadOnly | sys::kOpenCloseOnExec);  // 3
      self.dup(fd);                                                                       // 4
      self.dup2(fd, 9);
      return self.execve("/bin/probe", {"probe"});
    });
    init.waitpid(child, nullptr);
    return 0;
  });
  CHECK(original == -static_cast<int>(sys::Errno::kEBADF));
  CHECK(duplicate == 0);
  CHECK(duplicate2 == 0);
}

TEST_CASE("exec in a process with several threads ends the other threads", "[kernel][exec][threads]") {
  KernelFixture f;
  bool thread_went_on = false;
  sys::pid_t thread = 0;
  f.kernel.register_program({.name = "solo", .main = [](user::Process& self) {
                               self.nanosleep(2 * sim::kMillisecond);
                               return 6;
                             }});
  int status = -1;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      int never[2];
      self.pipe(never);
      thread = self.spawn_thread([&thread_went_on, never](user::Process& t) {
        char byte;
        t.read(never[0], std::span<char>(&byte, 1));
        thread_went_on = true;
        return 0;
      });
      self.nanosleep(sim::kMillisecond);  // the thread is asleep in read
      return self.execve("/bin/solo", {"solo"});
    });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK_FALSE(thread_went_on);
  CHECK(sys::exited_normally(status));
  CHECK(sys::exit_code(status) == 6);
  const auto info = f.kernel.task(thread);
  REQUIRE(info);
  CHECK(info->state == kernel::TaskState::kDead);
}

// Linux's de_thread(): the exec'ing thread takes over the process, and its parent later
// sees the new program's exit status (not the SIGKILL that ended the old leader).
TEST_CASE("a process whose non-leader thread exec'ed reports the new program's exit status",
          "[kernel][exec][threads]") {
  KernelFixture f;
  std::vector<std::string> seen;
  f.kernel.register_program({.name = "heir", .main = [&](user::Process& self) {
                               seen = self.argv();
                               return 6;
                             }});
  int status = -1;
  sys::pid_t child = 0, reaped = 0;
  f.run([&](user::Process& init) {
    child = init.fork([](user::Process& self) {
      self.spawn_thread([](user::Process& t) { return t.execve("/bin/heir", {"heir"}); });
      for (;;) self.nanosleep(sim::kMillisecond);  // killed by the thread's exec
      return 0;
    });
    reaped = init.waitpid(child, &status);
    return 0;
  });
  CHECK(seen == std::vector<std::string>{"heir"});
  CHECK(reaped == child);
  CHECK(sys::exited_normally(status));
  CHECK(sys::exit_code(status) == 6);
}
