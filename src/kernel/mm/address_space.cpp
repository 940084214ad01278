#include "kernel/mm/address_space.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ossim/sys/flags.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/shared_memory.hpp"

namespace ossim::kernel {

namespace pte = mmu::pte;
using mmu::kPageBytes;
using mmu::VirtAddr;

namespace {

constexpr bool page_aligned(std::uint64_t value) { return (value & (kPageBytes - 1)) == 0; }
constexpr std::uint64_t page_round_up(std::uint64_t value) { return (value + kPageBytes - 1) & ~(kPageBytes - 1); }

}  // namespace

std::string_view vma_kind_name(VmaKind kind) {
  switch (kind) {
    case VmaKind::kText: return "text";
    case VmaKind::kData: return "data";
    case VmaKind::kBss: return "bss";
    case VmaKind::kHeap: return "heap";
    case VmaKind::kStack: return "stack";
    case VmaKind::kMmap: return "mmap";
  }
  return "?";
}

Result<std::shared_ptr<AddressSpace>> AddressSpace::create(KernelCore& kernel) {
  std::unique_ptr<mmu::PageTable> table;
  try {
    table = std::make_unique<mmu::PageTable>(kernel.machine().memory(), kernel.machine().frames());
  } catch (const std::bad_alloc&) {
    return Errno::kENOMEM;
  }
  return std::shared_ptr<AddressSpace>(new AddressSpace(kernel, std::move(table), kernel.allocate_pcid()));
}

AddressSpace::AddressSpace(KernelCore& kernel, std::unique_ptr<mmu::PageTable> table, std::uint16_t pcid)
    : kernel_(kernel), table_(std::move(table)), pcid_(pcid) {}

AddressSpace::~AddressSpace() {
  unmap_pages(0, layout::kUserEnd);
  // Stale translations tagged with our PCID must not outlive us: the PCID is reused.
  for (unsigned cpu = 0; cpu < kernel_.machine().cpu_count(); ++cpu) {
    if ((tlb_cpus_ >> (cpu % 64)) & 1) {
      kernel_.machine().cpu(cpu).mmu().invpcid(mmu::InvpcidType::kSingleContext, pcid_, 0);
    }
  }
  kernel_.release_pcid(pcid_);
  kernel_.scheduler().forget_mm(this);
}

std::uint64_t AddressSpace::cr3_value(bool use_pcid) const {
  // PCID 0 is shared when the 4095 others are taken: it keeps nothing across switches.
  if (!use_pcid || pcid_ == 0) return table_->root();
  return table_->root() | pcid_ | cpu::kCr3NoFlush;
}

std::uint64_t AddressSpace::virtual_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [start, vma] : vmas_) total += vma.length();
  return total;
}

// ---- VMAs -----------------------------------------------------------------------------------

const Vma* AddressSpace::find_vma(VirtAddr address) const {
  auto it = vmas_.upper_bound(address);
  if (it == vmas_.begin()) return nullptr;
  --it;
  return it->second.contains(address) ? &it->second : nullptr;
}

Status AddressSpace::insert_vma(Vma vma) {
  if (!page_aligned(vma.start) || !page_aligned(vma.end) || vma.start >= vma.end || vma.end > layout::kUserEnd) {
    return Errno::kEINVAL;
  }
  auto next = vmas_.lower_bound(vma.start);
  if (next != vmas_.end() && next->second.start < vma.end) return Errno::kEEXIST;
  if (next != vmas_.begin() && std::prev(next)->second.end > vma.start) return Errno::kEEXIST;
  const VirtAddr start = vma.start;
  vmas_.emplace(start, std::move(vma));
  return {};
}

Result<VirtAddr> AddressSpace::find_free_area(std::uint64_t length) const {
  VirtAddr ceiling = layout::kMmapTop;
  // Walk the VMAs below the ceiling from the top; the first gap that fits wins.
  auto it = vmas_.lower_bound(ceiling);
  while (true) {
    const VirtAddr floor = it == vmas_.begin() ? layout::kMmapBottom : std::prev(it)->second.end;
    if (ceiling >= floor && ceiling - floor >= length) return ceiling - length;
    if (it == vmas_.begin()) return Errno::kENOMEM;
    --it;
    ceiling = std::min(ceiling, it->second.start);
  }
}

