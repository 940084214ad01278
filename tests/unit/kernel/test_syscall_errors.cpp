// The error paths of the syscall interface, with Linux's errno values: unknown numbers,
// bad user pointers, bad fds, memory calls with bad arguments, file-system errors, and the
// behaviour of stat, lseek and the /dev/null and /dev/zero devices.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

using testing::errno_of;
constexpr std::uint64_t kBadPointer = 0x10;                 // below mmap_min_addr: never mapped
constexpr std::uint64_t kKernelPointer = 0xffff800000001000;  // the kernel half
constexpr int kReadWrite = sys::kProtRead | sys::kProtWrite;
constexpr int kPrivateAnon = sys::kMapPrivate | sys::kMapAnonymous;

mmu::VirtAddr map_pages(user::Process& self, std::uint64_t pages, int prot = kReadWrite) {
  return static_cast<mmu::VirtAddr>(self.mmap(0, pages * 4096, prot, kPrivateAnon));
}

/// Runs `body` in a child and returns the child's wait status.
int status_of_child(KernelFixture& f, user::Entry body) {
  int status = -1;
  f.run([&](user::Process& init) {
    const sys::pid_t child = init.fork(std::move(body));
    init.waitpid(child, &status);
    return 0;
  });
  return status;
}

}  // namespace

// ---- Unknown syscalls ------------------------------------------------------------------

TEST_CASE("an unknown syscall number returns ENOSYS", "[kernel][errors][enosys]") {
  KernelFixture f;
  std::int64_t huge = 0, unassigned = 0, past_table = 0, negative = 0;
  f.run([&](user::Process& init) {
    huge = init.syscall(9999);
    unassigned = init.syscall(200);  // tkill: a Linux syscall ossim does not implement
    past_table = init.syscall(sys::kSyscallTableSize);
    negative = init.syscall(~std::uint64_t{0});
    return 0;
  });
  CHECK(huge == errno_of(sys::Errno::kENOSYS));
  CHECK(unassigned == errno_of(sys::Errno::kENOSYS));
  CHECK(past_table == errno_of(sys::Errno::kENOSYS));
  CHECK(negative == errno_of(sys::Errno::kENOSYS));
}

// ---- Bad user pointers -----------------------------------------------------------------

TEST_CASE("read into an unmapped buffer returns EFAULT", "[kernel][errors][efault]") {
  KernelFixture f;
  std::int64_t unmapped = 0, kernel_half = 0, write_from_unmapped = 0;
  f.run([&](user::Process& init) {
    const int zero = init.open("/dev/zero", sys::kOpenReadOnly);
    REQUIRE(zero >= 0);
    unmapped = init.read(zero, kBadPointer, 64);
    kernel_half = init.read(zero, kKernelPointer, 64);
    // (Not /dev/null: Linux's never reads the buffer, so it succeeds even with a bad one.)
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    write_from_unmapped = init.write(fds[1], kBadPointer, 64);
    return 0;
  });
  CHECK(unmapped == errno_of(sys::Errno::kEFAULT));
  CHECK(kernel_half == errno_of(sys::Errno::kEFAULT));
  CHECK(write_from_unmapped == errno_of(sys::Errno::kEFAULT));
}

TEST_CASE("read into a read-only buffer returns EFAULT", "[kernel][errors][efault]") {
  KernelFixture f;
  std::int64_t result = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr page = map_pages(init, 1, sys::kProtRead);
    const int zero = init.open("/dev/zero", sys::kOpenReadOnly);
    result = init.read(zero, page, 16);
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEFAULT));
}

TEST_CASE("open with a path pointer of 0x10 returns EFAULT", "[kernel][errors][efault]") {
  KernelFixture f;
  std::int64_t open_result = 0, openat_result = 0, stat_result = 0, mkdir_result = 0, unlink_result = 0;
  f.run([&](user::Process& init) {
    open_result = init.syscall(sys::nr::open, kBadPointer, sys::kOpenReadOnly);
    openat_result = init.syscall(sys::nr::openat, static_cast<std::uint64_t>(sys::kAtFdCwd), kBadPointer, 0);
    const mmu::VirtAddr buffer = map_pages(init, 1);
    stat_result = init.syscall(sys::nr::stat, kBadPointer, buffer);
    mkdir_result = init.syscall(sys::nr::mkdir, kBadPointer, 0755);
    unlink_result = init.syscall(sys::nr::unlink, kBadPointer);
    return 0;
  });
  CHECK(open_result == errno_of(sys::Errno::kEFAULT));
  CHECK(openat_result == errno_of(sys::Errno::kEFAULT));
  CHECK(stat_result == errno_of(sys::Errno::kEFAULT));
  CHECK(mkdir_result == errno_of(sys::Errno::kEFAULT));
  CHECK(unlink_result == errno_of(sys::Errno::kEFAULT));
}

