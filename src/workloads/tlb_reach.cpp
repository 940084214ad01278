// tlb_reach: OSTEP chapter 19's TLB measurement. Maps an array of `pages` 4 KiB pages,
// touches each page once to fault it in, then times `passes` sweeps that read one word
// every `stride_bytes` with clock_gettime, and prints the mean simulated time per access:
//
//     tlb_reach: pages=512 stride_bytes=4096 huge=no passes=128 accesses=65536 ns_per_access=2.333
//
// Once the array's pages outnumber what the TLBs hold, the time per access jumps by a
// page walk. With `huge` the array is madvised MADV_HUGEPAGE (otherwise
// MADV_NOHUGEPAGE, so the kernel's transparent_hugepages setting decides only when the
// workload asks for 2 MiB pages): each TLB entry then covers 512 times as much.

#include <fmt/format.h>

#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr std::uint64_t kPageBytes = 4096;
constexpr std::uint64_t kHugeBytes = std::uint64_t{2} << 20;

constexpr ParamDoc kParams[] = {
    {"pages", "array size in 4 KiB pages"},
    {"stride_bytes", "bytes between the words a sweep reads"},
    {"passes", "timed sweeps over the array"},
    {"huge", "ask for 2 MiB pages (madvise MADV_HUGEPAGE); false asks for none (MADV_NOHUGEPAGE)"},
};

struct Reach {
  std::uint64_t pages;
  std::uint64_t stride_bytes;
  std::uint32_t passes;
  bool huge;
};

constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t unit) { return (value + unit - 1) / unit * unit; }

std::int64_t ns_of(const sys::timespec& time) { return time.tv_sec * 1'000'000'000 + time.tv_nsec; }

int measure(user::Process& self, const Reach& how) {
  // The array starts on a 2 MiB boundary and its VMA is whole 2 MiB blocks, so that with
  // `huge` every block can be one 2 MiB page; 2 MiB of slack in the mapping buys the
  // alignment. 4 KiB runs use the same layout, so only the page size differs.
  const std::uint64_t bytes = how.pages * kPageBytes;
  const std::uint64_t array_bytes = round_up(bytes, kHugeBytes);
  const auto mapped = map_anonymous(self, array_bytes + kHugeBytes);
  if (!mapped) return 1;
  const user::VirtAddr base = round_up(*mapped, kHugeBytes);
  if (self.madvise(base, array_bytes, how.huge ? sys::kMadvHugepage : sys::kMadvNohugepage) != 0) return 1;
  for (std::uint64_t offset = 0; offset < bytes; offset += kPageBytes) self.store<std::uint64_t>(base + offset, offset);

  sys::timespec start, end;
  if (self.clock_gettime(sys::kClockMonotonic, start) != 0) return 1;
  for (std::uint32_t pass = 0; pass < how.passes; ++pass) {
    for (std::uint64_t offset = 0; offset < bytes; offset += how.stride_bytes) (void)self.load<std::uint64_t>(base + offset);
  }
  if (self.clock_gettime(sys::kClockMonotonic, end) != 0) return 1;
  const std::uint64_t accesses = std::uint64_t{how.passes} * ((bytes + how.stride_bytes - 1) / how.stride_bytes);
  const double ns_per_access = static_cast<double>(ns_of(end) - ns_of(start)) / static_cast<double>(accesses);
  self.write(1, fmt::format("tlb_reach: pages={} stride_bytes={} huge={} passes={} accesses={} ns_per_access={:.3f}\n",
                            how.pages, how.stride_bytes, how.huge ? "yes" : "no", how.passes, accesses, ns_per_access));
  return self.munmap(*mapped, array_bytes + kHugeBytes) == 0 ? 0 : 1;
}

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  Reach how{};
  how.pages = params.get_in_range<std::uint64_t>("pages", 1, std::uint64_t{1} << 32, 64);
  if (round_up(how.pages * kPageBytes, kHugeBytes) + kHugeBytes > options.memory_bytes) {
    params.fail("pages", fmt::format("{} pages ({}, with 2 MiB alignment) do not fit in the machine's memory ({})",
                                     how.pages, scenario::format_bytes(how.pages * kPageBytes),
                                     scenario::format_bytes(options.memory_bytes)));
  }
  how.stride_bytes = params.get_in_range<std::uint64_t>("stride_bytes", 8, std::uint64_t{1} << 32, kPageBytes);
  if (how.stride_bytes % 8 != 0) params.fail("stride_bytes", "must be a multiple of 8 (the words read)");
  how.passes = params.get_in_range<std::uint32_t>("passes", 1, 1'000'000, 16);
  how.huge = params.get("huge", false);
  nlohmann::json effective = {
      {"pages", how.pages}, {"stride_bytes", how.stride_bytes}, {"passes", how.passes}, {"huge", how.huge}};

  return single_program("tlb_reach", options, [how](user::Process& self) { return measure(self, how); }, std::move(effective));
}

}  // namespace

const CannedWorkload& tlb_reach_workload() {
  static const CannedWorkload workload{
      "tlb_reach", "times strided sweeps over an array of 4 KiB or 2 MiB pages: the TLB's reach (OSTEP ch. 19)",
      kParams, make};
  return workload;
}

}  // namespace ossim::workloads
