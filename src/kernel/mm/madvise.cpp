// madvise(2): advice about a range of an address space (Linux's mm/madvise.c), for the
// advice ossim acts on: MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL (the readahead of file
// faults), MADV_DONTNEED, MADV_HUGEPAGE and MADV_NOHUGEPAGE.

#include <algorithm>

#include "ossim/sys/flags.hpp"
#include "kernel/mm/address_space.hpp"

namespace ossim::kernel {

using mmu::kPageBytes;
using mmu::VirtAddr;

Status AddressSpace::madvise(VirtAddr address, std::uint64_t length, int advice) {
  // Linux's checks, in its order: the advice, the start's alignment, the length's wrap.
  if (advice != sys::kMadvNormal && advice != sys::kMadvRandom && advice != sys::kMadvSequential &&
      advice != sys::kMadvDontneed && advice != sys::kMadvHugepage && advice != sys::kMadvNohugepage) {
    return Errno::kEINVAL;
  }
  if ((address & (kPageBytes - 1)) != 0) return Errno::kEINVAL;
  const std::uint64_t rounded = (length + kPageBytes - 1) & ~(kPageBytes - 1);
  if (length != 0 && rounded == 0) return Errno::kEINVAL;
  if (rounded > ~std::uint64_t{0} - address) return Errno::kEINVAL;
  if (rounded == 0) return {};
  const VirtAddr end = address + rounded;

  // A 2 MiB page the range cuts through is split first, keeping its data: the part
  // outside the range must keep its pages, and no 2 MiB mapping may straddle a VMA.
  if (advice != sys::kMadvNormal && advice != sys::kMadvRandom && advice != sys::kMadvSequential) {
    OSSIM_TRY(split_huge_page_at(address));
    OSSIM_TRY(split_huge_page_at(end));
  }
  const bool sets_access = advice == sys::kMadvNormal || advice == sys::kMadvRandom || advice == sys::kMadvSequential;
  const bool sets_flag = advice == sys::kMadvHugepage || advice == sys::kMadvNohugepage || sets_access;
  if (sets_flag) {
    split_at(address);
    split_at(end);
  }
  // Every mapped part takes the advice; a hole anywhere makes the result ENOMEM.
  bool hole = false;
  VirtAddr cursor = address;
  auto it = vmas_.upper_bound(address);
  if (it != vmas_.begin() && std::prev(it)->second.end > address) --it;
  for (; it != vmas_.end() && it->second.start < end; ++it) {
    Vma& vma = it->second;
    if (vma.start > cursor) hole = true;
    const VirtAddr from = std::max(cursor, vma.start);
    const VirtAddr to = std::min(end, vma.end);
    cursor = to;
    if (advice == sys::kMadvDontneed) {
      // Private pages go (anonymous ones read back as zero, file ones as the file);
      // shared pages keep their data in the page cache.
      unmap_pages(from, to);
    } else if (sets_access) {
      vma.access_advice = advice == sys::kMadvRandom       ? AccessAdvice::kRandom
                          : advice == sys::kMadvSequential ? AccessAdvice::kSequential
                                                           : AccessAdvice::kNormal;
    } else if (sets_flag) {
      // Existing 2 MiB pages stay under MADV_NOHUGEPAGE, as on Linux; only new faults obey.
      vma.huge_advice = advice == sys::kMadvHugepage ? HugePageAdvice::kHuge : HugePageAdvice::kNoHuge;
    }
  }
  if (cursor < end) hole = true;
  if (hole) return Errno::kENOMEM;
  return {};
}

}  // namespace ossim::kernel