TEST_CASE("a path that runs into an unmapped page without a NUL returns EFAULT", "[kernel][errors][efault]") {
  KernelFixture f;
  std::int64_t result = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr pages = map_pages(init, 2);
    REQUIRE(init.munmap(pages + 4096, 4096) == 0);
    // "aaaa..." up to the end of the mapped page, no NUL: the string goes on into nothing.
    const std::string text(16, 'a');
    init.write_memory(pages + 4096 - text.size(), text.data(), text.size());
    result = init.syscall(sys::nr::open, pages + 4096 - text.size(), sys::kOpenReadOnly);
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEFAULT));
}

TEST_CASE("nanosleep with a bad timespec pointer returns EFAULT", "[kernel][errors][efault]") {
  KernelFixture f;
  std::int64_t result = 0;
  sim::Tick elapsed = 1;
  f.run([&](user::Process& init) {
    const sim::Tick before = init.now();
    result = init.syscall(sys::nr::nanosleep, kBadPointer, 0);
    elapsed = init.now() - before;
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEFAULT));
  CHECK(elapsed < sim::kMicrosecond);
}

TEST_CASE("pipe with a bad fds pointer returns EFAULT and leaks no fd", "[kernel][errors][efault]") {
  KernelFixture f;
  std::int64_t pipe_result = 0, pipe2_result = 0;
  int next_fd = -1;
  f.run([&](user::Process& init) {
    pipe_result = init.syscall(sys::nr::pipe, kBadPointer);
    pipe2_result = init.syscall(sys::nr::pipe2, kKernelPointer, 0);
    next_fd = init.dup(0);
    return 0;
  });
  CHECK(pipe_result == errno_of(sys::Errno::kEFAULT));
  CHECK(pipe2_result == errno_of(sys::Errno::kEFAULT));
  CHECK(next_fd == 3);
}

TEST_CASE("clock_gettime, fstat and stat with a bad output pointer return EFAULT", "[kernel][errors][efault]") {
  KernelFixture f;
  std::int64_t clock = 0, fstat = 0, stat = 0, execve = 0;
  f.run([&](user::Process& init) {
    clock = init.syscall(sys::nr::clock_gettime, sys::kClockMonotonic, kBadPointer);
    fstat = init.syscall(sys::nr::fstat, 0, kBadPointer);
    const mmu::VirtAddr page = map_pages(init, 1);
    init.write_memory(page, "/tmp", 5);
    stat = init.syscall(sys::nr::stat, page, kKernelPointer);
    execve = init.syscall(sys::nr::execve, kBadPointer, 0, 0);
    return 0;
  });
  CHECK(clock == errno_of(sys::Errno::kEFAULT));
  CHECK(fstat == errno_of(sys::Errno::kEFAULT));
  CHECK(stat == errno_of(sys::Errno::kEFAULT));
  CHECK(execve == errno_of(sys::Errno::kEFAULT));
}

// ---- Bad file descriptors --------------------------------------------------------------

TEST_CASE("calls on fds that are not open return EBADF", "[kernel][errors][ebadf]") {
  KernelFixture f;
  std::int64_t close_r = 0, read_r = 0, write_r = 0, fstat_r = 0, dup_r = 0, dup2_r = 0, lseek_r = 0,
               negative_r = 0, huge_r = 0, dup2_target_r = 0, mmap_r = 0, twice_r = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr buffer = map_pages(init, 1);
    close_r = init.close(99);
    read_r = init.read(42, buffer, 1);
    write_r = init.write(-1, buffer, 1);
    sys::stat st;
    fstat_r = init.fstat(77, st);
    dup_r = init.dup(50);
    dup2_r = init.dup2(50, 3);
    lseek_r = init.lseek(60, 0, sys::kSeekSet);
    negative_r = init.close(-5);
    huge_r = init.close(1 << 20);
    dup2_target_r = init.dup2(0, -1);
    mmap_r = init.mmap(0, 4096, sys::kProtRead, sys::kMapPrivate, 55);
    const int fd = init.dup(0);
    init.close(fd);
    twice_r = init.close(fd);
    return 0;
  });
  for (std::int64_t r : {close_r, read_r, write_r, fstat_r, dup_r, dup2_r, lseek_r, negative_r, huge_r, dup2_target_r,
                         mmap_r, twice_r}) {
    CHECK(r == errno_of(sys::Errno::kEBADF));
  }
}