void AddressSpace::split_at(VirtAddr address) {
  auto it = vmas_.upper_bound(address);
  if (it == vmas_.begin()) return;
  --it;
  Vma& vma = it->second;
  if (!vma.contains(address) || vma.start == address) return;
  Vma tail = vma;
  tail.start = address;
  const std::uint64_t head_bytes = address - vma.start;
  tail.file_offset = vma.file_offset + head_bytes;
  tail.file_bytes = vma.file_bytes > head_bytes ? vma.file_bytes - head_bytes : 0;
  tail.shared_offset = vma.shared_offset + head_bytes;
  vma.end = address;
  vma.file_bytes = std::min(vma.file_bytes, head_bytes);
  vmas_.emplace(address, std::move(tail));
}

Result<VirtAddr> AddressSpace::mmap(VirtAddr hint, std::uint64_t length, int prot, int flags,
                                    std::shared_ptr<Inode> file, std::uint64_t offset) {
  if (length == 0 || !page_aligned(offset)) return Errno::kEINVAL;
  if (length > layout::kUserEnd) return Errno::kENOMEM;
  length = page_round_up(length);
  const bool fixed = (flags & (sys::kMapFixed | sys::kMapFixedNoReplace)) != 0;
  VirtAddr address = 0;
  if (fixed) {
    if (!page_aligned(hint)) return Errno::kEINVAL;
    if (hint < layout::kMmapBottom || hint > layout::kUserEnd - length) return Errno::kENOMEM;
    address = hint;
    const bool overlaps = [&] {
      auto next = vmas_.lower_bound(address);
      if (next != vmas_.end() && next->second.start < address + length) return true;
      return next != vmas_.begin() && std::prev(next)->second.end > address;
    }();
    if (overlaps) {
      if ((flags & sys::kMapFixedNoReplace) != 0) return Errno::kEEXIST;
      OSSIM_TRY(munmap(address, length));
    }
  } else {
    const VirtAddr aligned_hint = hint & ~(kPageBytes - 1);
    Vma probe;
    if (aligned_hint >= layout::kMmapBottom && aligned_hint <= layout::kUserEnd - length &&
        find_vma(aligned_hint) == nullptr) {
      auto next = vmas_.lower_bound(aligned_hint);
      if (next == vmas_.end() || next->second.start >= aligned_hint + length) address = aligned_hint;
    }
    if (address == 0) address = OSSIM_TRY(find_free_area(length));
  }
  Vma vma;
  vma.start = address;
  vma.end = address + length;
  vma.prot = prot & (sys::kProtRead | sys::kProtWrite | sys::kProtExec);
  vma.shared = (flags & sys::kMapShared) != 0;
  vma.kind = VmaKind::kMmap;
  if (file) {
    vma.file = std::move(file);
    vma.file_offset = offset;
    vma.file_bytes = length;
  } else if (vma.shared) {
    vma.shared_memory = std::make_shared<SharedMemory>(kernel_.machine().memory(), kernel_.machine().frames());
  }
  OSSIM_TRY(insert_vma(std::move(vma)));
  return address;
}

Status AddressSpace::munmap(VirtAddr address, std::uint64_t length) {
  if (!page_aligned(address) || length == 0 || address >= layout::kUserEnd) return Errno::kEINVAL;
  length = page_round_up(length);
  if (length > layout::kUserEnd - address) return Errno::kEINVAL;
  const VirtAddr end = address + length;
  split_at(address);
  split_at(end);
  unmap_pages(address, end);
  for (auto it = vmas_.lower_bound(address); it != vmas_.end() && it->second.start < end;) {
    it = vmas_.erase(it);
  }
  return {};
}

Status AddressSpace::mprotect(VirtAddr address, std::uint64_t length, int prot) {
  if (!page_aligned(address)) return Errno::kEINVAL;
  if ((prot & ~(sys::kProtRead | sys::kProtWrite | sys::kProtExec)) != 0) return Errno::kEINVAL;
  length = page_round_up(length);
  if (length == 0) return {};
  if (address >= layout::kUserEnd || length > layout::kUserEnd - address) return Errno::kENOMEM;
  const VirtAddr end = address + length;
  // The whole range must be mapped (ENOMEM otherwise), checked before changing anything.
  for (VirtAddr cursor = address; cursor < end;) {
    const Vma* vma = find_vma(cursor);
    if (vma == nullptr) return Errno::kENOMEM;
    cursor = vma->end;
  }
  split_at(address);
  split_at(end);
  for (auto it = vmas_.lower_bound(address); it != vmas_.end() && it->second.start < end; ++it) {
    Vma& vma = it->second;
    vma.prot = prot;
    const pte::Entry flags = pte_flags(vma);
    table_->visit_leaves(vma.start, vma.end, [&](VirtAddr page, const mmu::Mapping& mapping) {
      pte::Entry entry = (mapping.entry & (pte::kAddressMask | pte::kAccessed | pte::kDirty | pte::kCopyOnWrite)) |
                         pte::kPresent | flags;
      // A private page still shared copy-on-write stays read-only until its first write.
      if ((entry & pte::kCopyOnWrite) != 0) entry &= ~pte::kWritable;
      kernel_.machine().memory().write(mapping.entry_address, entry);
      (void)page;
    });
  }
  flush_all();
  return {};
}

