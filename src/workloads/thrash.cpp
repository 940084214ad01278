// thrash: a process that works on a working set of its own, touching its pages over and
// over with some computation per touch; the workload of the thrashing experiment. Several
// of them whose working sets together exceed memory make the kernel page (reclaim and
// swap) instead of computing: throughput collapses as their number grows (Denning's
// thrashing, OSTEP chapter 22's "thrashing").
//
// Each instance maps `working_set` bytes of anonymous memory and then repeats jobs: a job
// is one touch (a store) of each page of the working set, in random or sequential order,
// each followed by `think_cycles` of computation. It reports every finished job with
// sched_job_complete, so metrics count the jobs done (totals.jobs, tasks[].jobs), and
// stops after `jobs` jobs (0: runs until the scenario ends).

#include <fmt/format.h>

#include "ossim/sim/random.hpp"
#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr std::uint64_t kPageBytes = 4096;

constexpr ParamDoc kParams[] = {
    {"working_set", "bytes of anonymous memory the process works on (whole pages)"},
    {"think_cycles", "cycles of computation after each touch"},
    {"pattern", "\"random\" (a uniformly random page per touch) or \"sequential\""},
    {"jobs", "jobs (one touch per page of the working set each) before exiting; 0: until the run ends"},
};

struct Working {
  std::uint64_t pages = 0;
  std::uint64_t think_cycles = 0;
  bool random = true;
  std::uint64_t jobs = 0;
};

int work(user::Process& self, const Working& how) {
  const auto mapped = map_anonymous(self, how.pages * kPageBytes);
  if (!mapped) return 1;
  const user::VirtAddr base = *mapped;
  sim::RandomStream random(instance_seed(self.argv()));
  std::uint64_t value = 0;
  for (std::uint64_t job = 0; how.jobs == 0 || job < how.jobs; ++job) {
    const sim::Tick release = self.now();
    for (std::uint64_t i = 0; i < how.pages; ++i) {
      const std::uint64_t page = how.random ? random.uniform_below(how.pages) : i;
      self.store<std::uint64_t>(base + page * kPageBytes, ++value);
      self.compute(how.think_cycles);
    }
    self.job_complete(release);
  }
  return 0;
}

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  Working how;
  const std::uint64_t bytes = params.get_bytes("working_set", std::uint64_t{8} << 20);
  if (bytes == 0 || bytes % kPageBytes != 0) params.fail("working_set", "must be a positive whole number of 4 KiB pages");
  if (bytes > (std::uint64_t{1} << 40)) params.fail("working_set", "at most 1TiB");
  how.pages = bytes / kPageBytes;
  how.think_cycles = params.get_in_range<std::uint64_t>("think_cycles", 0, std::uint64_t{1} << 40, 3000);
  how.random = params.get_choice("pattern", {"random", "sequential"}, "random") == "random";
  how.jobs = params.get_in_range<std::uint64_t>("jobs", 0, std::uint64_t{1} << 40, 0);
  nlohmann::json effective = {{"working_set", scenario::format_bytes(bytes)},
                              {"think_cycles", how.think_cycles},
                              {"pattern", how.random ? "random" : "sequential"},
                              {"jobs", how.jobs}};
  return single_program("thrash", options, [how](user::Process& self) { return work(self, how); }, std::move(effective));
}

}  // namespace

const CannedWorkload& thrash_workload() {
  static const CannedWorkload workload{
      "thrash", "repeatedly touches a working set of its own, with computation per touch (thrashing experiments)",
      kParams, make};
  return workload;
}

}  // namespace ossim::workloads