TEST_CASE("reading a write-only fd or writing a read-only fd returns EBADF", "[kernel][errors][ebadf]") {
  KernelFixture f;
  std::int64_t read_wronly = 0, write_rdonly = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr buffer = map_pages(init, 1);
    const int wronly = init.open("/tmp/f", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
    const int rdonly = init.open("/tmp/f", sys::kOpenReadOnly);
    read_wronly = init.read(wronly, buffer, 1);
    write_rdonly = init.write(rdonly, buffer, 1);
    return 0;
  });
  CHECK(read_wronly == errno_of(sys::Errno::kEBADF));
  CHECK(write_rdonly == errno_of(sys::Errno::kEBADF));
}

TEST_CASE("dup2 onto itself returns the fd, and dup2 onto an open fd replaces it", "[kernel][errors][dup]") {
  KernelFixture f;
  int same = -1, onto = -1;
  std::string content;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/target", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    same = init.dup2(fd, fd);
    const int other = init.open("/dev/null", sys::kOpenWriteOnly);
    onto = init.dup2(fd, other);  // closes /dev/null's description
    init.write(other, "via other");
    init.lseek(fd, 0, sys::kSeekSet);
    char buffer[32];
    const std::int64_t got = init.read(fd, std::span<char>(buffer, sizeof(buffer)));
    if (got > 0) content.assign(buffer, static_cast<std::size_t>(got));
    return 0;
  });
  CHECK(same == 3);
  CHECK(onto == 4);
  CHECK(content == "via other");
}

TEST_CASE("open returns the lowest free fd", "[kernel][errors][fd]") {
  KernelFixture f;
  int a = 0, b = 0, c = 0, d = 0;
  f.run([&](user::Process& init) {
    a = init.open("/dev/null", sys::kOpenReadOnly);
    b = init.open("/dev/null", sys::kOpenReadOnly);
    init.close(a);
    c = init.open("/dev/null", sys::kOpenReadOnly);
    init.close(0);
    d = init.open("/dev/null", sys::kOpenReadOnly);
    return 0;
  });
  CHECK(a == 3);
  CHECK(b == 4);
  CHECK(c == 3);
  CHECK(d == 0);
}

// ---- Memory calls ----------------------------------------------------------------------

TEST_CASE("mmap with length 0 returns EINVAL", "[kernel][errors][mm]") {
  KernelFixture f;
  std::int64_t zero = 0, no_type = 0, unaligned_fixed = 0, unaligned_offset = 0;
  f.run([&](user::Process& init) {
    zero = init.mmap(0, 0, kReadWrite, kPrivateAnon);
    no_type = init.mmap(0, 4096, kReadWrite, sys::kMapAnonymous);
    unaligned_fixed = init.mmap(0x10000123, 4096, kReadWrite, kPrivateAnon | sys::kMapFixed);
    const int fd = init.open("/tmp/m", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    init.write(fd, std::string(8192, 'm'));
    unaligned_offset = init.mmap(0, 4096, sys::kProtRead, sys::kMapPrivate, fd, 100);
    return 0;
  });
  CHECK(zero == errno_of(sys::Errno::kEINVAL));
  CHECK(no_type == errno_of(sys::Errno::kEINVAL));
  CHECK(unaligned_fixed == errno_of(sys::Errno::kEINVAL));
  CHECK(unaligned_offset == errno_of(sys::Errno::kEINVAL));
}

TEST_CASE("munmap of an unaligned address or of length 0 returns EINVAL", "[kernel][errors][mm]") {
  KernelFixture f;
  int unaligned = 0, zero_length = 0, unmapped_range = -1;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr page = map_pages(init, 2);
    unaligned = init.munmap(page + 1, 4096);
    zero_length = init.munmap(page, 0);
    unmapped_range = init.munmap(0x20000000, 4096);  // nothing there: not an error
    return 0;
  });
  CHECK(unaligned == errno_of(sys::Errno::kEINVAL));
  CHECK(zero_length == errno_of(sys::Errno::kEINVAL));
  CHECK(unmapped_range == 0);
}

TEST_CASE("a load from a page after munmap is a segfault", "[kernel][errors][mm]") {
  KernelFixture f;
  const int status = status_of_child(f, [](user::Process& self) {
    const mmu::VirtAddr pages = map_pages(self, 3);
    self.store<std::uint64_t>(pages + 4096, 1);
    self.munmap(pages + 4096, 4096);  // the middle page only
    (void)self.load<std::uint64_t>(pages);
    (void)self.load<std::uint64_t>(pages + 2 * 4096);
    (void)self.load<std::uint64_t>(pages + 4096);
    return 0;
  });
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigSegv);
}