VirtAddr AddressSpace::brk(VirtAddr requested) {
  if (requested < brk_start_) return brk_;
  const VirtAddr old_end = page_round_up(brk_);
  const VirtAddr new_end = page_round_up(requested);
  if (new_end > old_end) {
    // The heap may not run into the next mapping.
    auto next = vmas_.lower_bound(old_end);
    if (next != vmas_.end() && next->second.start < new_end) return brk_;
    if (new_end > layout::kUserEnd) return brk_;
    auto heap = vmas_.find(page_round_up(brk_start_));
    if (heap != vmas_.end() && heap->second.kind == VmaKind::kHeap) {
      heap->second.end = new_end;
    } else {
      Vma vma;
      vma.start = page_round_up(brk_start_);
      vma.end = new_end;
      vma.prot = sys::kProtRead | sys::kProtWrite;
      vma.kind = VmaKind::kHeap;
      if (!insert_vma(std::move(vma))) return brk_;
    }
  } else if (new_end < old_end) {
    unmap_pages(new_end, old_end);
    auto heap = vmas_.find(page_round_up(brk_start_));
    if (heap != vmas_.end() && heap->second.kind == VmaKind::kHeap) {
      if (new_end <= heap->second.start) {
        vmas_.erase(heap);
      } else {
        heap->second.end = new_end;
      }
    }
  }
  brk_ = requested;
  return brk_;
}

// ---- Pages ----------------------------------------------------------------------------------

pte::Entry AddressSpace::pte_flags(const Vma& vma) {
  // A PROT_NONE page keeps its frame but loses the user bit, so every user access faults
  // (and the fault handler, seeing PROT_NONE, signals SIGSEGV).
  pte::Entry flags = pte::kPresent | (vma.prot == sys::kProtNone ? 0 : pte::kUser);
  if ((vma.prot & sys::kProtWrite) != 0) flags |= pte::kWritable;
  if ((vma.prot & sys::kProtExec) == 0) flags |= pte::kNoExecute;
  return flags;
}

void AddressSpace::get_frame(mmu::FrameNumber frame) { ++kernel_.machine().memory().frame(frame).refcount; }

void AddressSpace::put_frame(mmu::FrameNumber frame) {
  mmu::Frame& record = kernel_.machine().memory().frame(frame);
  if (--record.refcount == 0) kernel_.machine().frames().free(frame);
}

void AddressSpace::unmap_pages(VirtAddr begin, VirtAddr end) {
  std::vector<VirtAddr> pages;
  table_->visit_leaves(begin, end, [&](VirtAddr page, const mmu::Mapping&) { pages.push_back(page); });
  for (VirtAddr page : pages) {
    const auto entry = table_->unmap(page);
    if (!entry) continue;
    put_frame(mmu::frame_of(pte::address(*entry)));
    --resident_pages_;
    flush_page(page);
  }
}

void AddressSpace::flush_page(VirtAddr address) {
  for (unsigned cpu = 0; cpu < kernel_.machine().cpu_count(); ++cpu) {
    if ((tlb_cpus_ >> (cpu % 64)) & 1) {
      kernel_.machine().cpu(cpu).mmu().invpcid(mmu::InvpcidType::kIndividualAddress, pcid_, address);
    }
  }
}

void AddressSpace::flush_all() {
  for (unsigned cpu = 0; cpu < kernel_.machine().cpu_count(); ++cpu) {
    if ((tlb_cpus_ >> (cpu % 64)) & 1) {
      kernel_.machine().cpu(cpu).mmu().invpcid(mmu::InvpcidType::kSingleContext, pcid_, 0);
    }
  }
}

bool AddressSpace::fill_page(const Vma& vma, VirtAddr page, mmu::FrameNumber frame) {
  mmu::PhysicalMemory& memory = kernel_.machine().memory();
  std::byte* host = memory.host(mmu::address_of(frame));
  std::memset(host, 0, kPageBytes);
  if (!vma.file) return true;
  const std::uint64_t in_vma = page - vma.start;
  if (in_vma >= vma.file_bytes) return true;
  const std::uint64_t bytes = std::min<std::uint64_t>(kPageBytes, vma.file_bytes - in_vma);
  const auto read = vma.file->read_at(vma.file_offset + in_vma, std::span<std::byte>(host, bytes));
  return read.ok();
}

