// page_refs: a process that replays a page reference string on a region of its own with
// a cap on the region's resident pages, the textbook page-replacement experiment run on
// the live kernel (OSTEP chapter 22, Belady's anomaly).
//
// The region is `max(pages) + 1` anonymous pages, capped at `resident_limit` frames with
// ossim_resident_limit (the reference string goes along, for OPT). Reference i touches
// page pages[i] (a load, or a store with `write`) and reports it with
// ossim_page_reference: a touch of a page that is not resident faults, and the fault
// evicts one of the region's pages to swap, chosen by kernel.memory.replacement. The
// task's page_hits and page_misses count the references; its minor faults are the first
// touches and its major faults the pages read back from swap.

#include <algorithm>

#include <fmt/format.h>

#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr std::uint64_t kPageBytes = 4096;
constexpr std::uint64_t kMaxPage = std::uint64_t{1} << 20;
constexpr std::size_t kMaxReferences = std::size_t{1} << 20;

constexpr ParamDoc kParams[] = {
    {"pages", "the reference string: page numbers (0 to 2^20 - 1) of the region, in order"},
    {"resident_limit", "frames the region may hold; a miss when it is full evicts one of its pages to swap"},
    {"write", "true: the references are stores (the policies see dirty pages); false: loads"},
};

struct References {
  std::vector<std::uint64_t> pages;
  std::uint64_t resident_limit = 0;
  bool write = false;
};

int replay(user::Process& self, const References& refs) {
  const std::uint64_t region_pages = *std::max_element(refs.pages.begin(), refs.pages.end()) + 1;
  const auto mapped = map_anonymous(self, region_pages * kPageBytes);
  if (!mapped) return 1;
  const user::VirtAddr base = *mapped;
  std::vector<std::uint64_t> future;
  future.reserve(refs.pages.size());
  for (std::uint64_t page : refs.pages) future.push_back(base + page * kPageBytes);
  if (self.resident_limit(base, region_pages * kPageBytes, refs.resident_limit, future) != 0) return 2;
  std::uint64_t value = 0;
  for (std::uint64_t address : future) {
    if (refs.write) {
      self.store<std::uint64_t>(address, ++value);
    } else {
      (void)self.load<std::uint64_t>(address);
    }
    if (self.page_reference(address, refs.write) < 0) return 3;
  }
  return self.munmap(base, region_pages * kPageBytes) == 0 ? 0 : 1;
}

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  References refs;
  const nlohmann::json* pages = params.raw("pages");
  if (pages == nullptr) {
    refs.pages = {0};  // the catalogue's defaults
  } else {
    if (!pages->is_array() || pages->empty()) params.fail("pages", "expected a non-empty array of page numbers");
    if (pages->size() > kMaxReferences) params.fail("pages", fmt::format("at most {} references", kMaxReferences));
    for (std::size_t i = 0; i < pages->size(); ++i) {
      const nlohmann::json& page = (*pages)[i];
      if (!page.is_number_unsigned() || page.get<std::uint64_t>() >= kMaxPage) {
        params.fail("pages", fmt::format("element {} is {}, expected a page number from 0 to {}", i, page.dump(), kMaxPage - 1));
      }
      refs.pages.push_back(page.get<std::uint64_t>());
    }
  }
  refs.resident_limit = params.get_in_range<std::uint64_t>("resident_limit", 1, kMaxPage, 3);
  refs.write = params.get("write", false);
  const std::uint64_t region_bytes = (*std::max_element(refs.pages.begin(), refs.pages.end()) + 1) * kPageBytes;
  if (std::min(region_bytes, refs.resident_limit * kPageBytes) > options.memory_bytes) {
    params.fail("resident_limit", "the region's resident pages do not fit in the machine's memory");
  }
  nlohmann::json effective = {{"pages", refs.pages}, {"resident_limit", refs.resident_limit}, {"write", refs.write}};
  return single_program("page_refs", options, [refs](user::Process& self) { return replay(self, refs); }, std::move(effective));
}

}  // namespace

const CannedWorkload& page_refs_workload() {
  static const CannedWorkload workload{
      "page_refs", "replays a page reference string on a region with a resident limit (page replacement)", kParams,
      make};
  return workload;
}

}  // namespace ossim::workloads