TEST_CASE("mprotect to read-only then a write kills with SIGSEGV", "[kernel][errors][mm]") {
  KernelFixture f;
  int mprotect_result = -1;
  std::uint64_t read_back = 0;
  bool survived_write = false;
  const int status = status_of_child(f, [&](user::Process& self) {
    const mmu::VirtAddr page = map_pages(self, 1);
    self.store<std::uint64_t>(page, 0x55);
    mprotect_result = self.mprotect(page, 4096, sys::kProtRead);
    read_back = self.load<std::uint64_t>(page);
    self.store<std::uint64_t>(page, 0x66);
    survived_write = true;
    return 0;
  });
  CHECK(mprotect_result == 0);
  CHECK(read_back == 0x55);
  CHECK_FALSE(survived_write);
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigSegv);
}

TEST_CASE("mprotect back to read-write allows writes again", "[kernel][errors][mm]") {
  KernelFixture f;
  std::uint64_t read_back = 0;
  const int status = status_of_child(f, [&](user::Process& self) {
    const mmu::VirtAddr page = map_pages(self, 1);
    self.store<std::uint64_t>(page, 1);
    self.mprotect(page, 4096, sys::kProtRead);
    self.mprotect(page, 4096, kReadWrite);
    self.store<std::uint64_t>(page, 2);
    read_back = self.load<std::uint64_t>(page);
    return 0;
  });
  CHECK(sys::exited_normally(status));
  CHECK(read_back == 2);
}

TEST_CASE("mprotect PROT_NONE makes even loads segfault", "[kernel][errors][mm]") {
  KernelFixture f;
  const int status = status_of_child(f, [](user::Process& self) {
    const mmu::VirtAddr page = map_pages(self, 1);
    self.store<std::uint64_t>(page, 1);
    self.mprotect(page, 4096, sys::kProtNone);
    (void)self.load<std::uint64_t>(page);
    return 0;
  });
  CHECK(sys::terminating_signal(status) == sys::kSigSegv);
}

TEST_CASE("mprotect of an unaligned address returns EINVAL, of an unmapped range ENOMEM", "[kernel][errors][mm]") {
  KernelFixture f;
  int unaligned = 0, unmapped = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr page = map_pages(init, 1);
    unaligned = init.mprotect(page + 8, 4096, sys::kProtRead);
    unmapped = init.mprotect(0x30000000, 4096, sys::kProtRead);
    return 0;
  });
  CHECK(unaligned == errno_of(sys::Errno::kEINVAL));
  CHECK(unmapped == errno_of(sys::Errno::kENOMEM));
}

TEST_CASE("mprotect of a page shared copy-on-write keeps the copy private", "[kernel][errors][mm][cow]") {
  KernelFixture f;
  std::uint64_t parent_saw = 0;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr page = map_pages(init, 1);
    init.store<std::uint64_t>(page, 10);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      self.mprotect(page, 4096, kReadWrite);  // must not make the shared frame writable
      self.store<std::uint64_t>(page, 20);
      return 0;
    });
    int status = 0;
    init.waitpid(child, &status);
    parent_saw = init.load<std::uint64_t>(page);
    return 0;
  });
  CHECK(parent_saw == 10);
}

TEST_CASE("brk grows and shrinks the heap", "[kernel][errors][brk]") {
  KernelFixture f;
  mmu::VirtAddr base = 0, grown = 0, shrunk = 0, below = 0, query = 0;
  std::uint64_t last_word = 0, regrown_word = 1;
  f.run([&](user::Process& init) {
    base = init.brk(0);
    grown = init.brk(base + 3 * 4096);
    init.store<std::uint64_t>(base, 1);
    init.store<std::uint64_t>(base + 3 * 4096 - 8, 0xabcdef);
    last_word = init.load<std::uint64_t>(base + 3 * 4096 - 8);
    init.store<std::uint64_t>(base + 2 * 4096, 0x77);
    shrunk = init.brk(base + 4096);
    below = init.brk(base - 4096 * 100);  // below the start: refused, the break stays
    query = init.brk(0);
    init.brk(base + 3 * 4096);
    regrown_word = init.load<std::uint64_t>(base + 2 * 4096);  // fresh zero page
    return 0;
  });
  CHECK(base != 0);
  CHECK(base % 4096 == 0);
  CHECK(grown == base + 3 * 4096);
  CHECK(last_word == 0xabcdef);
  CHECK(shrunk == base + 4096);
  CHECK(below == base + 4096);
  CHECK(query == base + 4096);
  CHECK(regrown_word == 0);
}

