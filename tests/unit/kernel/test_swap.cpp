// Swap and reclaim: anonymous pages go to a swap area on a disk under memory pressure and
// come back byte-identical; fork shares swap entries; kswapd and direct reclaim keep free
// memory above the watermarks; the OOM killer removes the largest process and leaves the
// others running when nothing can be reclaimed.

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ossim/kernel/kernel.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sys/flags.hpp"
#include "ossim/user/process.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/reclaim.hpp"
#include "disk_machine.hpp"

namespace ossim::testing {

namespace {

constexpr std::uint64_t kPage = 4096;

/// The word stored in page `i` of a region: different for every page and run.
std::uint64_t pattern(std::uint64_t i, std::uint64_t salt) { return (i + 1) * 0x9E3779B97F4A7C15ULL ^ salt; }

/// Writes a pattern word at two places of each of `pages` pages, then checks them all.
/// Returns the number of words that came back wrong (0 is right).
std::uint64_t write_then_verify(user::Process& self, std::uint64_t pages, std::uint64_t salt) {
  const std::int64_t base = self.mmap(0, pages * kPage, sys::kProtRead | sys::kProtWrite,
                                      sys::kMapPrivate | sys::kMapAnonymous);
  if (base < 0) return ~std::uint64_t{0};
  const auto at = static_cast<std::uint64_t>(base);
  for (std::uint64_t i = 0; i < pages; ++i) {
    self.store<std::uint64_t>(at + i * kPage, pattern(i, salt));
    self.store<std::uint64_t>(at + i * kPage + kPage - 8, ~pattern(i, salt));
  }
  std::uint64_t wrong = 0;
  for (std::uint64_t i = 0; i < pages; ++i) {
    if (self.load<std::uint64_t>(at + i * kPage) != pattern(i, salt)) ++wrong;
    if (self.load<std::uint64_t>(at + i * kPage + kPage - 8) != ~pattern(i, salt)) ++wrong;
  }
  return wrong;
}

}  // namespace

TEST_CASE("swapped-out pages come back byte-identical", "[swap]") {
  DiskMachine m(16, 64);
  const std::uint64_t free_at_start = m.machine.frames().free_frames();
  std::uint64_t wrong = 1;
  const int status = m.run([&](user::Process& init) {
    // 24 MiB of data on a 16 MiB machine.
    wrong = write_then_verify(init, 6144, 42);
    return 0;
  });
  CHECK(status == sys::exited_status(0));
  CHECK(wrong == 0);
  const kernel::MemoryStats memory = m.kernel.memory_stats();
  CHECK(memory.pages_swapped_out > 2048);
  CHECK(memory.pages_swapped_in > 0);
  CHECK(memory.pages_reclaimed > 0);
  CHECK(memory.disk_writes == memory.pages_swapped_out);
  CHECK(memory.disk_reads == memory.pages_swapped_in);
  // Everything is released at exit: no slot in use, and the frames still in use are the
  // ones a run without memory pressure leaves too (the kernel's own).
  CHECK(memory.swap_used == 0);
  DiskMachine quiet(16, 64);
  const std::uint64_t quiet_at_start = quiet.machine.frames().free_frames();
  quiet.run([&](user::Process& init) { return static_cast<int>(write_then_verify(init, 16, 42)); });
  CHECK(quiet.kernel.memory_stats().pages_swapped_out == 0);
  CHECK(free_at_start - m.machine.frames().free_frames() == quiet_at_start - quiet.machine.frames().free_frames());
  const auto init = m.kernel.task(1);
  REQUIRE(init);
  CHECK(init->accounting.major_faults == memory.pages_swapped_in);
}

TEST_CASE("/proc/meminfo reports the swap area and its use, /proc/self/status the process's share", "[swap][procfs]") {
  DiskMachine m(16, 64);
  std::string meminfo;
  std::string status;
  m.run([&](user::Process& init) {
    constexpr std::uint64_t kPages = 6144;
    const auto base = static_cast<std::uint64_t>(
        init.mmap(0, kPages * kPage, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
    for (std::uint64_t i = 0; i < kPages; ++i) init.store<std::uint64_t>(base + i * kPage, i);
    const auto read_file = [&](const char* path) {
      const int fd = init.open(path, sys::kOpenReadOnly);
      char buffer[1024] = {};
      const auto got = init.read(fd, std::span<char>(buffer, sizeof buffer - 1));
      init.close(fd);
      return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
    };
    meminfo = read_file("/proc/meminfo");
    status = read_file("/proc/self/status");
    return 0;
  });
  CHECK_THAT(meminfo, Catch::Contains("SwapTotal:\t   65536 kB"));
  // Pages swapped out at that moment: what the swap area held then.
  const auto at = meminfo.find("SwapFree:\t");
  REQUIRE(at != std::string::npos);
  const std::uint64_t swap_free_kb = std::stoull(meminfo.substr(at + 10));
  CHECK(swap_free_kb < 65536 - 4 * 2048);
  // The process's own share: VmSwap in its status, what the swap area holds.
  const auto vm_swap = status.find("VmSwap:\t");
  REQUIRE(vm_swap != std::string::npos);
  CHECK(std::stoull(status.substr(vm_swap + 8)) == 65536 - swap_free_kb);
}

TEST_CASE("kswapd reclaims in the background above the high watermark", "[swap]") {
  DiskMachine m(16, 64);
  const int status = m.run([&](user::Process& init) { return write_then_verify(init, 6144, 7) == 0 ? 0 : 1; });
  CHECK(status == sys::exited_status(0));
  const kernel::MemoryStats memory = m.kernel.memory_stats();
  CHECK(memory.kswapd_wakeups > 0);
  CHECK(memory.kswapd_reclaimed > 0);
  const kernel::Reclaimer& reclaimer = m.kernel.core().reclaimer();
  REQUIRE(reclaimer.kswapd() != nullptr);
  bool listed = false;
  for (const kernel::TaskInfo& task : m.kernel.tasks()) listed = listed || task.name == "kswapd0";
  CHECK(listed);
  // Linux's watermarks for 15 MiB managed: min = sqrt(16 x 15360) KiB = 495 KiB.
  CHECK(reclaimer.watermarks().min == 123);
  CHECK(reclaimer.watermarks().low == 153);
  CHECK(reclaimer.watermarks().high == 184);
}

TEST_CASE("a forked child shares swap entries and each side keeps its own data", "[swap]") {
  DiskMachine m(16, 64);
  std::uint64_t child_wrong = 1;
  std::uint64_t parent_wrong = 1;
  const int status = m.run([&](user::Process& init) {
    constexpr std::uint64_t kPages = 5120;  // 20 MiB: some of it is in swap at the fork
    const auto base = static_cast<std::uint64_t>(
        init.mmap(0, kPages * kPage, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
    for (std::uint64_t i = 0; i < kPages; ++i) init.store<std::uint64_t>(base + i * kPage, pattern(i, 1));
    const int child = init.fork([&](user::Process& self) {
      child_wrong = 0;
      for (std::uint64_t i = 0; i < kPages; ++i) {
        if (self.load<std::uint64_t>(base + i * kPage) != pattern(i, 1)) ++child_wrong;
        self.store<std::uint64_t>(base + i * kPage, pattern(i, 2));
      }
      for (std::uint64_t i = 0; i < kPages; ++i) {
        if (self.load<std::uint64_t>(base + i * kPage) != pattern(i, 2)) ++child_wrong;
      }
      return 0;
    });
    int child_status = -1;
    init.waitpid(child, &child_status, 0);
    parent_wrong = 0;
    for (std::uint64_t i = 0; i < kPages; ++i) {
      if (init.load<std::uint64_t>(base + i * kPage) != pattern(i, 1)) ++parent_wrong;
    }
    return child_status == sys::exited_status(0) ? 0 : 1;
  });
  CHECK(status == sys::exited_status(0));
  CHECK(child_wrong == 0);
  CHECK(parent_wrong == 0);
  CHECK(m.kernel.memory_stats().swap_used == 0);
}

TEST_CASE("without anything to reclaim the OOM killer kills the largest process only", "[swap][oom]") {
  DiskMachine m(16, 0);
  int hog_status = -1;
  int small_status = -1;
  const int status = m.run([&](user::Process& init) {
    const int small = init.fork([](user::Process& self) {
      // A small process that keeps working while the hog dies.
      const int wrong = static_cast<int>(write_then_verify(self, 64, 3));
      self.nanosleep(50 * sim::kMillisecond);
      return wrong;
    });
    const int hog = init.fork([](user::Process& self) {
      const std::uint64_t pages = 8192;  // 32 MiB: more than the machine has
      const auto base = static_cast<std::uint64_t>(
          self.mmap(0, pages * kPage, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
      for (std::uint64_t i = 0; i < pages; ++i) self.store<std::uint64_t>(base + i * kPage, i);
      return 0;
    });
    init.waitpid(hog, &hog_status, 0);
    init.waitpid(small, &small_status, 0);
    return 0;
  });
  CHECK(status == sys::exited_status(0));
  CHECK(hog_status == sys::signaled_status(sys::kSigKill));
  CHECK(small_status == sys::exited_status(0));
  CHECK(m.kernel.memory_stats().oom_kills == 1);
  CHECK(m.machine.console().output().find("Out of memory: Killed process") != std::string::npos);
}

}  // namespace ossim::testing
