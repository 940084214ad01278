// Pipes and shared open file descriptions: capacity, blocking and waking on both sides,
// EOF, EPIPE and SIGPIPE; offsets shared by fork and dup on a regular file.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

using testing::errno_of;

/// Sets the disposition of `signal` to SIG_IGN with the raw rt_sigaction syscall, passing
/// a struct kernel_sigaction {handler, flags, restorer, mask} in simulated memory.
std::int64_t ignore_signal(user::Process& self, int signal) {
  const auto page = static_cast<mmu::VirtAddr>(
      self.mmap(0, 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
  const std::uint64_t action[4] = {1 /* SIG_IGN */, 0, 0, 0};
  self.write_memory(page, action, sizeof(action));
  const std::int64_t result = self.syscall(sys::nr::rt_sigaction, static_cast<std::uint64_t>(signal), page, 0, 8);
  self.munmap(page, 4096);
  return result;
}

std::string slurp(user::Process& self, std::string_view path) {
  const int fd = self.open(path, sys::kOpenReadOnly);
  std::string text;
  char buffer[256];
  for (std::int64_t got; (got = self.read(fd, std::span<char>(buffer, sizeof(buffer)))) > 0;) {
    text.append(buffer, static_cast<std::size_t>(got));
  }
  self.close(fd);
  return text;
}

}  // namespace

TEST_CASE("a nonblocking pipe takes exactly 65536 bytes and then EAGAIN", "[kernel][pipe]") {
  KernelFixture f;
  std::int64_t total = 0, refused = 0, refused_small = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds, sys::kOpenNonBlock) == 0);
    const std::string chunk(4096, 'p');  // PIPE_BUF: 16 of them fill the pipe
    for (;;) {
      const std::int64_t wrote = init.write(fds[1], chunk);
      if (wrote < 0) {
        refused = wrote;
        break;
      }
      total += wrote;
      REQUIRE(total <= 65536);
    }
    refused_small = init.write(fds[1], "x");
    return 0;
  });
  CHECK(total == static_cast<std::int64_t>(sys::kPipeCapacity));
  CHECK(total == 65536);
  CHECK(refused == errno_of(sys::Errno::kEAGAIN));
  CHECK(refused_small == errno_of(sys::Errno::kEAGAIN));
}

TEST_CASE("a large nonblocking write to an empty pipe is cut short at 65536 bytes", "[kernel][pipe]") {
  KernelFixture f;
  std::int64_t wrote = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds, sys::kOpenNonBlock) == 0);
    wrote = init.write(fds[1], std::string(100'000, 'q'));
    return 0;
  });
  CHECK(wrote == 65536);
}

TEST_CASE("a nonblocking write of at most PIPE_BUF bytes is all or nothing", "[kernel][pipe]") {
  KernelFixture f;
  std::int64_t fill = 0, atomic = 0, after_read = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds, sys::kOpenNonBlock) == 0);
    fill = init.write(fds[1], std::string(65536 - 100, 'a'));  // 100 bytes of room left
    atomic = init.write(fds[1], std::string(200, 'b'));         // <= 4096: must not be split
    char buffer[300];
    init.read(fds[0], std::span<char>(buffer, sizeof(buffer)));
    after_read = init.write(fds[1], std::string(200, 'b'));
    return 0;
  });
  CHECK(fill == 65436);
  CHECK(atomic == errno_of(sys::Errno::kEAGAIN));
  CHECK(after_read == 200);
}

TEST_CASE("a nonblocking read of an empty pipe with a writer returns EAGAIN", "[kernel][pipe]") {
  KernelFixture f;
  std::int64_t result = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds, sys::kOpenNonBlock) == 0);
    char byte;
    result = init.read(fds[0], std::span<char>(&byte, 1));
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEAGAIN));
}

