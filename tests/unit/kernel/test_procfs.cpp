#include <catch2/catch.hpp>

#include <string>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

/// The whole text of a file, read in small pieces (as a C program's loop would).
std::string slurp(user::Process& self, const std::string& path) {
  const int fd = self.open(path, sys::kOpenReadOnly);
  if (fd < 0) return "open failed " + std::to_string(fd);
  std::string text;
  char buffer[100];
  for (std::int64_t got; (got = self.read(fd, std::span<char>(buffer))) > 0;) text.append(buffer, static_cast<std::size_t>(got));
  self.close(fd);
  return text;
}

}  // namespace

TEST_CASE("/proc/<pid>/status reports the process's identity, memory and faults", "[kernel][procfs]") {
  KernelFixture f;
  std::string status;
  f.run([&](user::Process& init) {
    const auto region = static_cast<user::VirtAddr>(
        init.mmap(0, 16 * 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
    for (int page = 0; page < 16; ++page) init.store<char>(region + page * 4096, 1);
    status = slurp(init, "/proc/1/status");
    return 0;
  });
  CHECK_THAT(status, Catch::Contains("Name:\tinit\n"));
  CHECK_THAT(status, Catch::Contains("State:\tR (running)\n"));
  CHECK_THAT(status, Catch::Contains("Pid:\t1\n"));
  CHECK_THAT(status, Catch::Contains("PPid:\t0\n"));
  CHECK_THAT(status, Catch::Contains("VmRSS:"));
  // The 16 touched pages were 16 minor faults, at least.
  const auto at = status.find("MinFlt:\t");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoul(status.substr(at + 8)) >= 16);
}

TEST_CASE("/proc/<pid>/maps lists the VMAs in Linux's format", "[kernel][procfs]") {
  KernelFixture f;
  std::string maps;
  f.run([&](user::Process& init) {
    init.mmap(0x10000000, 4096, sys::kProtRead, sys::kMapPrivate | sys::kMapAnonymous | sys::kMapFixed);
    maps = slurp(init, "/proc/1/maps");
    return 0;
  });
  CHECK_THAT(maps, Catch::Contains("00400000-"));                  // text
  CHECK_THAT(maps, Catch::Contains("r-xp"));
  CHECK_THAT(maps, Catch::Contains("10000000-10001000 r--p 00000000 00:00 0"));
  CHECK_THAT(maps, Catch::Contains("[stack]"));
}

TEST_CASE("/proc/self/maps and status of a process with a known layout read exactly as on Linux", "[kernel][procfs]") {
  KernelFixture f;
  std::string maps, status;
  f.run([&](user::Process& init) {
    init.fork([&](user::Process& self) {
      const int fd = self.open("/tmp/data", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
      REQUIRE(self.ftruncate(fd, 3 * 4096) == 0);
      self.mmap(0x10000000, 2 * 4096, sys::kProtRead, sys::kMapShared | sys::kMapFixed, fd, 4096);
      self.mmap(0x20000000, 4 * 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous | sys::kMapFixed);
      self.store<char>(0x20000000, 1);
      maps = slurp(self, "/proc/self/maps");
      status = slurp(self, "/proc/self/status");
      return 0;
    });
    int child_status = 0;
    init.wait(&child_status);
    return 0;
  });
  // Linux pads a named mapping's header to column 73 (seq_pad); an anonymous one ends in a
  // space after its inode number.
  const auto named = [](std::string header, std::string_view name) {
    header.resize(73, ' ');
    return header.append(name).append("\n");
  };
  CHECK(maps == named("00400000-00401000 r-xp 00001000 00:00 10", "/sbin/init") +    // text, after the header page
                    named("00401000-00402000 rw-p 00002000 00:00 10", "/sbin/init") +  // data
                    "00402000-00403000 rw-p 00000000 00:00 0 \n" +                   // bss
                    named("10000000-10002000 r--s 00001000 00:00 11", "/tmp/data") +
                    "20000000-20004000 rw-p 00000000 00:00 0 \n" +
                    named("7fffff7ff000-7ffffffff000 rw-p 00000000 00:00 0", "[stack]"));
  // VmData: data, bss and the private writable mapping (4 + 4 + 16 kB); VmRSS: the text
  // page init's entry-point fetch faulted in (inherited by the fork), the stack page mapped
  // since the fork (copied at its first write: one minor fault) and the page touched in
  // the mapping (the other).
  CHECK(status ==
        "Name:\tinit\nState:\tR (running)\nTgid:\t2\nPid:\t2\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
        "VmSize:\t    8228 kB\nVmRSS:\t      12 kB\nVmData:\t      24 kB\nVmStk:\t    8192 kB\nVmExe:\t       4 kB\nVmSwap:\t       0 kB\n"
        "Threads:\t1\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\nMinFlt:\t2\nMajFlt:\t0\n");
}

TEST_CASE("/proc/meminfo's MemFree falls as memory is touched", "[kernel][procfs]") {
  KernelFixture f;
  std::string before, after;
  f.run([&](user::Process& init) {
    before = slurp(init, "/proc/meminfo");
    const auto region = static_cast<user::VirtAddr>(
        init.mmap(0, 256 * 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
    for (int page = 0; page < 256; ++page) init.store<char>(region + page * 4096, 1);
    after = slurp(init, "/proc/meminfo");
    return 0;
  });
  const auto free_kb = [](const std::string& text) { return std::stoul(text.substr(text.find("MemFree:") + 9)); };
  CHECK_THAT(before, Catch::StartsWith("MemTotal:"));
  CHECK(free_kb(before) - free_kb(after) >= 1024);  // 256 pages of 4 KiB
}

TEST_CASE("/proc is read-only and has no entry for a process that does not exist", "[kernel][procfs]") {
  KernelFixture f;
  int write_open = 0, create = 0, missing = 0;
  f.run([&](user::Process& init) {
    write_open = init.open("/proc/meminfo", sys::kOpenWriteOnly);
    create = init.open("/proc/new", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
    missing = init.open("/proc/999/status", sys::kOpenReadOnly);
    return 0;
  });
  CHECK(write_open == -static_cast<int>(sys::Errno::kEACCES));
  CHECK(create == -static_cast<int>(sys::Errno::kEACCES));
  CHECK(missing == -static_cast<int>(sys::Errno::kENOENT));
}
