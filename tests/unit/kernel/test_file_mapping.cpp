// File mappings over the page cache: MAP_SHARED maps the file's cached frames (stores are
// the file's bytes, seen by every mapper and by read; write() is seen through mappings);
// MAP_PRIVATE maps them copy-on-write; a page wholly past the end of the file is a SIGBUS;
// truncate cuts pages out of every mapping; msync moves dirty bits and writes back; a
// file's frames go back to the allocator when the file is gone.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernel_fixture.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/page_cache.hpp"

using namespace ossim;
using testing::await;
using testing::KernelFixture;
using testing::notify;

namespace {

constexpr int kReadWrite = sys::kProtRead | sys::kProtWrite;
constexpr std::uint64_t kPage = 4096;
constexpr mmu::FrameNumber kNoFrame = ~mmu::FrameNumber{0};

int errno_of(sys::Errno error) { return -static_cast<int>(error); }

/// Creates (or empties) `path` and writes `pages` pages into it, page i filled with the
/// byte 'a' + i; returns an fd open for reading and writing.
int make_file(user::Process& self, std::string_view path, int pages) {
  const int fd = self.open(path, sys::kOpenCreate | sys::kOpenReadWrite | sys::kOpenTruncate, 0644);
  REQUIRE(fd >= 0);
  for (int i = 0; i < pages; ++i) {
    const std::string page(kPage, static_cast<char>('a' + i));
    REQUIRE(self.write(fd, page) == static_cast<std::int64_t>(kPage));
  }
  return fd;
}

/// `count` bytes of the file at `offset`, read with lseek + read.
std::string read_at(user::Process& self, int fd, std::int64_t offset, std::size_t count) {
  REQUIRE(self.lseek(fd, offset, sys::kSeekSet) == offset);
  std::string out(count, '\0');
  const std::int64_t got = self.read(fd, std::span<char>(out.data(), out.size()));
  out.resize(got < 0 ? 0 : static_cast<std::size_t>(got));
  return out;
}

void write_at(user::Process& self, int fd, std::int64_t offset, std::string_view bytes) {
  REQUIRE(self.lseek(fd, offset, sys::kSeekSet) == offset);
  REQUIRE(self.write(fd, bytes) == static_cast<std::int64_t>(bytes.size()));
}

std::string load_string(user::Process& self, mmu::VirtAddr address, std::size_t count) {
  std::string out(count, '\0');
  self.read_memory(address, out.data(), count);
  return out;
}

mmu::VirtAddr map(user::Process& self, std::uint64_t length, int prot, int flags, int fd, std::int64_t offset = 0) {
  const std::int64_t address = self.mmap(0, length, prot, flags, fd, offset);
  REQUIRE(address > 0);
  return static_cast<mmu::VirtAddr>(address);
}

/// The frame that maps `address` in `pid`'s address space, or kNoFrame.
mmu::FrameNumber frame_of(KernelFixture& f, sys::pid_t pid, mmu::VirtAddr address) {
  kernel::Task* task = f.core().find_task(pid);
  if (task == nullptr || !task->mm) return kNoFrame;
  const auto mapping = task->mm->page_table().lookup(address);
  return mapping ? mmu::frame_of(mapping->page_base) : kNoFrame;
}

kernel::AddressSpace& mm_of(KernelFixture& f, sys::pid_t pid) {
  kernel::Task* task = f.core().find_task(pid);
  REQUIRE(task != nullptr);
  return *task->mm;
}

/// The page cache of the file at `path` (kept alive by its directory entry).
kernel::PageCache& cache_of(KernelFixture& f, std::string_view path) {
  kernel::Vfs& vfs = f.core().vfs();
  const kernel::FsContext fs = vfs.initial_context();
  auto inode = vfs.lookup(fs, fs.root, path);
  REQUIRE(inode.ok());
  REQUIRE(inode.value()->page_cache() != nullptr);
  return *inode.value()->page_cache();
}

/// Pages cached for the regular files still reachable from `dir`.
std::uint64_t cached_pages_in_tree(const kernel::RamDirectory& dir) {
  std::uint64_t pages = 0;
  for (const auto& [name, inode] : dir.entries()) {
    if (auto* sub = dynamic_cast<const kernel::RamDirectory*>(inode.get())) {
      pages += cached_pages_in_tree(*sub);
    } else if (kernel::PageCache* cache = inode->page_cache()) {
      pages += cache->pages();
    }
  }
  return pages;
}

}  // namespace