TEST_CASE("a writer blocked on a full pipe resumes when the reader reads", "[kernel][pipe][blocking]") {
  KernelFixture f;
  constexpr std::size_t kBytes = 65536 + 10'000;
  std::int64_t wrote = 0;
  sim::Tick write_done = 0, first_read = 0;
  std::string received;
  kernel::TaskState writer_state_while_full = kernel::TaskState::kRunning;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    std::string data(kBytes, '\0');
    for (std::size_t i = 0; i < kBytes; ++i) data[i] = static_cast<char>('a' + i % 26);
    const sys::pid_t writer = init.fork([&](user::Process& self) {
      self.close(fds[0]);
      wrote = self.write(fds[1], data);
      write_done = self.now();
      return 0;
    });
    init.close(fds[1]);
    init.nanosleep(5 * sim::kMillisecond);  // the writer fills the pipe and sleeps
    writer_state_while_full = f.kernel.task(writer)->state;
    first_read = init.now();
    char buffer[4096];
    for (std::int64_t got; (got = init.read(fds[0], std::span<char>(buffer, sizeof(buffer)))) > 0;) {
      received.append(buffer, static_cast<std::size_t>(got));
    }
    REQUIRE(received.size() == kBytes);
    CHECK(received == data);
    return 0;
  });
  CHECK(writer_state_while_full == kernel::TaskState::kInterruptible);
  CHECK(wrote == static_cast<std::int64_t>(kBytes));
  CHECK(write_done >= first_read);
}

TEST_CASE("a reader of an empty pipe blocks until data arrives", "[kernel][pipe][blocking]") {
  KernelFixture f;
  std::int64_t got = 0;
  sim::Tick before = 0, after = 0;
  std::string text;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    init.fork([&](user::Process& self) {
      self.nanosleep(5 * sim::kMillisecond);
      self.write(fds[1], "hi");
      return 0;
    });
    before = init.now();
    char buffer[16];
    got = init.read(fds[0], std::span<char>(buffer, sizeof(buffer)));
    after = init.now();
    if (got > 0) text.assign(buffer, static_cast<std::size_t>(got));
    return 0;
  });
  CHECK(got == 2);  // a short read: what was there
  CHECK(text == "hi");
  CHECK(after - before >= 5 * sim::kMillisecond);
}

TEST_CASE("read on a pipe whose writers are all closed returns 0 after the buffered bytes", "[kernel][pipe][eof]") {
  KernelFixture f;
  std::int64_t first = 0, second = 0, third = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    init.write(fds[1], "abc");
    init.close(fds[1]);
    char buffer[16];
    first = init.read(fds[0], std::span<char>(buffer, sizeof(buffer)));
    second = init.read(fds[0], std::span<char>(buffer, sizeof(buffer)));
    third = init.read(fds[0], std::span<char>(buffer, sizeof(buffer)));
    return 0;
  });
  CHECK(first == 3);
  CHECK(second == 0);
  CHECK(third == 0);
}

TEST_CASE("a blocked reader gets EOF when the last writer, in another process, exits", "[kernel][pipe][eof]") {
  KernelFixture f;
  std::int64_t got = -1;
  sim::Tick after = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    init.fork([&](user::Process& self) {
      self.nanosleep(3 * sim::kMillisecond);
      return 0;  // exiting closes its copy of the write end
    });
    init.close(fds[1]);
    char buffer[16];
    got = init.read(fds[0], std::span<char>(buffer, sizeof(buffer)));
    after = init.now();
    return 0;
  });
  CHECK(got == 0);
  CHECK(after >= 3 * sim::kMillisecond);
}

TEST_CASE("a write to a pipe with no readers kills the writer with SIGPIPE by default", "[kernel][pipe][sigpipe]") {
  KernelFixture f;
  int status = 0;
  bool went_on = false;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    init.close(fds[0]);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.write(fds[1], "lost");
      went_on = true;
      return 0;
    });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK_FALSE(went_on);
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigPipe);
}

TEST_CASE("with SIGPIPE ignored, a write to a pipe with no readers returns EPIPE", "[kernel][pipe][sigpipe]") {
  KernelFixture f;
  int status = -1;
  std::int64_t sigaction_result = -1, wrote = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    init.close(fds[0]);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      sigaction_result = ignore_signal(self, sys::kSigPipe);
      wrote = self.write(fds[1], "lost");
      return 0;
    });
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(sigaction_result == 0);
  CHECK(wrote == errno_of(sys::Errno::kEPIPE));
  CHECK(sys::exited_normally(status));
}

