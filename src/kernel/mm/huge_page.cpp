// Transparent huge pages: the 2 MiB side of an address space (Linux's mm/huge_memory.c).
//
//   - Fault: an eligible not-present fault maps one zeroed 2 MiB page with a PS=1 PDE,
//     when the aligned block lies wholly in the VMA and no page table is under it yet
//     (Linux's pmd_none test: a block already holding 4 KiB pages stays 4 KiB until a
//     collapse, which ossim does not model: there is no khugepaged).
//   - Split: a 2 MiB mapping is turned into 512 PTEs mapping the same frames before any
//     operation works on part of it, so it never straddles a VMA or range boundary.
//   - fork shares it copy-on-write, as one PDE on each side.
//   - Copy-on-write: a write to a shared 2 MiB page splits it and copies the one 4 KiB
//     page written, as Linux does since 5.8 ("thp: change CoW semantics for anon-THP"):
//     copying 2 MiB on the fault costs 512 times the latency and memory of a 4 KiB copy
//     for data the writer may never touch. A 2 MiB page no one else maps any more is made
//     writable in place, keeping its TLB reach.
//
// Each of the 512 frames holds one reference per mapping (address_space.hpp), so mapping,
// forking and unmapping a 2 MiB page touch 512 counts, and splitting touches none.

#include <cstring>

#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"

namespace ossim::kernel {

namespace pte = mmu::pte;
using mmu::VirtAddr;

namespace {

constexpr std::uint64_t kHugeBytes = mmu::page_bytes(mmu::PageSize::k2M);
constexpr unsigned kHugeOrder = mmu::page_shift(mmu::PageSize::k2M) - mmu::kPageShift;  // 9
constexpr std::uint64_t kFramesPerHuge = std::uint64_t{1} << kHugeOrder;          // 512

}  // namespace

bool AddressSpace::huge_eligible(const Vma& vma) const {
  if (vma.shared || vma.file || vma.shared_memory) return false;
  switch (kernel_.config().memory.transparent_hugepages) {
    case TransparentHugepages::kNever: return false;
    case TransparentHugepages::kMadvise: return vma.huge_advice == HugePageAdvice::kHuge;
    case TransparentHugepages::kAlways: return vma.huge_advice != HugePageAdvice::kNoHuge;
  }
  return false;
}

std::optional<FaultOutcome> AddressSpace::fault_in_huge_page(const Vma& vma, VirtAddr address) {
  const VirtAddr block = address & ~(kHugeBytes - 1);
  if (block < vma.start || vma.end - block < kHugeBytes) return std::nullopt;
  if (!table_->slot_empty(block, mmu::PageSize::k2M)) return std::nullopt;
  mmu::FrameAllocator& frames = kernel_.machine().frames();
  const auto first = frames.allocate(kHugeOrder, reinterpret_cast<std::uintptr_t>(this));
  if (!first) {
    ++kernel_.stats().thp_fault_fallback;
    return std::nullopt;
  }
  kernel_.machine().memory().zero(mmu::address_of(*first), kHugeBytes);
  if (!table_->map(block, mmu::address_of(*first), mmu::PageSize::k2M, pte_flags(vma))) {
    frames.free(*first, kHugeOrder);
    ++kernel_.stats().thp_fault_fallback;
    return std::nullopt;
  }
  frames.split(*first, kHugeOrder);
  resident_pages_ += kFramesPerHuge;
  ++kernel_.stats().thp_fault_alloc;
  return FaultOutcome::kMinor;
}

Status AddressSpace::split_huge_page_at(VirtAddr address) {
  if ((address & (kHugeBytes - 1)) == 0) return {};
  const auto mapping = table_->lookup(address);
  if (!mapping || mapping->size != mmu::PageSize::k2M) return {};
  if (!table_->split_large_page(address)) return Errno::kENOMEM;
  ++kernel_.stats().thp_split_pmd;
  flush_page(address);
  return {};
}

void AddressSpace::unmap_huge_page(VirtAddr block) {
  const auto entry = table_->unmap(block);
  if (!entry) return;
  const mmu::FrameNumber first = mmu::frame_of(pte::address(*entry));
  for (mmu::FrameNumber frame = first; frame < first + kFramesPerHuge; ++frame) put_frame(frame);
  resident_pages_ -= kFramesPerHuge;
  flush_page(block);
}

bool AddressSpace::fork_huge_page(AddressSpace& child, VirtAddr block, const mmu::Mapping& mapping) {
  // Only anonymous private memory has 2 MiB pages: both sides lose write access.
  const pte::Entry entry = (mapping.entry & ~pte::kWritable) | pte::kCopyOnWrite;
  const pte::Entry flags = entry & ~(pte::kAddressMask | pte::kPresent | pte::kPageSize);
  if (!child.table_->map(block, mapping.page_base, mmu::PageSize::k2M, flags)) return false;
  kernel_.machine().memory().write(mapping.entry_address, entry);
  const mmu::FrameNumber first = mmu::frame_of(mapping.page_base);
  for (mmu::FrameNumber frame = first; frame < first + kFramesPerHuge; ++frame) get_frame(frame);
  child.resident_pages_ += kFramesPerHuge;
  return true;
}

std::optional<FaultOutcome> AddressSpace::break_huge_cow(VirtAddr address, const mmu::Mapping& mapping) {
  mmu::PhysicalMemory& memory = kernel_.machine().memory();
  const mmu::FrameNumber first = mmu::frame_of(mapping.page_base);
  bool exclusive = true;
  for (mmu::FrameNumber frame = first; frame < first + kFramesPerHuge && exclusive; ++frame) {
    exclusive = memory.frame(frame).refcount == 1;
  }
  if (exclusive) {
    const pte::Entry entry = (mapping.entry | pte::kWritable | pte::kDirty | pte::kAccessed) & ~pte::kCopyOnWrite;
    memory.write(mapping.entry_address, entry);
    flush_page(address);
    return FaultOutcome::kMinor;
  }
  // Split (the PTEs keep the COW bit) and start the fault over: the 4 KiB path copies the
  // page written.
  if (!table_->split_large_page(address)) return FaultOutcome::kOutOfMemory;
  ++kernel_.stats().thp_split_pmd;
  flush_page(address);
  return std::nullopt;
}

}  // namespace ossim::kernel
