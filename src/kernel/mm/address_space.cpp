#include "kernel/mm/address_space.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ossim/sys/flags.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/page_cache.hpp"
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
  for (const auto& [start, vma] : vmas_) {
    if (PageCache* cache = cache_of(vma)) cache->remove_mapper(*this);
  }
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
  emplace_vma(std::move(vma));
  return {};
}

void AddressSpace::emplace_vma(Vma vma) {
  if (PageCache* cache = cache_of(vma)) cache->add_mapper(*this);
  const VirtAddr start = vma.start;
  vmas_.emplace(start, std::move(vma));
}

std::map<VirtAddr, Vma>::iterator AddressSpace::erase_vma(std::map<VirtAddr, Vma>::iterator it) {
  if (PageCache* cache = cache_of(it->second)) cache->remove_mapper(*this);
  return vmas_.erase(it);
}

PageCache* AddressSpace::cache_of(const Vma& vma) {
  if (vma.file) return vma.file->page_cache();
  if (vma.shared_memory) return &vma.shared_memory->cache();
  return nullptr;
}

std::uint64_t AddressSpace::cache_index(const Vma& vma, VirtAddr page) {
  const std::uint64_t base = vma.file ? vma.file_offset : vma.shared_offset;
  return (base + (page - vma.start)) / kPageBytes;
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
  emplace_vma(std::move(tail));
}