TEST_CASE("a store above a shrunk break is a segfault", "[kernel][errors][brk]") {
  KernelFixture f;
  bool below_ok = false;
  const int status = status_of_child(f, [&](user::Process& self) {
    const mmu::VirtAddr base = self.brk(0);
    self.brk(base + 4 * 4096);
    self.store<std::uint64_t>(base + 3 * 4096, 1);
    self.brk(base + 100);
    self.store<std::uint64_t>(base + 50, 1);  // still inside the first page
    below_ok = true;
    self.store<std::uint64_t>(base + 3 * 4096, 2);
    return 0;
  });
  CHECK(below_ok);
  CHECK(sys::terminating_signal(status) == sys::kSigSegv);
}

TEST_CASE("brk cannot grow into an existing mapping", "[kernel][errors][brk]") {
  KernelFixture f;
  mmu::VirtAddr base = 0, result = 0;
  f.run([&](user::Process& init) {
    base = init.brk(0);
    REQUIRE(init.mmap(base + 8 * 4096, 4096, kReadWrite, kPrivateAnon | sys::kMapFixed) ==
            static_cast<std::int64_t>(base + 8 * 4096));
    result = init.brk(base + 16 * 4096);
    return 0;
  });
  CHECK(result == base);
}

// ---- File-system errors ----------------------------------------------------------------

TEST_CASE("open with O_CREAT|O_EXCL of an existing file returns EEXIST", "[kernel][errors][fs]") {
  KernelFixture f;
  int first = -1, second = 0, plain_creat = -1, exclusive_dir = 0;
  f.run([&](user::Process& init) {
    first = init.open("/tmp/excl", sys::kOpenCreate | sys::kOpenExclusive | sys::kOpenWriteOnly, 0644);
    second = init.open("/tmp/excl", sys::kOpenCreate | sys::kOpenExclusive | sys::kOpenWriteOnly, 0644);
    plain_creat = init.open("/tmp/excl", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
    exclusive_dir = init.open("/tmp", sys::kOpenCreate | sys::kOpenExclusive | sys::kOpenReadOnly, 0644);
    return 0;
  });
  CHECK(first >= 3);
  CHECK(second == errno_of(sys::Errno::kEEXIST));
  CHECK(plain_creat >= 3);
  CHECK(exclusive_dir == errno_of(sys::Errno::kEEXIST));
}

TEST_CASE("open of a missing file, or in a missing directory, returns ENOENT", "[kernel][errors][fs]") {
  KernelFixture f;
  int missing = 0, missing_dir = 0, create_in_missing = 0;
  f.run([&](user::Process& init) {
    missing = init.open("/tmp/nothing", sys::kOpenReadOnly);
    missing_dir = init.open("/nodir/file", sys::kOpenReadOnly);
    create_in_missing = init.open("/nodir/file", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
    return 0;
  });
  CHECK(missing == errno_of(sys::Errno::kENOENT));
  CHECK(missing_dir == errno_of(sys::Errno::kENOENT));
  CHECK(create_in_missing == errno_of(sys::Errno::kENOENT));
}

TEST_CASE("path errors: a file used as a directory is ENOTDIR, a directory opened for writing EISDIR",
          "[kernel][errors][fs]") {
  KernelFixture f;
  int through_file = 0, dir_write = 0, dir_read = -1, o_directory_file = 0;
  std::int64_t read_dir = 0;
  f.run([&](user::Process& init) {
    init.close(init.open("/tmp/plain", sys::kOpenCreate | sys::kOpenWriteOnly, 0644));
    through_file = init.open("/tmp/plain/x", sys::kOpenReadOnly);
    dir_write = init.open("/tmp", sys::kOpenWriteOnly);
    dir_read = init.open("/tmp", sys::kOpenReadOnly);
    o_directory_file = init.open("/tmp/plain", sys::kOpenReadOnly | sys::kOpenDirectory);
    char byte;
    read_dir = init.read(dir_read, std::span<char>(&byte, 1));
    return 0;
  });
  CHECK(through_file == errno_of(sys::Errno::kENOTDIR));
  CHECK(dir_write == errno_of(sys::Errno::kEISDIR));
  CHECK(dir_read >= 3);
  CHECK(o_directory_file == errno_of(sys::Errno::kENOTDIR));
  CHECK(read_dir == errno_of(sys::Errno::kEISDIR));
}

TEST_CASE("unlink of a missing file returns ENOENT, of a directory EISDIR", "[kernel][errors][fs]") {
  KernelFixture f;
  int missing = 0, directory = 0, existing = -1, again = 0, reopen = 0;
  f.run([&](user::Process& init) {
    missing = init.unlink("/tmp/ghost");
    directory = init.unlink("/tmp");
    init.close(init.open("/tmp/victim", sys::kOpenCreate | sys::kOpenWriteOnly, 0644));
    existing = init.unlink("/tmp/victim");
    again = init.unlink("/tmp/victim");
    reopen = init.open("/tmp/victim", sys::kOpenReadOnly);
    return 0;
  });
  CHECK(missing == errno_of(sys::Errno::kENOENT));
  CHECK(directory == errno_of(sys::Errno::kEISDIR));
  CHECK(existing == 0);
  CHECK(again == errno_of(sys::Errno::kENOENT));
  CHECK(reopen == errno_of(sys::Errno::kENOENT));
}

TEST_CASE("an unlinked file stays readable through an fd opened before", "[kernel][errors][fs]") {
  KernelFixture f;
  std::string content;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/doomed", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    init.write(fd, "still here");
    REQUIRE(init.unlink("/tmp/doomed") == 0);
    init.lseek(fd, 0, sys::kSeekSet);
    char buffer[32];
    const std::int64_t got = init.read(fd, std::span<char>(buffer, sizeof(buffer)));
    if (got > 0) content.assign(buffer, static_cast<std::size_t>(got));
    return 0;
  });
  CHECK(content == "still here");
}