TEST_CASE("a writer blocked on a full pipe gets EPIPE when the last reader closes", "[kernel][pipe][sigpipe]") {
  KernelFixture f;
  std::int64_t wrote = 0;
  int status = -1;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      CHECK(ignore_signal(self, sys::kSigPipe) == 0);
      self.close(fds[0]);
      self.write(fds[1], std::string(65536, 'f'));  // fills the pipe
      wrote = self.write(fds[1], "more");             // blocks: full
      return 0;
    });
    init.nanosleep(2 * sim::kMillisecond);
    init.close(fds[0]);  // the last reader goes: the writer wakes to EPIPE
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(wrote == errno_of(sys::Errno::kEPIPE));
  CHECK(sys::exited_normally(status));
}

TEST_CASE("writing to a pipe's read end or reading its write end returns EBADF", "[kernel][pipe][errors]") {
  KernelFixture f;
  std::int64_t write_read_end = 0, read_write_end = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    write_read_end = init.write(fds[0], "x");
    char byte;
    read_write_end = init.read(fds[1], std::span<char>(&byte, 1));
    return 0;
  });
  CHECK(write_read_end == errno_of(sys::Errno::kEBADF));
  CHECK(read_write_end == errno_of(sys::Errno::kEBADF));
}

TEST_CASE("fstat on a pipe reports a FIFO", "[kernel][pipe]") {
  KernelFixture f;
  sys::stat st;
  int result = -1;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    result = init.fstat(fds[0], st);
    return 0;
  });
  CHECK(result == 0);
  CHECK((st.st_mode & sys::kFileTypeMask) == sys::kTypeFifo);
}

TEST_CASE("pipe2 with an unknown flag returns EINVAL", "[kernel][pipe][errors]") {
  KernelFixture f;
  int result = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    result = init.pipe(fds, sys::kOpenAppend);
    return 0;
  });
  CHECK(result == static_cast<int>(errno_of(sys::Errno::kEINVAL)));
}

TEST_CASE("bytes come out of a pipe in the order they went in across many small writes", "[kernel][pipe]") {
  KernelFixture f;
  std::string received;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    init.fork([&](user::Process& self) {
      self.close(fds[0]);
      for (int i = 0; i < 200; ++i) self.write(fds[1], std::to_string(i) + ",");
      return 0;
    });
    init.close(fds[1]);
    char buffer[97];  // an odd size, so reads straddle the writes
    for (std::int64_t got; (got = init.read(fds[0], std::span<char>(buffer, sizeof(buffer)))) > 0;) {
      received.append(buffer, static_cast<std::size_t>(got));
    }
    return 0;
  });
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += std::to_string(i) + ",";
  CHECK(received == expected);
}

TEST_CASE("parent and child writing to one inherited fd interleave instead of overwriting", "[kernel][pipe][offset]") {
  KernelFixture f;
  std::string content;
  std::int64_t parent_offset = -1;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/shared", sys::kOpenCreate | sys::kOpenWriteOnly | sys::kOpenTruncate, 0644);
    REQUIRE(fd >= 0);
    int to_child[2], to_parent[2];
    REQUIRE(init.pipe(to_child) == 0);
    REQUIRE(init.pipe(to_parent) == 0);
    char byte;
    const sys::pid_t child = init.fork([&](user::Process& self) {
      for (int i = 0; i < 3; ++i) {
        self.read(to_child[0], std::span<char>(&byte, 1));
        self.write(fd, "child" + std::to_string(i) + ";");
        self.write(to_parent[1], "x");
      }
      return 0;
    });
    for (int i = 0; i < 3; ++i) {
      init.write(fd, "parent" + std::to_string(i) + ";");
      init.write(to_child[1], "x");
      init.read(to_parent[0], std::span<char>(&byte, 1));
    }
    int status = 0;
    init.waitpid(child, &status);
    parent_offset = init.lseek(fd, 0, sys::kSeekCur);
    content = slurp(init, "/tmp/shared");
    return 0;
  });
  const std::string expected = "parent0;child0;parent1;child1;parent2;child2;";
  CHECK(content == expected);
  CHECK(parent_offset == static_cast<std::int64_t>(expected.size()));
}

