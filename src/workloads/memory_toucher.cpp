// memory_toucher: a process that maps anonymous memory and writes to it in a pattern,
// the workload of TLB and paging experiments. Its first pass takes a demand-zero page
// fault per page; later passes show the TLB's reach (sequential), its set conflicts
// (strided) and its misses on a working set larger than it covers (random).

#include <fmt/format.h>

#include "ossim/sim/random.hpp"
#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr std::uint64_t kPageBytes = 4096;

enum class Pattern : std::uint8_t { kSequential, kStrided, kRandom };

constexpr ParamDoc kParams[] = {
    {"pages", "4 KiB pages mapped and touched"},
    {"pattern", "\"sequential\", \"strided\" (every stride-th page, then the next offset) or \"random\""},
    {"stride", "pages between touches of the strided pattern"},
    {"passes", "passes over the pages (a random pass makes `pages` touches)"},
};

struct Touching {
  std::uint64_t pages;
  Pattern pattern;
  std::uint64_t stride;
  std::uint32_t passes;
};

int touch(user::Process& self, const Touching& how) {
  const auto mapped = map_anonymous(self, how.pages * kPageBytes);
  if (!mapped) return 1;
  const user::VirtAddr base = *mapped;
  sim::RandomStream random(instance_seed(self.argv()));
  std::uint64_t value = 0;
  const auto store = [&](std::uint64_t page) { self.store<std::uint64_t>(base + page * kPageBytes, ++value); };
  for (std::uint32_t pass = 0; pass < how.passes; ++pass) {
    switch (how.pattern) {
      case Pattern::kSequential:
        for (std::uint64_t page = 0; page < how.pages; ++page) store(page);
        break;
      case Pattern::kStrided:
        for (std::uint64_t start = 0; start < how.stride && start < how.pages; ++start) {
          for (std::uint64_t page = start; page < how.pages; page += how.stride) store(page);
        }
        break;
      case Pattern::kRandom:
        for (std::uint64_t i = 0; i < how.pages; ++i) store(random.uniform_below(how.pages));
        break;
    }
  }
  return self.munmap(base, how.pages * kPageBytes) == 0 ? 0 : 1;
}

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  Touching how{};
  how.pages = params.get_in_range<std::uint64_t>("pages", 1, std::uint64_t{1} << 32, 1024);
  if (how.pages * kPageBytes > options.memory_bytes) {
    params.fail("pages", fmt::format("{} pages ({}) do not fit in the machine's memory ({})", how.pages,
                                     scenario::format_bytes(how.pages * kPageBytes),
                                     scenario::format_bytes(options.memory_bytes)));
  }
  how.pattern = params.get_enum<Pattern>(
      "pattern", {{"sequential", Pattern::kSequential}, {"strided", Pattern::kStrided}, {"random", Pattern::kRandom}},
      Pattern::kSequential);
  how.stride = params.get_in_range<std::uint64_t>("stride", 1, std::uint64_t{1} << 32, 16);
  how.passes = params.get_in_range<std::uint32_t>("passes", 1, 1'000'000, 2);
  constexpr const char* kPatternNames[] = {"sequential", "strided", "random"};
  nlohmann::json effective = {{"pages", how.pages},
                              {"pattern", kPatternNames[static_cast<int>(how.pattern)]},
                              {"stride", how.stride},
                              {"passes", how.passes}};

  return single_program("memory_toucher", options, [how](user::Process& self) { return touch(self, how); }, std::move(effective));
}

}  // namespace

const CannedWorkload& memory_toucher_workload() {
  static const CannedWorkload workload{
      "memory_toucher", "maps anonymous memory and writes to its pages sequentially, strided or at random", kParams,
      make};
  return workload;
}

}  // namespace ossim::workloads