// ---- MAP_SHARED ---------------------------------------------------------------------------

TEST_CASE("a store through a shared file mapping is seen by an unrelated process mapping the file and by read",
          "[kernel][mmap][page_cache]") {
  KernelFixture f;
  std::string seen_by_mapping, seen_by_read;
  mmu::FrameNumber writer_frame = 0, reader_frame = 1;
  f.run([&](user::Process& init) {
    init.close(make_file(init, "/tmp/shared", 2));
    int written[2], checked[2];
    REQUIRE(init.pipe(written) == 0);
    REQUIRE(init.pipe(checked) == 0);
    // Two siblings that each open and map the file themselves: nothing is inherited.
    const sys::pid_t writer = init.fork([&](user::Process& self) {
      const int fd = self.open("/tmp/shared", sys::kOpenReadWrite);
      const mmu::VirtAddr at = map(self, 2 * kPage, kReadWrite, sys::kMapShared, fd);
      self.write_memory(at + kPage + 100, "from the writer", 15);
      writer_frame = frame_of(f, self.getpid(), at + kPage);
      notify(self, written[1]);
      await(self, checked[0]);
      return 0;
    });
    const sys::pid_t reader = init.fork([&](user::Process& self) {
      await(self, written[0]);
      const int fd = self.open("/tmp/shared", sys::kOpenReadOnly);
      const mmu::VirtAddr at = map(self, 2 * kPage, sys::kProtRead, sys::kMapShared, fd);
      seen_by_mapping = load_string(self, at + kPage + 100, 15);
      reader_frame = frame_of(f, self.getpid(), at + kPage);
      seen_by_read = read_at(self, fd, kPage + 100, 15);
      notify(self, checked[1]);
      return 0;
    });
    int status = 0;
    REQUIRE(init.waitpid(writer, &status) == writer);
    CHECK(sys::exited_normally(status));
    REQUIRE(init.waitpid(reader, &status) == reader);
    CHECK(sys::exited_normally(status));
    return 0;
  });
  CHECK(seen_by_mapping == "from the writer");
  CHECK(seen_by_read == "from the writer");
  CHECK(writer_frame == reader_frame);
}

TEST_CASE("a write() to a file is seen through existing shared and private mappings", "[kernel][mmap][page_cache]") {
  KernelFixture f;
  std::string shared_before, shared_after, private_after;
  f.run([&](user::Process& init) {
    const int fd = make_file(init, "/tmp/written", 1);
    const mmu::VirtAddr shared = map(init, kPage, kReadWrite, sys::kMapShared, fd);
    const mmu::VirtAddr privat = map(init, kPage, kReadWrite, sys::kMapPrivate, fd);
    shared_before = load_string(init, shared + 10, 5);
    (void)init.load<char>(privat + 10);  // mapped, not written
    write_at(init, fd, 10, "fresh");
    shared_after = load_string(init, shared + 10, 5);
    private_after = load_string(init, privat + 10, 5);
    return 0;
  });
  CHECK(shared_before == "aaaaa");
  CHECK(shared_after == "fresh");
  // Linux behaviour: a private mapping sees the file until it writes the page itself.
  CHECK(private_after == "fresh");
}

TEST_CASE("munmap of a shared file mapping keeps its stores in the file and marks the page dirty",
          "[kernel][mmap][page_cache]") {
  KernelFixture f;
  std::string after_munmap;
  std::uint64_t dirty_after_sync = 1, dirty_after_munmap = 0;
  f.run([&](user::Process& init) {
    const int fd = make_file(init, "/tmp/kept", 1);
    const mmu::VirtAddr at = map(init, kPage, kReadWrite, sys::kMapShared, fd);
    REQUIRE(init.msync(at, kPage, sys::kMsyncSync) == 0);
    dirty_after_sync = cache_of(f, "/tmp/kept").dirty_pages();
    init.write_memory(at, "kept", 4);
    REQUIRE(init.munmap(at, kPage) == 0);
    dirty_after_munmap = cache_of(f, "/tmp/kept").dirty_pages();
    after_munmap = read_at(init, fd, 0, 4);
    return 0;
  });
  CHECK(dirty_after_sync == 0);
  CHECK(dirty_after_munmap == 1);
  CHECK(after_munmap == "kept");
}

// ---- MAP_PRIVATE --------------------------------------------------------------------------

