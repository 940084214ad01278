// The virtual-memory system's costs on the host: a minor (demand-zero) fault is in
// bench_kernel; here a copy-on-write fault, a fault on a file page already in the page
// cache, a major fault that reads a disk-backed page (with its readahead batch), a swap
// round trip (one page out, one in), and the replacement policies' decision cost against
// the number of resident pages.
//
// The fault benchmarks' timed loops run inside a simulated process, as in bench_kernel:
// an iteration is one simulated fault with its whole kernel path, including any sleep for
// the disk and the engine events that end it.

#include <benchmark/benchmark.h>

#include <string>

#include "ossim/kernel/kernel.hpp"
#include "ossim/kernel/page_replacement.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/random.hpp"
#include "ossim/sys/flags.hpp"
#include "ossim/user/process.hpp"
#include "bench_simulation.hpp"

namespace {

using namespace ossim;

constexpr std::uint64_t kPage = 4096;
constexpr int kReadWrite = sys::kProtRead | sys::kProtWrite;

struct Simulation : bench::Simulation {
  /// One CPU, `memory_mib` of memory, default costs; `disk_mib` > 0 adds an SSD "sdb"
  /// (or, with `swap`, a swap SSD).
  Simulation(std::uint64_t memory_mib, std::uint64_t disk_mib, bool swap)
      : bench::Simulation(machine_config(memory_mib, disk_mib), config(swap)) {}
  static MachineConfig machine_config(std::uint64_t memory_mib, std::uint64_t disk_mib) {
    MachineConfig config{.cpus = 1, .memory_bytes = memory_mib << 20};
    if (disk_mib > 0) {
      config.disks.push_back({.name = "sdb", .kind = dev::DiskKind::kSsd, .sectors = (disk_mib << 20) / 512});
    }
    return config;
  }
  static kernel::KernelConfig config(bool swap) {
    kernel::KernelConfig c;
    if (swap) c.memory.swap_disk = 0;
    c.memory.replacement = "fifo";
    return c;
  }
};

user::VirtAddr map_anonymous(user::Process& self, std::uint64_t pages) {
  return static_cast<user::VirtAddr>(self.mmap(0, pages * kPage, kReadWrite, sys::kMapPrivate | sys::kMapAnonymous));
}

void BM_CowFault(benchmark::State& state) {
  // 512 pages shared with a forked child that waits on a pipe: each store copies one page.
  constexpr std::uint64_t kPages = 512;
  Simulation sim(512, 0, false);
  sim.run([&](user::Process& self) {
    std::uint64_t page = kPages;
    user::VirtAddr region = 0;
    int release[2] = {-1, -1};
    const auto end_round = [&] {
      if (release[1] < 0) return;
      self.close(release[1]);  // the child's read sees EOF and it exits
      int status = 0;
      self.wait(&status);
      self.munmap(region, kPages * kPage);
    };
    for (auto _ : state) {
      if (page == kPages) {
        state.PauseTiming();
        end_round();
        region = map_anonymous(self, kPages);
        for (std::uint64_t p = 0; p < kPages; ++p) self.store<char>(region + p * kPage, 1);
        self.pipe(release);
        self.fork([&](user::Process& child) {
          child.close(release[1]);
          char byte = 0;
          child.read(release[0], std::span<char>(&byte, 1));
          return 0;
        });
        self.close(release[0]);
        page = 0;
        state.ResumeTiming();
      }
      self.store<char>(region + page * kPage, 2);  // one copy-on-write fault each
      ++page;
    }
    end_round();
    return 0;
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CowFault);

void BM_CachedFileFault(benchmark::State& state) {
  // A 2 MiB ramfs file, all in the page cache, mapped MAP_SHARED: a read of each page maps
  // the cached frame (a minor fault of a file mapping).
  constexpr std::uint64_t kPages = 512;
  Simulation sim(512, 0, false);
  sim.run([&](user::Process& self) {
    const int fd = self.open("/tmp/cached", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    const std::string page_bytes(kPage, 'x');
    for (std::uint64_t p = 0; p < kPages; ++p) self.write(fd, page_bytes);
    const auto map = [&] { return static_cast<user::VirtAddr>(self.mmap(0, kPages * kPage, sys::kProtRead, sys::kMapShared, fd)); };
    user::VirtAddr region = map();
    std::uint64_t page = 0;
    for (auto _ : state) {
      if (page == kPages) {
        state.PauseTiming();
        self.munmap(region, kPages * kPage);
        region = map();
        page = 0;
        state.ResumeTiming();
      }
      benchmark::DoNotOptimize(self.load<char>(region + page * kPage));
      ++page;
    }
    return 0;
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedFileFault);

void BM_MajorFaultFromDisk(benchmark::State& state) {
  // A 4 GiB SSD mapped MAP_SHARED, touched every 32nd page: each touch is a major fault
  // that reads its page and the 31 after it (readahead) by DMA, the task sleeping until the
  // completion interrupt. Items: faults; pages read are 32 times as many. 2000 faults fill
  // 250 MiB of the 512 MiB machine with cache, so reclaim stays out of it.
  constexpr std::uint64_t kDiskMiB = 4096;
  Simulation sim(512, kDiskMiB, false);
  sim.run([&](user::Process& self) {
    // Warm-up: the host commits the simulated frames once (as in BM_DemandZeroFault), so
    // the loop measures the simulated fault, not the host's first touch of its memory.
    const user::VirtAddr warm = map_anonymous(self, (400 << 20) / kPage);
    for (std::uint64_t p = 0; p < (400 << 20) / kPage; ++p) self.store<char>(warm + p * kPage, 1);
    self.munmap(warm, 400 << 20);
    const int fd = self.open("/dev/sdb", sys::kOpenReadOnly);
    const auto base = static_cast<user::VirtAddr>(self.mmap(0, kDiskMiB << 20, sys::kProtRead, sys::kMapShared, fd));
    std::uint64_t page = 0;
    for (auto _ : state) {
      benchmark::DoNotOptimize(self.load<char>(base + page * kPage));
      page = (page + 32) % ((kDiskMiB << 20) / kPage);
    }
    return 0;
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MajorFaultFromDisk)->Iterations(2000);

void BM_SwapRoundTrip(benchmark::State& state) {
  // Two pages of a region capped at one resident page: each touch swaps the other page
  // out (a write to the swap SSD) and this one in (a read): one swap-out and one swap-in
  // per iteration, each waiting for the disk.
  Simulation sim(256, 256, true);
  sim.run([&](user::Process& self) {
    const user::VirtAddr region = map_anonymous(self, 2);
    self.resident_limit(region, 2 * kPage, 1);
    self.store<std::uint64_t>(region, 1);
    std::uint64_t which = 1;
    for (auto _ : state) {
      self.store<std::uint64_t>(region + which * kPage, which);
      which ^= 1;
    }
    return 0;
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SwapRoundTrip);

void replacement_decision(benchmark::State& state, const std::string& policy_name) {
  // `resident` frames held by the policy (keys are frame numbers, as in global reclaim);
  // each iteration references a random one (an access, a write for odd ones) and then
  // brings a new page into the frame of the victim the policy picks: one decision.
  // OPT runs without a recorded future here, so its scan for the farthest use is what is
  // measured.
  const auto resident = static_cast<std::uint64_t>(state.range(0));
  sim::RandomStream random(7, "bench");
  auto policy = kernel::make_replacement_policy(policy_name, {.frames = resident, .seed = 1});
  for (std::uint64_t frame = 0; frame < resident; ++frame) policy->on_fault(frame, false);
  for (auto _ : state) {
    const std::uint64_t frame = random.uniform_below(resident);
    policy->on_access(frame, (frame & 1) != 0);
    const kernel::PageKey victim = policy->pick_victim();
    policy->on_fault(victim, false);
  }
  state.SetItemsProcessed(state.iterations());
}

#define OSSIM_REPLACEMENT_BENCH(name)                                                              \
  void BM_Replacement_##name(benchmark::State& state) { replacement_decision(state, #name); }     \
  BENCHMARK(BM_Replacement_##name)->Arg(1 << 10)->Arg(1 << 14)->Arg(1 << 18)
OSSIM_REPLACEMENT_BENCH(fifo);
OSSIM_REPLACEMENT_BENCH(clock);
OSSIM_REPLACEMENT_BENCH(enhanced_clock);
OSSIM_REPLACEMENT_BENCH(lru);
OSSIM_REPLACEMENT_BENCH(active_inactive);
OSSIM_REPLACEMENT_BENCH(random);
OSSIM_REPLACEMENT_BENCH(opt);
#undef OSSIM_REPLACEMENT_BENCH

}  // namespace