TEST_CASE("mkdir of an existing name returns EEXIST", "[kernel][errors][fs]") {
  KernelFixture f;
  int first = -1, again = 0, over_file = 0, root = 0, missing_parent = 0, nested = -1;
  f.run([&](user::Process& init) {
    first = init.mkdir("/tmp/d");
    again = init.mkdir("/tmp/d");
    init.close(init.open("/tmp/file", sys::kOpenCreate | sys::kOpenWriteOnly, 0644));
    over_file = init.mkdir("/tmp/file");
    root = init.mkdir("/");
    missing_parent = init.mkdir("/tmp/nope/child");
    nested = init.mkdir("/tmp/d/child");
    return 0;
  });
  CHECK(first == 0);
  CHECK(again == errno_of(sys::Errno::kEEXIST));
  CHECK(over_file == errno_of(sys::Errno::kEEXIST));
  CHECK(root == errno_of(sys::Errno::kEEXIST));
  CHECK(missing_parent == errno_of(sys::Errno::kENOENT));
  CHECK(nested == 0);
}

TEST_CASE("stat and fstat report sizes, types and permission bits", "[kernel][errors][stat]") {
  KernelFixture f;
  sys::stat by_path, by_fd, dir, dev_null, console, executable;
  int stat_r = -1, fstat_r = -1;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/sized", sys::kOpenCreate | sys::kOpenWriteOnly, 0666);  // umask 022
    init.write(fd, std::string(5000, 's'));
    stat_r = init.stat("/tmp/sized", by_path);
    fstat_r = init.fstat(fd, by_fd);
    init.mkdir("/tmp/dir", 0750);
    init.stat("/tmp/dir", dir);
    init.stat("/dev/null", dev_null);
    init.fstat(1, console);
    init.stat("/sbin/init", executable);
    return 0;
  });
  CHECK(stat_r == 0);
  CHECK(fstat_r == 0);
  CHECK(by_path.st_size == 5000);
  CHECK(by_fd.st_size == 5000);
  CHECK(by_path.st_ino == by_fd.st_ino);
  CHECK(by_path.st_mode == (sys::kTypeRegular | 0644));
  CHECK(by_path.st_nlink == 1);
  CHECK((dir.st_mode & sys::kFileTypeMask) == sys::kTypeDirectory);
  CHECK((dir.st_mode & 07777) == 0750);
  CHECK(dir.st_nlink == 2);
  CHECK((dev_null.st_mode & sys::kFileTypeMask) == sys::kTypeCharDevice);
  CHECK((dev_null.st_mode & 0777) == 0666);
  CHECK((console.st_mode & sys::kFileTypeMask) == sys::kTypeCharDevice);
  CHECK((executable.st_mode & sys::kFileTypeMask) == sys::kTypeRegular);
  CHECK((executable.st_mode & 0111) != 0);
}

