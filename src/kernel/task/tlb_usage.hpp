#pragma once

// A task's share of its CPUs' TLB counters. The counters are the hardware's, per CPU; the
// scheduler snapshots them when a task is put on a CPU and charges the task their growth
// when it leaves (or, for a task still running, when someone asks), so a task's counts
// include the kernel work done on its behalf and nothing of other tasks.

#include <cstdint>

#include "ossim/kernel/task_info.hpp"
#include "ossim/mmu/mmu.hpp"

namespace ossim::kernel {

struct TlbUsage {
  std::uint64_t hits = 0;    // first-level iTLB + dTLB hits
  std::uint64_t misses = 0;  // first-level iTLB + dTLB misses (an STLB may still hit)
  std::uint64_t walks = 0;   // page walks (misses of every level)

  /// The CPU's counters now.
  static TlbUsage of(mmu::Mmu& mmu) {
    TlbUsage usage;
    usage.read(mmu);
    return usage;
  }
  /// Sets this to the CPU's counters now, field by field: a switch calls it on the
  /// arriving task's snapshot, which a whole-struct copy would write with vector moves
  /// from a temporary written a word at a time (a failed store-to-load forward each time).
  void read(mmu::Mmu& mmu) {
    const mmu::TlbStats& itlb = mmu.itlb().stats();
    const mmu::TlbStats& dtlb = mmu.dtlb().stats();
    hits = itlb.hits + dtlb.hits;
    misses = itlb.misses + dtlb.misses;
    walks = mmu.stats().walks;
  }

  /// Adds to `acct` what the counters grew by since `since` (a counter reset by
  /// Tlb::reset_stats counts from the reset).
  void charge_since(const TlbUsage& since, TaskAccounting& acct) const {
    acct.tlb_hits += hits >= since.hits ? hits - since.hits : hits;
    acct.tlb_misses += misses >= since.misses ? misses - since.misses : misses;
    acct.page_walks += walks >= since.walks ? walks - since.walks : walks;
  }
};

}  // namespace ossim::kernel