TEST_CASE("a store to a private file mapping is seen neither by read nor by other mappers, and copies one page",
          "[kernel][mmap][page_cache][cow]") {
  KernelFixture f;
  std::string private_view, shared_view, read_view;
  std::uint64_t copies = 0, frames_used = 0;
  bool untouched_page_shares_cache = false, written_page_is_private = false;
  f.run([&](user::Process& init) {
    const int fd = make_file(init, "/tmp/private", 2);
    const mmu::VirtAddr privat = map(init, 2 * kPage, kReadWrite, sys::kMapPrivate, fd);
    const mmu::VirtAddr shared = map(init, 2 * kPage, kReadWrite, sys::kMapShared, fd);
    for (int i = 0; i < 2; ++i) {
      (void)init.load<char>(privat + i * kPage);
      (void)init.load<char>(shared + i * kPage);
    }
    const std::uint64_t copies_before = mm_of(f, init.getpid()).cow_copies();
    const std::uint64_t free_before = f.free_frames();
    init.write_memory(privat + 20, "mine", 4);
    frames_used = free_before - f.free_frames();
    copies = mm_of(f, init.getpid()).cow_copies() - copies_before;
    private_view = load_string(init, privat + 20, 4);
    shared_view = load_string(init, shared + 20, 4);
    read_view = read_at(init, fd, 20, 4);
    const sys::pid_t pid = init.getpid();
    untouched_page_shares_cache = frame_of(f, pid, privat + kPage) == frame_of(f, pid, shared + kPage);
    written_page_is_private = frame_of(f, pid, privat) != frame_of(f, pid, shared);
    return 0;
  });
  CHECK(private_view == "mine");
  CHECK(shared_view == "aaaa");
  CHECK(read_view == "aaaa");
  CHECK(copies == 1);
  CHECK(frames_used == 1);
  CHECK(untouched_page_shares_cache);
  CHECK(written_page_is_private);
}

TEST_CASE("processes running one program share its cached text frames", "[kernel][exec][page_cache]") {
  KernelFixture f;
  constexpr mmu::VirtAddr kTextBase = 0x400000;
  std::vector<mmu::FrameNumber> text_frames;
  int ready[2], go[2];
  f.kernel.register_program({.name = "sharer", .main = [&](user::Process& self) {
                               (void)self.load<std::uint8_t>(kTextBase);
                               text_frames.push_back(frame_of(f, self.getpid(), kTextBase));
                               notify(self, ready[1]);
                               await(self, go[0]);
                               return 0;
                             }});
  f.run([&](user::Process& init) {
    REQUIRE(init.pipe(ready) == 0);
    REQUIRE(init.pipe(go) == 0);
    for (int i = 0; i < 2; ++i) {
      init.fork([](user::Process& self) { return self.execve("/bin/sharer", {"sharer"}); });
    }
    await(init, ready[0]);
    await(init, ready[0]);
    notify(init, go[1]);
    notify(init, go[1]);
    return 0;
  });
  REQUIRE(text_frames.size() == 2);
  CHECK(text_frames[0] == text_frames[1]);
  CHECK(text_frames[0] != kNoFrame);
}

// ---- The end of the file ------------------------------------------------------------------

TEST_CASE("touching a mapped page wholly past the end of the file kills with SIGBUS, the last page reads zero past it",
          "[kernel][mmap][sigbus]") {
  KernelFixture f;
  int status = 0;
  std::string tail;
  f.run([&](user::Process& init) {
    const int fd = init.open("/tmp/short", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    REQUIRE(init.write(fd, "short") == 5);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      const mmu::VirtAddr at = map(self, 2 * kPage, sys::kProtRead, sys::kMapShared, fd);
      tail = load_string(self, at, 8);
      (void)self.load<char>(at + kPage);  // past the end: SIGBUS
      return 0;
    });
    REQUIRE(init.waitpid(child, &status) == child);
    return 0;
  });
  CHECK(tail == std::string("short\0\0\0", 8));
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigBus);
}