TEST_CASE("a dup'ed fd shares the offset, a second open of the same file does not", "[kernel][pipe][offset]") {
  KernelFixture f;
  std::string content;
  std::int64_t offset_original = -1, offset_dup = -1, offset_other = -1;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/dup", sys::kOpenCreate | sys::kOpenReadWrite | sys::kOpenTruncate, 0644);
    const int copy = init.dup(fd);
    REQUIRE(copy == fd + 1);
    init.write(fd, "ab");
    init.write(copy, "cd");
    init.write(fd, "ef");
    offset_original = init.lseek(fd, 0, sys::kSeekCur);
    offset_dup = init.lseek(copy, 0, sys::kSeekCur);
    const int other = init.open("/tmp/dup", sys::kOpenWriteOnly);
    init.write(other, "XY");  // its own offset 0: overwrites the start
    offset_other = init.lseek(other, 0, sys::kSeekCur);
    content = slurp(init, "/tmp/dup");
    return 0;
  });
  CHECK(offset_original == 6);
  CHECK(offset_dup == 6);
  CHECK(offset_other == 2);
  CHECK(content == "XYcdef");
}

TEST_CASE("lseek through one of two dup'ed fds moves the other's offset too", "[kernel][pipe][offset]") {
  KernelFixture f;
  std::string read_back;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/seek", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    init.write(fd, "0123456789");
    const int copy = init.dup2(fd, 10);
    REQUIRE(copy == 10);
    REQUIRE(init.lseek(copy, 4, sys::kSeekSet) == 4);
    char buffer[3];
    REQUIRE(init.read(fd, std::span<char>(buffer, 3)) == 3);
    read_back.assign(buffer, 3);
    return 0;
  });
  CHECK(read_back == "456");
}

TEST_CASE("a read asking for more than 64 KiB returns the bytes buffered instead of waiting for more",
          "[kernel][pipe][blocking]") {
  KernelFixture f;
  std::int64_t got_full = -1, got_partial = -1;
  f.run(
      [&](user::Process& init) {
        int fds[2];
        REQUIRE(init.pipe(fds) == 0);
        const auto buffer = static_cast<mmu::VirtAddr>(
            init.mmap(0, 40 * 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
        init.write(fds[1], std::string(70'000, 'a').substr(0, 1000));
        got_partial = init.read(fds[0], buffer, 100'000);
        init.write(fds[1], std::string(65536, 'b'));  // exactly one bounce chunk's worth
        got_full = init.read(fds[0], buffer, 100'000);
        return 0;
      },
      100 * sim::kMillisecond);
  CHECK(got_partial == 1000);
  CHECK(got_full == 65536);
  CHECK(f.kernel.halted());
}

TEST_CASE("one read and one write of 200 KB on a regular file move all of it", "[kernel][pipe][file]") {
  KernelFixture f;
  std::int64_t wrote = 0, read_back = 0;
  bool same = false;
  f.run([&](user::Process& init) {
    constexpr std::uint64_t kBytes = 200'000;
    const auto buffer = static_cast<mmu::VirtAddr>(
        init.mmap(0, 2 * kBytes, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
    std::string data(kBytes, '\0');
    for (std::size_t i = 0; i < kBytes; ++i) data[i] = static_cast<char>(i * 7 + i / 251);
    init.write_memory(buffer, data.data(), kBytes);
    const int fd = init.open("/tmp/big", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    wrote = init.write(fd, buffer, kBytes);
    init.lseek(fd, 0, sys::kSeekSet);
    read_back = init.read(fd, buffer + kBytes, kBytes + 5000);  // more than the file holds
    std::string back(kBytes, '\0');
    init.read_memory(buffer + kBytes, back.data(), kBytes);
    same = back == data;
    return 0;
  });
  CHECK(wrote == 200'000);
  CHECK(read_back == 200'000);
  CHECK(same);
}

TEST_CASE("pipe2 with O_CLOEXEC makes both ends close on exec", "[kernel][pipe][exec]") {
  KernelFixture f;
  std::int64_t read_end = 0, write_end = 0;
  f.kernel.register_program({.name = "probe", .main = [&](user::Process& self) {
                               sys::stat st;
                               read_end = self.fstat(3, st);
                               write_end = self.fstat(4, st);
                               return 0;
                             }});
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([](user::Process& self) {
      int fds[2];
      self.pipe(fds, sys::kOpenCloseOnExec);
      return self.execve("/bin/probe", {"probe"});
    });
    init.waitpid(child, nullptr);
    return 0;
  });
  CHECK(read_end == errno_of(sys::Errno::kEBADF));
  CHECK(write_end == errno_of(sys::Errno::kEBADF));
}