FaultOutcome AddressSpace::handle_fault(VirtAddr address, std::uint32_t error_code) {
  constexpr std::uint32_t kPresentBit = 1, kWriteBit = 2, kFetchBit = 16;
  const Vma* vma = find_vma(address);
  if (vma == nullptr) return FaultOutcome::kSegv;
  const bool write = (error_code & kWriteBit) != 0;
  const bool fetch = (error_code & kFetchBit) != 0;
  if (write && (vma->prot & sys::kProtWrite) == 0) return FaultOutcome::kSegv;
  if (fetch && (vma->prot & sys::kProtExec) == 0) return FaultOutcome::kSegv;
  if (!write && !fetch && vma->prot == sys::kProtNone) return FaultOutcome::kSegv;
  const VirtAddr page = address & ~(kPageBytes - 1);
  mmu::PhysicalMemory& memory = kernel_.machine().memory();

  if ((error_code & kPresentBit) != 0) {
    const auto mapping = table_->lookup(page);
    if (!mapping) return FaultOutcome::kSegv;
    if (!write || (mapping->entry & pte::kCopyOnWrite) == 0) {
      // The PTE already allows what the VMA allows; another CPU's stale TLB entry or a
      // spurious fault. Flushing makes the retry re-walk.
      flush_page(page);
      return FaultOutcome::kMinor;
    }
    // Copy-on-write break.
    const mmu::FrameNumber old_frame = mmu::frame_of(pte::address(mapping->entry));
    pte::Entry entry = (mapping->entry | pte::kWritable | pte::kDirty | pte::kAccessed) & ~pte::kCopyOnWrite;
    if (memory.frame(old_frame).refcount > 1) {
      const auto fresh = kernel_.machine().frames().allocate(0, reinterpret_cast<std::uintptr_t>(this));
      if (!fresh) return FaultOutcome::kOutOfMemory;
      std::memcpy(memory.host(mmu::address_of(*fresh)), memory.host(mmu::address_of(old_frame)), kPageBytes);
      entry = (entry & ~pte::kAddressMask) | mmu::address_of(*fresh);
      put_frame(old_frame);
      ++cow_copies_;
      ++kernel_.stats().cow_faults;
    }
    memory.write(mapping->entry_address, entry);
    flush_page(page);
    return FaultOutcome::kMinor;
  }

  if (vma->shared_memory) {
    // Shared anonymous: map the object's page, whoever touched it first.
    const auto shared = vma->shared_memory->page((vma->shared_offset + (page - vma->start)) / kPageBytes);
    if (!shared || !table_->map(page, mmu::address_of(*shared), mmu::PageSize::k4K, pte_flags(*vma))) {
      return FaultOutcome::kOutOfMemory;
    }
    get_frame(*shared);
    ++resident_pages_;
    return FaultOutcome::kMinor;
  }
  const auto frame = kernel_.machine().frames().allocate(0, reinterpret_cast<std::uintptr_t>(this));
  if (!frame) return FaultOutcome::kOutOfMemory;
  if (!fill_page(*vma, page, *frame) ||
      !table_->map(page, mmu::address_of(*frame), mmu::PageSize::k4K, pte_flags(*vma))) {
    kernel_.machine().frames().free(*frame);
    return FaultOutcome::kOutOfMemory;
  }
  ++resident_pages_;
  return FaultOutcome::kMinor;
}

Result<std::shared_ptr<AddressSpace>> AddressSpace::fork_copy() {
  auto child = OSSIM_TRY(create(kernel_));
  child->vmas_ = vmas_;
  child->brk_start_ = brk_start_;
  child->brk_ = brk_;
  mmu::PhysicalMemory& memory = kernel_.machine().memory();
  bool out_of_memory = false;
  for (const auto& [start, vma] : vmas_) {
    table_->visit_leaves(vma.start, vma.end, [&](VirtAddr page, const mmu::Mapping& mapping) {
      if (out_of_memory) return;
      pte::Entry entry = mapping.entry;
      if (!vma.shared) {
        // Both sides lose write access until their first write.
        entry = (entry & ~pte::kWritable) | pte::kCopyOnWrite;
        memory.write(mapping.entry_address, entry);
      }
      const pte::Entry flags = entry & ~pte::kAddressMask & ~pte::kPresent;
      if (!child->table_->map(page, pte::address(entry), mmu::PageSize::k4K, flags)) {
        out_of_memory = true;
        return;
      }
      get_frame(mmu::frame_of(pte::address(entry)));
      ++child->resident_pages_;
    });
    if (out_of_memory) return Errno::kENOMEM;
  }
  flush_all();
  return child;
}

}  // namespace ossim::kernel
