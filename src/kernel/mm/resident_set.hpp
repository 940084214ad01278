#pragma once

// A region whose resident pages are capped: the object of a page-replacement experiment
// (the page_refs workload). Touching a page of the region that is not resident when
// `limit` pages are evicts one of the region's pages, chosen by the region's own
// replacement policy (keys: virtual page numbers), to swap.
//
// The policy learns of every reference exactly: the task reports each one after making
// it (the ossim_page_reference syscall), which is how exact LRU and OPT, which the
// hardware's accessed bits cannot drive, are studied on a live process. A reference
// whose touch faulted the page in is the miss the fault already counted; any other is a
// hit, reported to the policy as an access.

#include <cstddef>
#include <memory>
#include <optional>

#include "ossim/kernel/page_replacement.hpp"
#include "ossim/mmu/address.hpp"

namespace ossim::kernel {

struct ResidentSet {
  std::size_t limit = 0;
  std::unique_ptr<ReplacementPolicy> policy;
  /// The page the last fault in the region brought in, until its reference is reported.
  std::optional<mmu::VirtAddr> last_fault;
};

}  // namespace ossim::kernel