TEST_CASE("ftruncate shrinking a mapped file kills a process touching the cut page with SIGBUS, and the machine runs on",
          "[kernel][mmap][truncate][sigbus]") {
  KernelFixture f;
  int status = 0, later_status = -1;
  std::string kept;
  std::int64_t size_read = -1;
  const int init_status = f.run([&](user::Process& init) {
    const int fd = make_file(init, "/tmp/cut", 2);
    int mapped[2], cut[2];
    REQUIRE(init.pipe(mapped) == 0);
    REQUIRE(init.pipe(cut) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      const mmu::VirtAddr at = map(self, 2 * kPage, kReadWrite, sys::kMapShared, fd);
      self.store<char>(at + kPage, 'B');  // both pages mapped
      notify(self, mapped[1]);
      await(self, cut[0]);
      kept = load_string(self, at, 4);
      (void)self.load<char>(at + kPage);  // cut away: SIGBUS
      return 0;
    });
    await(init, mapped[0]);
    REQUIRE(init.ftruncate(fd, static_cast<std::int64_t>(kPage)) == 0);
    notify(init, cut[1]);
    REQUIRE(init.waitpid(child, &status) == child);
    // The simulation carries on: the file reads short, and new processes run.
    char buffer[2 * kPage];
    REQUIRE(init.lseek(fd, 0, sys::kSeekSet) == 0);
    size_read = init.read(fd, std::span<char>(buffer, sizeof(buffer)));
    const sys::pid_t later = init.fork([](user::Process&) { return 3; });
    REQUIRE(init.waitpid(later, &later_status) == later);
    return 0;
  });
  CHECK(kept == "aaaa");
  CHECK(sys::killed_by_signal(status));
  CHECK(sys::terminating_signal(status) == sys::kSigBus);
  CHECK(size_read == static_cast<std::int64_t>(kPage));
  CHECK(sys::exit_code(later_status) == 3);
  CHECK(f.kernel.halted());
  CHECK(sys::exited_normally(init_status));
}

TEST_CASE("truncate within a page zeroes the mapped tail, and growing again reads zeros", "[kernel][truncate]") {
  KernelFixture f;
  std::string mapped_after_cut, read_after_grow;
  std::int64_t grown_size = -1;
  f.run([&](user::Process& init) {
    const int fd = make_file(init, "/tmp/grow", 1);
    const mmu::VirtAddr at = map(init, 2 * kPage, sys::kProtRead, sys::kMapShared, fd);
    (void)init.load<char>(at);
    REQUIRE(init.truncate("/tmp/grow", 3) == 0);
    mapped_after_cut = load_string(init, at, 6);
    REQUIRE(init.ftruncate(fd, static_cast<std::int64_t>(2 * kPage)) == 0);
    sys::stat st{};
    REQUIRE(init.fstat(fd, st) == 0);
    grown_size = st.st_size;
    read_after_grow = read_at(init, fd, 0, 6) + read_at(init, fd, kPage + 10, 2);
    (void)init.load<char>(at + kPage);  // inside the file again: no SIGBUS
    return 0;
  });
  CHECK(mapped_after_cut == std::string("aaa\0\0\0", 6));
  CHECK(grown_size == static_cast<std::int64_t>(2 * kPage));
  CHECK(read_after_grow == std::string("aaa\0\0\0\0\0", 8));
}

// ---- msync --------------------------------------------------------------------------------

TEST_CASE("msync moves a shared mapping's dirty bits to the page cache and MS_SYNC writes them back",
          "[kernel][msync][page_cache]") {
  KernelFixture f;
  std::uint64_t after_sync = 9, after_store = 9, after_async = 9, after_second_sync = 9, after_second_store = 9;
  f.run([&](user::Process& init) {
    const int fd = make_file(init, "/tmp/dirty", 2);
    const mmu::VirtAddr at = map(init, 2 * kPage, kReadWrite, sys::kMapShared, fd);
    kernel::PageCache& cache = cache_of(f, "/tmp/dirty");
    REQUIRE(init.msync(at, 2 * kPage, sys::kMsyncSync) == 0);
    after_sync = cache.dirty_pages();
    init.store<char>(at + kPage, 'x');
    after_store = cache.dirty_pages();  // only the PTE knows yet
    REQUIRE(init.msync(at, 2 * kPage, sys::kMsyncAsync) == 0);
    after_async = cache.dirty_pages();
    REQUIRE(init.msync(at, 2 * kPage, sys::kMsyncSync | sys::kMsyncInvalidate) == 0);
    after_second_sync = cache.dirty_pages();
    // The TLB entry that had D set was flushed: the next store sets D again.
    init.store<char>(at + kPage, 'y');
    REQUIRE(init.msync(at, 2 * kPage, sys::kMsyncAsync) == 0);
    after_second_store = cache.dirty_pages();
    return 0;
  });
  CHECK(after_sync == 0);
  CHECK(after_store == 0);
  CHECK(after_async == 1);
  CHECK(after_second_sync == 0);
  CHECK(after_second_store == 1);
}

