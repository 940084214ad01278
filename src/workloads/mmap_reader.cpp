// mmap_reader: a process that maps a file (by default the data disk /dev/sdb) and reads
// it through the mapping, page by page in order or at random pages: the workload of the
// page-cache experiments. Each first touch of a page not cached is a major fault that
// sleeps for the disk (an HDD's seeks and rotation, or an SSD's latency); later passes
// over pages still cached are free of I/O.
//
// Each pass (`touches` page touches, one word each) is reported as a job with
// sched_job_complete, so metrics give the passes done and their times. Major faults read
// ahead (32 pages; none under `advice` random, 64 under sequential), so a sequential pass
// faults once per window and streams from the disk, while random touches of a large file
// fault on most pages and pay a seek each.

#include <fmt/format.h>

#include "ossim/sim/random.hpp"
#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr std::uint64_t kPageBytes = 4096;

constexpr ParamDoc kParams[] = {
    {"file", "the file to map and read (a block device file names a machine disk: /dev/<name>)"},
    {"size", "bytes mapped from the start of the file (whole pages)"},
    {"pattern", "\"sequential\" (every page in order) or \"random\" (uniformly random pages)"},
    {"touches", "pages touched per pass (0: size / 4 KiB)"},
    {"advice", "madvise advice for the mapping: \"normal\", \"random\" (no readahead) or \"sequential\" (twice the readahead)"},
    {"passes", "passes, each reported as a job"},
};

struct Reading {
  std::string file;
  std::uint64_t pages = 0;
  bool random = false;
  std::uint64_t touches = 0;
  int advice = sys::kMadvNormal;
  std::uint32_t passes = 1;
};

int read_mapped(user::Process& self, const Reading& how) {
  const int fd = self.open(how.file, sys::kOpenReadOnly);
  if (fd < 0) return 1;
  const std::int64_t mapped = self.mmap(0, how.pages * kPageBytes, sys::kProtRead, sys::kMapShared, fd);
  self.close(fd);
  if (mapped < 0) return 2;
  const auto base = static_cast<user::VirtAddr>(mapped);
  if (self.madvise(base, how.pages * kPageBytes, how.advice) != 0) return 4;
  sim::RandomStream random(instance_seed(self.argv()));
  std::uint64_t sum = 0;
  for (std::uint32_t pass = 0; pass < how.passes; ++pass) {
    const sim::Tick release = self.now();
    for (std::uint64_t i = 0; i < how.touches; ++i) {
      const std::uint64_t page = how.random ? random.uniform_below(how.pages) : i % how.pages;
      sum += self.load<std::uint64_t>(base + page * kPageBytes);
    }
    self.job_complete(release);
  }
  (void)sum;
  return self.munmap(base, how.pages * kPageBytes) == 0 ? 0 : 3;
}

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  Reading how;
  how.file = params.get<std::string>("file", "/dev/sdb");
  if (how.file.empty() || how.file.front() != '/') params.fail("file", fmt::format("expected an absolute path, got \"{}\"", how.file));
  const std::uint64_t bytes = params.get_bytes("size", std::uint64_t{16} << 20);
  if (bytes == 0 || bytes % kPageBytes != 0 || bytes > (std::uint64_t{1} << 40)) {
    params.fail("size", "expected a positive whole number of 4 KiB pages up to 1TiB");
  }
  how.pages = bytes / kPageBytes;
  how.random = params.get_choice("pattern", {"sequential", "random"}, "sequential") == "random";
  how.touches = params.get_in_range<std::uint64_t>("touches", 0, std::uint64_t{1} << 32, 0);
  if (how.touches == 0) how.touches = how.pages;
  const std::string advice = params.get_choice("advice", {"normal", "random", "sequential"}, "normal");
  how.advice = advice == "random" ? sys::kMadvRandom : advice == "sequential" ? sys::kMadvSequential : sys::kMadvNormal;
  how.passes = params.get_in_range<std::uint32_t>("passes", 1, 1'000'000, 1);
  nlohmann::json effective = {{"file", how.file},
                              {"size", scenario::format_bytes(bytes)},
                              {"pattern", how.random ? "random" : "sequential"},
                              {"touches", how.touches},
                              {"advice", advice},
                              {"passes", how.passes}};
  return single_program("mmap_reader", options, [how](user::Process& self) { return read_mapped(self, how); }, std::move(effective));
}

}  // namespace

const CannedWorkload& mmap_reader_workload() {
  static const CannedWorkload workload{
      "mmap_reader", "maps a file (a disk by default) and reads its pages in order or at random (page cache, major faults)",
      kParams, make};
  return workload;
}

}  // namespace ossim::workloads