TEST_CASE("stat of a missing path returns ENOENT, of a path through a file ENOTDIR", "[kernel][errors][stat]") {
  KernelFixture f;
  int missing = 0, through_file = 0, trailing_slash = 0;
  f.run([&](user::Process& init) {
    sys::stat st;
    missing = init.stat("/tmp/absent", st);
    init.close(init.open("/tmp/regular", sys::kOpenCreate | sys::kOpenWriteOnly, 0644));
    through_file = init.stat("/tmp/regular/inside", st);
    trailing_slash = init.stat("/tmp/regular/", st);
    return 0;
  });
  CHECK(missing == errno_of(sys::Errno::kENOENT));
  CHECK(through_file == errno_of(sys::Errno::kENOTDIR));
  CHECK(trailing_slash == errno_of(sys::Errno::kENOTDIR));
}

TEST_CASE("lseek on a pipe or the console returns ESPIPE", "[kernel][errors][lseek]") {
  KernelFixture f;
  std::int64_t pipe_r = 0, console_r = 0;
  f.run([&](user::Process& init) {
    int fds[2];
    REQUIRE(init.pipe(fds) == 0);
    pipe_r = init.lseek(fds[0], 0, sys::kSeekCur);
    console_r = init.lseek(1, 0, sys::kSeekCur);
    return 0;
  });
  CHECK(pipe_r == errno_of(sys::Errno::kESPIPE));
  CHECK(console_r == errno_of(sys::Errno::kESPIPE));
}

TEST_CASE("lseek on a regular file: SEEK_END, bad whence, negative results, holes", "[kernel][errors][lseek]") {
  KernelFixture f;
  std::int64_t end = 0, bad_whence = 0, negative = 0, past_end = 0, size_after = 0;
  std::string hole;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/seekable", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    init.write(fd, "0123456789");
    end = init.lseek(fd, -3, sys::kSeekEnd);
    bad_whence = init.lseek(fd, 0, 17);
    negative = init.lseek(fd, -100, sys::kSeekCur);
    past_end = init.lseek(fd, 20, sys::kSeekSet);
    init.write(fd, "X");
    sys::stat st;
    init.fstat(fd, st);
    size_after = st.st_size;
    init.lseek(fd, 10, sys::kSeekSet);
    char buffer[16];
    const std::int64_t got = init.read(fd, std::span<char>(buffer, sizeof(buffer)));
    if (got > 0) hole.assign(buffer, static_cast<std::size_t>(got));
    return 0;
  });
  CHECK(end == 7);
  CHECK(bad_whence == errno_of(sys::Errno::kEINVAL));
  CHECK(negative == errno_of(sys::Errno::kEINVAL));
  CHECK(past_end == 20);
  CHECK(size_after == 21);
  CHECK(hole == std::string(10, '\0') + "X");
}

TEST_CASE("O_APPEND writes at the end and O_TRUNC empties the file", "[kernel][errors][fs]") {
  KernelFixture f;
  std::int64_t size_appended = 0, size_truncated = -1;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/app", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
    init.write(fd, "hello");
    const int app = init.open("/tmp/app", sys::kOpenWriteOnly | sys::kOpenAppend);
    init.lseek(app, 0, sys::kSeekSet);
    init.write(app, "!!");
    sys::stat st;
    init.fstat(app, st);
    size_appended = st.st_size;
    init.close(init.open("/tmp/app", sys::kOpenWriteOnly | sys::kOpenTruncate));
    init.stat("/tmp/app", st);
    size_truncated = st.st_size;
    return 0;
  });
  CHECK(size_appended == 7);
  CHECK(size_truncated == 0);
}

