// Block device files (/dev/<disk>): the disk's bytes through a page cache backed by the
// disk. A first touch of a mapped page is a major fault that sleeps for the disk; read()
// sees what is on the disk; MAP_SHARED stores reach the disk at munmap; under memory
// pressure clean pages are evicted and dirty ones written back first, so nothing is lost.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ossim/sys/flags.hpp"
#include "kernel/block/disk_driver.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/page_cache.hpp"
#include "disk_machine.hpp"

namespace ossim::testing {

namespace {

constexpr std::uint64_t kPage = 4096;

/// The byte at `offset` of the test pattern.
std::byte pattern_byte(std::uint64_t offset) { return static_cast<std::byte>((offset * 131 + offset / 4096) & 0xff); }

/// Fills the first `pages` pages of `disk` with the pattern, on the host.
void fill_disk(dev::BlockDevice& disk, std::uint64_t pages) {
  std::vector<std::byte> page(kPage);
  for (std::uint64_t p = 0; p < pages; ++p) {
    for (std::uint64_t i = 0; i < kPage; ++i) page[i] = pattern_byte(p * kPage + i);
    disk.write_sectors(p * 8, 8, page.data());
  }
}

}  // namespace

TEST_CASE("mmap of a block device: first touches are major faults that read the disk", "[block][mmap]") {
  DiskMachine m(64, 0, {{"sdb", 16}});
  fill_disk(m.machine.disk(0), 64);
  std::vector<std::uint8_t> seen;
  sim::Tick first_touch = 0;
  sim::Tick second_touch = 0;
  const int status = m.run([&](user::Process& init) {
    const int fd = init.open("/dev/sdb", sys::kOpenReadOnly);
    REQUIRE(fd >= 0);
    const std::int64_t mapped = init.mmap(0, 64 * kPage, sys::kProtRead, sys::kMapShared, fd);
    REQUIRE(mapped > 0);
    const auto base = static_cast<std::uint64_t>(mapped);
    sim::Tick before = init.now();
    seen.push_back(init.load<std::uint8_t>(base + 5 * kPage + 7));
    first_touch = init.now() - before;
    before = init.now();
    seen.push_back(init.load<std::uint8_t>(base + 5 * kPage + 8));
    second_touch = init.now() - before;
    for (std::uint64_t p = 0; p < 64; ++p) seen.push_back(init.load<std::uint8_t>(base + p * kPage + p));
    return 0;
  });
  CHECK(status == sys::exited_status(0));
  REQUIRE(seen.size() == 66);
  CHECK(seen[0] == static_cast<std::uint8_t>(pattern_byte(5 * kPage + 7)));
  CHECK(seen[1] == static_cast<std::uint8_t>(pattern_byte(5 * kPage + 8)));
  for (std::uint64_t p = 0; p < 64; ++p) CHECK(seen[2 + p] == static_cast<std::uint8_t>(pattern_byte(p * kPage + p)));
  // The SSD's 50 us read latency, and the transfer, on the first touch only.
  CHECK(first_touch >= 50 * sim::kMicrosecond);
  CHECK(second_touch < sim::kMicrosecond);
  const auto init = m.kernel.task(1);
  REQUIRE(init);
  // Readahead: the fault on page 5 reads pages 5-36 in one batch; page 0's reads 0-4 (up
  // to the first cached page); page 37's reads 37-68 (the window, within the disk).
  CHECK(init->accounting.major_faults == 3);
  CHECK(m.kernel.core().disk(0).stats().reads == 32 + 5 + 32);
}

TEST_CASE("stores through a shared mapping of a block device reach the disk at munmap", "[block][mmap]") {
  DiskMachine m(64, 0, {{"sdb", 16}});
  const int status = m.run([&](user::Process& init) {
    const int fd = init.open("/dev/sdb", sys::kOpenReadWrite);
    const auto base = static_cast<std::uint64_t>(init.mmap(0, 4 * kPage, sys::kProtRead | sys::kProtWrite, sys::kMapShared, fd));
    init.write_memory(base + 2 * kPage + 100, "persisted", 9);
    return init.munmap(base, 4 * kPage) == 0 ? 0 : 1;
  });
  CHECK(status == sys::exited_status(0));
  std::vector<std::byte> sector(512);
  m.machine.disk(0).read_sectors(2 * 8, 1, sector.data());
  CHECK(std::string(reinterpret_cast<const char*>(sector.data()) + 100, 9) == "persisted");
  CHECK(m.kernel.core().disk(0).stats().writes >= 1);
}

TEST_CASE("reading a disk larger than memory evicts clean cached pages", "[block][reclaim]") {
  DiskMachine m(16, 0, {{"sdb", 48}});
  fill_disk(m.machine.disk(0), 48 * 256);
  std::uint64_t wrong = 1;
  const int status = m.run([&](user::Process& init) {
    const int fd = init.open("/dev/sdb", sys::kOpenReadOnly);
    std::vector<char> buffer(64 * 1024);
    wrong = 0;
    for (std::uint64_t offset = 0; offset < (std::uint64_t{48} << 20); offset += buffer.size()) {
      if (init.read(fd, std::span<char>(buffer.data(), buffer.size())) != static_cast<std::int64_t>(buffer.size())) return 1;
      for (std::uint64_t i = 0; i < buffer.size(); i += 997) {
        if (static_cast<std::byte>(buffer[i]) != pattern_byte(offset + i)) ++wrong;
      }
    }
    return 0;
  }, 1000 * sim::kSecond);
  CHECK(status == sys::exited_status(0));
  CHECK(wrong == 0);
  const kernel::MemoryStats memory = m.kernel.memory_stats();
  CHECK(memory.pages_reclaimed > 8000);
  CHECK(memory.oom_kills == 0);
  CHECK(memory.cached_pages < 16 * 256);
}

TEST_CASE("dirty cached pages are written back before their frames are reused", "[block][reclaim]") {
  DiskMachine m(16, 0, {{"sdb", 48}});
  const int status = m.run([&](user::Process& init) {
    const int fd = init.open("/dev/sdb", sys::kOpenWriteOnly);
    std::vector<char> buffer(64 * 1024);
    for (std::uint64_t offset = 0; offset < (std::uint64_t{40} << 20); offset += buffer.size()) {
      for (std::uint64_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<char>(pattern_byte(offset + i));
      if (init.write(fd, std::string_view(buffer.data(), buffer.size())) != static_cast<std::int64_t>(buffer.size())) {
        return 1;
      }
    }
    return 0;
  }, 1000 * sim::kSecond);
  CHECK(status == sys::exited_status(0));
  CHECK(m.kernel.memory_stats().pages_reclaimed > 5000);
  // What was evicted is on the disk; what is still cached and dirty is newer there.
  kernel::PageCache* cache = m.kernel.core().vfs().root()->lookup("dev")->lookup("sdb")->page_cache();
  std::vector<std::byte> page(kPage);
  std::uint64_t wrong = 0;
  for (std::uint64_t p = 0; p < 40 * 256; p += 7) {
    const kernel::CachedPage* cached = cache->find(p);
    if (cached != nullptr && cached->dirty) {
      std::memcpy(page.data(), cache->bytes(*cached), kPage);
    } else {
      m.machine.disk(0).read_sectors(p * 8, 8, page.data());
    }
    if (page[p % kPage] != pattern_byte(p * kPage + p % kPage)) ++wrong;
  }
  CHECK(wrong == 0);
}

}  // namespace ossim::testing

namespace ossim::testing {

TEST_CASE("executables on a disk: a first run reads its text from the disk, a later run finds it cached",
          "[block][exec]") {
  sim::Engine engine({.seed = 3});
  MachineConfig machine_config{.cpus = 1, .memory_bytes = std::uint64_t{64} << 20};
  DiskMachine::disks_add(machine_config, "sda", 64);
  Machine machine(engine, machine_config);
  kernel::KernelConfig config;
  config.memory.executables_disk = 0;
  kernel::Kernel kernel(machine, config);
  // 1 MiB of text; the program reads a word of it 512 KiB in, as code running there would.
  kernel.register_program({.name = "tool",
                           .main = [](user::Process& self) {
                             (void)self.load<std::uint8_t>(0x400000 + 512 * 1024);
                             return 0;
                           },
                           .text_bytes = 1 << 20});
  kernel.boot([](user::Process& init) {
    for (int run = 0; run < 2; ++run) {
      const int child = init.fork([](user::Process& self) { return self.execve("/bin/tool", {"tool"}); });
      int status = -1;
      init.waitpid(child, &status, 0);
      if (status != sys::exited_status(0)) return 1;
    }
    return 0;
  });
  engine.run_until(10 * sim::kSecond);
  REQUIRE(kernel.halted());
  CHECK(kernel.init_status() == sys::exited_status(0));
  std::vector<kernel::TaskInfo> runs;
  for (const kernel::TaskInfo& task : kernel.tasks()) {
    if (task.name == "tool") runs.push_back(task);
  }
  REQUIRE(runs.size() == 2);
  // execve's read of the header read the first pages ahead (the entry page among them), so
  // the entry-point fetch is a minor fault; the text 512 KiB in is a major fault the first
  // time and cached the second.
  CHECK(runs[0].accounting.major_faults == 1);
  CHECK(runs[1].accounting.major_faults == 0);
  CHECK(runs[1].accounting.minor_faults >= 2);
  CHECK(kernel.core().disk(0).stats().reads > 0);
  // The executables disk is not a block device file.
  CHECK(kernel.core().vfs().root()->lookup("dev")->lookup("sda") == nullptr);
}

}  // namespace ossim::testing

namespace ossim::testing {

TEST_CASE("MADV_RANDOM turns a mapping's readahead off and MADV_SEQUENTIAL doubles it", "[block][mmap][madvise]") {
  DiskMachine m(64, 0, {{"sdb", 16}});
  std::uint64_t reads_random = 0, reads_sequential = 0, reads_normal = 0;
  const int status = m.run([&](user::Process& init) {
    const int fd = init.open("/dev/sdb", sys::kOpenReadOnly);
    const auto reads = [&] { return m.kernel.core().disk(0).stats().reads; };
    const auto map_at = [&](std::uint64_t page, int advice) {
      const auto base = static_cast<std::uint64_t>(
          init.mmap(0, 128 * kPage, sys::kProtRead, sys::kMapShared, fd, static_cast<std::int64_t>(page * kPage)));
      REQUIRE(init.madvise(base, 128 * kPage, advice) == 0);
      return base;
    };
    std::uint64_t before = reads();
    const std::uint64_t random_base = map_at(0, sys::kMadvRandom);
    for (std::uint64_t p = 0; p < 8; ++p) (void)init.load<std::uint8_t>(random_base + p * kPage);
    reads_random = reads() - before;
    before = reads();
    (void)init.load<std::uint8_t>(map_at(1024, sys::kMadvSequential));
    reads_sequential = reads() - before;
    before = reads();
    (void)init.load<std::uint8_t>(map_at(2048, sys::kMadvNormal));
    reads_normal = reads() - before;
    return 0;
  });
  CHECK(status == sys::exited_status(0));
  CHECK(reads_random == 8);  // one page per fault
  CHECK(reads_sequential == 64);
  CHECK(reads_normal == 32);
}

}  // namespace ossim::testing