Result<VirtAddr> AddressSpace::mmap(VirtAddr hint, std::uint64_t length, int prot, int flags,
                                    std::shared_ptr<Inode> file, std::uint64_t offset, bool may_write) {
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
  vma.may_write = may_write;
  if (file) {
    vma.file = std::move(file);
    vma.file_offset = offset;
    vma.file_bytes = length;
  } else if (vma.shared) {
    vma.shared_memory = std::make_shared<SharedMemory>(kernel_.page_cache_pool());
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
    it = erase_vma(it);
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
  // The whole range must be mapped (ENOMEM otherwise) and may take the new protection
  // (EACCES), checked before changing anything.
  for (VirtAddr cursor = address; cursor < end;) {
    const Vma* vma = find_vma(cursor);
    if (vma == nullptr) return Errno::kENOMEM;
    if ((prot & sys::kProtWrite) != 0 && !vma->may_write) return Errno::kEACCES;
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
        erase_vma(heap);
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
  if (--record.refcount == 0) kernel_.tlb_shootdown().free_frame(frame);
}

void AddressSpace::unmap_pages(VirtAddr begin, VirtAddr end) {
  std::vector<VirtAddr> pages;
  table_->visit_leaves(begin, end, [&](VirtAddr page, const mmu::Mapping&) { pages.push_back(page); });
  for (VirtAddr page : pages) {
    const auto entry = table_->unmap(page);
    if (!entry) continue;
    // A store through a shared mapping made the page cache's page dirty (zap_pte_range).
    if ((*entry & pte::kDirty) != 0) {
      const Vma* vma = find_vma(page);
      if (vma != nullptr && vma->shared) {
        if (PageCache* cache = cache_of(*vma)) cache->mark_dirty(cache_index(*vma, page));
      }
    }
    // Flushed first, so that the frame is not reused while another TLB still maps it.
    flush_page(page);
    put_frame(mmu::frame_of(pte::address(*entry)));
    --resident_pages_;
  }
}

void AddressSpace::unmap_cache_pages(const PageCache& cache, std::uint64_t first_index) {
  for (const auto& [start, vma] : vmas_) {
    if (cache_of(vma) != &cache) continue;
    const std::uint64_t vma_first = cache_index(vma, vma.start);
    const std::uint64_t skip = first_index > vma_first ? first_index - vma_first : 0;
    if (skip >= vma.length() / kPageBytes) continue;
    unmap_pages(vma.start + skip * kPageBytes, vma.end);
  }
}

Status AddressSpace::msync(VirtAddr address, std::uint64_t length, int flags) {
  if (!page_aligned(address)) return Errno::kEINVAL;
  length = page_round_up(length);
  if (address >= layout::kUserEnd || length > layout::kUserEnd - address) return Errno::kENOMEM;
  const VirtAddr end = address + length;
  bool hole = false;
  VirtAddr cursor = address;
  while (cursor < end) {
    auto it = vmas_.upper_bound(cursor);
    if (it != vmas_.begin() && std::prev(it)->second.contains(cursor)) --it;
    if (it == vmas_.end() || it->second.start >= end) {
      hole = true;
      break;
    }
    const Vma& vma = it->second;
    if (vma.start > cursor) hole = true;
    const VirtAddr from = std::max(cursor, vma.start);
    const VirtAddr to = std::min(end, vma.end);
    cursor = to;
    PageCache* cache = cache_of(vma);
    if (!vma.shared || cache == nullptr) continue;
    // Move the D bits to the pages, so that the next store sets D again and is seen.
    bool cleaned = false;
    table_->visit_leaves(from, to, [&](VirtAddr page, const mmu::Mapping& mapping) {
      if ((mapping.entry & pte::kDirty) == 0) return;
      kernel_.machine().memory().write(mapping.entry_address, mapping.entry & ~pte::kDirty);
      cache->mark_dirty(cache_index(vma, page));
      cleaned = true;
    });
    if (cleaned) flush_all();
    if ((flags & sys::kMsyncSync) != 0) {
      OSSIM_TRY(cache->write_back(cache_index(vma, from), cache_index(vma, to - 1) + 1));
    }
    // kMsyncAsync would start the write-back and return: with no flusher yet, the pages
    // stay dirty until an MS_SYNC, munmap-time write-back or a future flusher takes them.
  }
  if (hole) return Errno::kENOMEM;
  return {};
}

void AddressSpace::flush_page(VirtAddr address) { kernel_.tlb_shootdown().flush(*this, tlb_cpus_, address); }

void AddressSpace::flush_all() { kernel_.tlb_shootdown().flush(*this, tlb_cpus_, std::nullopt); }

FaultOutcome AddressSpace::map_private_copy(const Vma& vma, VirtAddr page, const std::byte* source,
                                            std::uint64_t copy_bytes) {
  mmu::PhysicalMemory& memory = kernel_.machine().memory();
  const auto frame = kernel_.machine().frames().allocate(0, reinterpret_cast<std::uintptr_t>(this));
  if (!frame) return FaultOutcome::kOutOfMemory;
  std::byte* host = memory.host(mmu::address_of(*frame));
  if (copy_bytes > 0) std::memcpy(host, source, copy_bytes);
  std::memset(host + copy_bytes, 0, kPageBytes - copy_bytes);
  if (!table_->map(page, mmu::address_of(*frame), mmu::PageSize::k4K, pte_flags(vma))) {
    kernel_.machine().frames().free(*frame);
    return FaultOutcome::kOutOfMemory;
  }
  ++resident_pages_;
  return FaultOutcome::kMinor;
}

FaultOutcome AddressSpace::fault_in_cached_page(const Vma& vma, VirtAddr page, bool write) {
  PageCache& cache = *cache_of(vma);
  const std::uint64_t in_vma = page - vma.start;
  // Past file_bytes the VMA is private zeroes (a program's bss in its last data page).
  if (vma.file && !vma.shared && in_vma >= vma.file_bytes) return map_private_copy(vma, page, nullptr, 0);
  // Linux's rule: a page that starts at or past the end of the file cannot be touched; the
  // partial last page reads as zero past the end (the cache keeps that tail zero).
  if (vma.file && vma.file_offset + in_vma >= vma.file->size()) return FaultOutcome::kBus;
  auto cached = cache.get(cache_index(vma, page));
  if (!cached) return cached.error() == Errno::kENOMEM ? FaultOutcome::kOutOfMemory : FaultOutcome::kBus;
  const CachedPage& cached_page = *cached.value();
  const std::byte* bytes = cache.bytes(cached_page);
  if (!vma.shared) {
    // A page straddling file_bytes, or a first touch that writes: a private copy now
    // (Linux's do_cow_fault), so the cached page stays the file's.
    if (in_vma + kPageBytes > vma.file_bytes) return map_private_copy(vma, page, bytes, vma.file_bytes - in_vma);
    if (write) {
      const FaultOutcome copied = map_private_copy(vma, page, bytes, kPageBytes);
      if (copied == FaultOutcome::kMinor) {
        ++cow_copies_;
        ++kernel_.stats().cow_faults;
      }
      return copied;
    }
  }
  // Map the cached frame: writable for a shared VMA that allows it; read-only with the COW
  // bit for a private one, whatever its protection, so that neither a write nor a later
  // mprotect can reach the cached frame (the cache's reference keeps the refcount above 1,
  // so the COW break always copies).
  pte::Entry flags = pte_flags(vma);
  if (!vma.shared) flags = (flags & ~pte::kWritable) | pte::kCopyOnWrite;
  if (!table_->map(page, mmu::address_of(cached_page.frame), mmu::PageSize::k4K, flags)) {
    return FaultOutcome::kOutOfMemory;
  }
  get_frame(cached_page.frame);
  ++resident_pages_;
  return FaultOutcome::kMinor;
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

  if (cache_of(*vma) != nullptr) return fault_in_cached_page(*vma, page, write);
  // Anonymous private memory is demand-zero.
  return map_private_copy(*vma, page, nullptr, 0);
}

Result<std::shared_ptr<AddressSpace>> AddressSpace::fork_copy() {
  auto child = OSSIM_TRY(create(kernel_));
  for (const auto& [start, vma] : vmas_) child->emplace_vma(vma);
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