TEST_CASE("/dev/null swallows writes and reads as end of file", "[kernel][errors][dev]") {
  KernelFixture f;
  std::int64_t wrote = 0, read_result = -1;
  f.run([&](user::Process& init) {
    const int fd = init.open("/dev/null", sys::kOpenReadWrite);
    wrote = init.write(fd, std::string(10'000, 'n'));
    char buffer[16];
    read_result = init.read(fd, std::span<char>(buffer, sizeof(buffer)));
    return 0;
  });
  CHECK(wrote == 10'000);
  CHECK(read_result == 0);
}

TEST_CASE("/dev/zero reads as zeros of any length and swallows writes", "[kernel][errors][dev]") {
  KernelFixture f;
  std::int64_t got = 0, wrote = 0;
  std::string bytes;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr buffer = map_pages(init, 3);
    const std::string junk(3 * 4096, '\xff');
    init.write_memory(buffer, junk.data(), junk.size());
    const int fd = init.open("/dev/zero", sys::kOpenReadWrite);
    got = init.read(fd, buffer + 1, 2 * 4096 + 100);  // straddles pages
    bytes.resize(3 * 4096);
    init.read_memory(buffer, bytes.data(), bytes.size());
    wrote = init.write(fd, "abc");
    return 0;
  });
  CHECK(got == 2 * 4096 + 100);
  CHECK(bytes[0] == '\xff');
  CHECK(bytes.substr(1, 2 * 4096 + 100) == std::string(2 * 4096 + 100, '\0'));
  CHECK(bytes[2 * 4096 + 101] == '\xff');
  CHECK(wrote == 3);
}

// ---- Signals ---------------------------------------------------------------------------

TEST_CASE("kill with a bad signal returns EINVAL, of a missing pid ESRCH", "[kernel][errors][signal]") {
  KernelFixture f;
  std::int64_t bad_signal = 0, missing = 0, probe = -1;
  f.run([&](user::Process& init) {
    bad_signal = init.syscall(sys::nr::kill, 1, 65);
    missing = init.syscall(sys::nr::kill, 4242, sys::kSigTerm);
    probe = init.syscall(sys::nr::kill, 1, 0);
    return 0;
  });
  CHECK(bad_signal == errno_of(sys::Errno::kEINVAL));
  CHECK(missing == errno_of(sys::Errno::kESRCH));
  CHECK(probe == 0);
}

TEST_CASE("rt_sigaction refuses SIGKILL, a bad signal number and a bad sigsetsize", "[kernel][errors][signal]") {
  KernelFixture f;
  std::int64_t sigkill = 0, zero = 0, too_big = 0, bad_size = 0, bad_pointer = 0, query = -1;
  std::uint64_t old_handler = 99;
  f.run([&](user::Process& init) {
    const mmu::VirtAddr page = map_pages(init, 1);
    const std::uint64_t ignore[4] = {1, 0, 0, 0};
    init.write_memory(page, ignore, sizeof(ignore));
    sigkill = init.syscall(sys::nr::rt_sigaction, sys::kSigKill, page, 0, 8);
    zero = init.syscall(sys::nr::rt_sigaction, 0, page, 0, 8);
    too_big = init.syscall(sys::nr::rt_sigaction, 65, page, 0, 8);
    bad_size = init.syscall(sys::nr::rt_sigaction, sys::kSigUsr1, page, 0, 4);
    bad_pointer = init.syscall(sys::nr::rt_sigaction, sys::kSigUsr1, kBadPointer, 0, 8);
    init.syscall(sys::nr::rt_sigaction, sys::kSigUsr1, page, 0, 8);
    query = init.syscall(sys::nr::rt_sigaction, sys::kSigUsr1, 0, page + 64, 8);
    old_handler = init.load<std::uint64_t>(page + 64);
    return 0;
  });
  CHECK(sigkill == errno_of(sys::Errno::kEINVAL));
  CHECK(zero == errno_of(sys::Errno::kEINVAL));
  CHECK(too_big == errno_of(sys::Errno::kEINVAL));
  CHECK(bad_size == errno_of(sys::Errno::kEINVAL));
  CHECK(bad_pointer == errno_of(sys::Errno::kEFAULT));
  CHECK(query == 0);
  CHECK(old_handler == 1);
}

TEST_CASE("a private file mapping reads the file's bytes and keeps its own writes private", "[kernel][errors][mm]") {
  KernelFixture f;
  std::string mapped, file_after;
  std::uint64_t past_end = 1;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/mapped", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    std::string content(5000, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('A' + i % 23);
    init.write(fd, content);
    const std::int64_t at = init.mmap(0, 8192, kReadWrite, sys::kMapPrivate, fd, 0);
    REQUIRE(at > 0);
    const auto address = static_cast<mmu::VirtAddr>(at);
    mapped.resize(5000);
    init.read_memory(address, mapped.data(), 5000);
    past_end = init.load<std::uint64_t>(address + 5000);  // rest of the last page: zeros
    init.store<char>(address, 'z');
    init.lseek(fd, 0, sys::kSeekSet);
    char first = 0;
    init.read(fd, std::span<char>(&first, 1));
    file_after.assign(1, first);
    CHECK(mapped == content);
    return 0;
  });
  CHECK(past_end == 0);
  CHECK(file_after == "A");
}

TEST_CASE("mmap of a file opened write-only returns EACCES", "[kernel][errors][mm]") {
  KernelFixture f;
  std::int64_t result = 0;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/wo", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
    init.write(fd, "data");
    result = init.mmap(0, 4096, sys::kProtRead, sys::kMapPrivate, fd, 0);
    return 0;
  });
  CHECK(result == errno_of(sys::Errno::kEACCES));
}