TEST_CASE("msync rejects bad flags, unaligned addresses and unmapped ranges", "[kernel][msync][errors]") {
  KernelFixture f;
  std::vector<int> results;
  f.run([&](user::Process& init) {
    const int fd = make_file(init, "/tmp/msync", 1);
    const mmu::VirtAddr at = map(init, kPage, kReadWrite, sys::kMapShared, fd);
    const mmu::VirtAddr anon = map(init, kPage, kReadWrite, sys::kMapPrivate | sys::kMapAnonymous, -1);
    results = {
        init.msync(at + 1, kPage, sys::kMsyncSync),                          // unaligned
        init.msync(at, kPage, 8),                                            // unknown flag
        init.msync(at, kPage, sys::kMsyncSync | sys::kMsyncAsync),           // both
        init.msync(at, 2 * kPage, sys::kMsyncSync),                          // runs past the mapping
        init.msync(0x10000, kPage, sys::kMsyncSync),                         // nothing mapped
        init.msync(at, kPage, sys::kMsyncSync),                              // fine
        init.msync(at, 0, sys::kMsyncAsync),                                 // empty
        init.msync(anon, kPage, sys::kMsyncSync),                            // anonymous: nothing to do
        init.msync(at, kPage, sys::kMsyncInvalidate),                        // alone
    };
    return 0;
  });
  const std::vector<int> expected = {errno_of(sys::Errno::kEINVAL), errno_of(sys::Errno::kEINVAL),
                                     errno_of(sys::Errno::kEINVAL), errno_of(sys::Errno::kENOMEM),
                                     errno_of(sys::Errno::kENOMEM), 0, 0, 0, 0};
  CHECK(results == expected);
}

// ---- Permissions and errors ---------------------------------------------------------------

TEST_CASE("mmap of files checks the open mode and refuses what cannot be mapped", "[kernel][mmap][errors]") {
  KernelFixture f;
  std::vector<std::int64_t> results;
  f.run([&](user::Process& init) {
    init.close(make_file(init, "/tmp/perm", 1));
    const int read_only = init.open("/tmp/perm", sys::kOpenReadOnly);
    const int write_only = init.open("/tmp/perm", sys::kOpenWriteOnly);
    const int console = init.open("/dev/console", sys::kOpenReadWrite);
    const int dir = init.open("/tmp", sys::kOpenReadOnly | sys::kOpenDirectory);
    int pipe_fds[2];
    REQUIRE(init.pipe(pipe_fds) == 0);
    const auto ok = [](std::int64_t r) { return r > 0 ? std::int64_t{0} : r; };
    const std::int64_t shared_ro = init.mmap(0, kPage, sys::kProtRead, sys::kMapShared, read_only);
    results = {
        init.mmap(0, kPage, kReadWrite, sys::kMapShared, read_only),
        init.mmap(0, kPage, sys::kProtRead, sys::kMapPrivate, write_only),
        ok(init.mmap(0, kPage, kReadWrite, sys::kMapPrivate, read_only)),
        ok(shared_ro),
        init.mprotect(static_cast<mmu::VirtAddr>(shared_ro), kPage, kReadWrite),
        init.mmap(0, kPage, sys::kProtRead, sys::kMapShared, console),
        init.mmap(0, kPage, sys::kProtRead, sys::kMapPrivate, dir),
        init.mmap(0, kPage, sys::kProtRead, sys::kMapShared, pipe_fds[0]),
        init.mmap(0, kPage, sys::kProtRead, sys::kMapShared, 99),
    };
    return 0;
  });
  const auto e = [](sys::Errno error) { return static_cast<std::int64_t>(errno_of(error)); };
  const std::vector<std::int64_t> expected = {e(sys::Errno::kEACCES), e(sys::Errno::kEACCES), 0, 0,
                                              e(sys::Errno::kEACCES), e(sys::Errno::kENODEV), e(sys::Errno::kENODEV),
                                              e(sys::Errno::kENODEV), e(sys::Errno::kEBADF)};
  CHECK(results == expected);
}

TEST_CASE("truncate and ftruncate reject negative lengths, directories and descriptors not open for writing",
          "[kernel][truncate][errors]") {
  KernelFixture f;
  std::vector<int> results;
  f.run([&](user::Process& init) {
    init.close(make_file(init, "/tmp/t", 1));
    const int read_only = init.open("/tmp/t", sys::kOpenReadOnly);
    const int read_write = init.open("/tmp/t", sys::kOpenReadWrite);
    int pipe_fds[2];
    REQUIRE(init.pipe(pipe_fds) == 0);
    results = {
        init.ftruncate(read_write, -1),
        init.ftruncate(read_only, 0),
        init.ftruncate(99, 0),
        init.ftruncate(pipe_fds[1], 0),
        init.truncate("/tmp", 0),
        init.truncate("/tmp/missing", 0),
        init.truncate("/tmp/t", -5),
        init.truncate("/dev/null", 0),
        init.ftruncate(read_write, 10),
        init.truncate("/tmp/t", 0),
    };
    return 0;
  });
  const std::vector<int> expected = {errno_of(sys::Errno::kEINVAL), errno_of(sys::Errno::kEINVAL),
                                     errno_of(sys::Errno::kEBADF),  errno_of(sys::Errno::kEINVAL),
                                     errno_of(sys::Errno::kEISDIR), errno_of(sys::Errno::kENOENT),
                                     errno_of(sys::Errno::kEINVAL), errno_of(sys::Errno::kEINVAL),
                                     0,                             0};
  CHECK(results == expected);
}

// ---- Frames -------------------------------------------------------------------------------

TEST_CASE("a file's frames return to the free pool when it is unlinked and its last mapper exits",
          "[kernel][page_cache][frames]") {
  KernelFixture f;
  const std::uint64_t before_boot = f.free_frames();
  std::uint64_t cached_while_mapped = 0, cached_after_exit = 0;
  f.run([&](user::Process& init) {
    init.close(make_file(init, "/tmp/doomed", 4));
    init.close(make_file(init, "/tmp/also", 3));
    REQUIRE(init.unlink("/tmp/also") == 0);
    int mapped[2], go[2];
    REQUIRE(init.pipe(mapped) == 0);
    REQUIRE(init.pipe(go) == 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      const int fd = self.open("/tmp/doomed", sys::kOpenReadWrite);
      const mmu::VirtAddr shared = map(self, 4 * kPage, kReadWrite, sys::kMapShared, fd);
      const mmu::VirtAddr privat = map(self, 4 * kPage, kReadWrite, sys::kMapPrivate, fd);
      self.close(fd);
      for (int i = 0; i < 4; ++i) {
        self.store<char>(shared + i * kPage, 's');
        self.store<char>(privat + i * kPage, 'p');
      }
      REQUIRE(self.unlink("/tmp/doomed") == 0);
      notify(self, mapped[1]);
      await(self, go[0]);
      return 0;
    });
    await(init, mapped[0]);
    cached_while_mapped = f.core().page_cache_pool().cached_pages;
    notify(init, go[1]);
    int status = 0;
    REQUIRE(init.waitpid(child, &status) == child);
    cached_after_exit = f.core().page_cache_pool().cached_pages;
    return 0;
  });
  REQUIRE(f.kernel.halted());
  const std::uint64_t cached = f.core().page_cache_pool().cached_pages;
  CHECK(cached_while_mapped == cached_after_exit + 4);
  // What is still cached belongs to the files left in the tree (the executables).
  CHECK(cached == cached_pages_in_tree(*f.core().vfs().root()));
  CHECK(f.free_frames() + cached == before_boot);
}

TEST_CASE("/dev/zero maps as anonymous memory: private zeros, or shared with forked children",
          "[kernel][mmap][dev_zero]") {
  KernelFixture f;
  std::string private_bytes;
  std::string seen_by_parent;
  int child_status = -1;
  f.run([&](user::Process& init) {
    const int zero = init.open("/dev/zero", sys::kOpenReadWrite);
    REQUIRE(zero >= 0);
    const std::int64_t priv = init.mmap(0, 2 * kPage, kReadWrite, sys::kMapPrivate, zero);
    REQUIRE(priv > 0);
    private_bytes = load_string(init, static_cast<mmu::VirtAddr>(priv), 8);
    init.store<std::uint64_t>(static_cast<mmu::VirtAddr>(priv), 42);  // writable, like anonymous memory
    const std::int64_t shared = init.mmap(0, kPage, kReadWrite, sys::kMapShared, zero);
    REQUIRE(shared > 0);
    init.close(zero);
    const auto at = static_cast<mmu::VirtAddr>(shared);
    const int child = init.fork([at](user::Process& self) {
      self.write_memory(at, "from child", 10);
      return 0;
    });
    init.waitpid(child, &child_status, 0);
    seen_by_parent = load_string(init, at, 10);
    return 0;
  });
  CHECK(private_bytes == std::string(8, '\0'));
  CHECK(child_status == sys::exited_status(0));
  CHECK(seen_by_parent == "from child");
}
