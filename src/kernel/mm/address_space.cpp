#include "kernel/mm/address_space.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ossim/sys/flags.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/page_cache.hpp"
#include "kernel/mm/reclaim.hpp"
#include "kernel/mm/resident_set.hpp"
#include "kernel/mm/shared_memory.hpp"
#include "kernel/mm/swap_area.hpp"
#include "kernel/mm/swap_entry.hpp"

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

const Vma* AddressSpace::find_vma_in_tree(VirtAddr address) const {
  auto it = vmas_.upper_bound(address);
  if (it == vmas_.begin()) return nullptr;
  --it;
  if (!it->second.contains(address)) return nullptr;
  last_found_vma_ = &it->second;
  return last_found_vma_;
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
  if (&it->second == last_found_vma_) last_found_vma_ = nullptr;
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
  OSSIM_TRY(split_huge_page_at(address));
  OSSIM_TRY(split_huge_page_at(end));
  split_at(address);
  split_at(end);
  // Shared file pages with storage behind them are written back once unmapped (their D
  // bits move to the cache as the PTEs go); the files stay alive until then.
  struct WriteBack {
    std::shared_ptr<Inode> file;
    std::uint64_t first = 0;
    std::uint64_t end = 0;
  };
  std::vector<WriteBack> write_backs;
  for (auto it = vmas_.lower_bound(address); it != vmas_.end() && it->second.start < end; ++it) {
    const Vma& vma = it->second;
    if (vma.shared && vma.file && vma.file->page_cache()->has_storage()) {
      write_backs.push_back({vma.file, cache_index(vma, vma.start), cache_index(vma, vma.end - kPageBytes) + 1});
    }
  }
  unmap_pages(address, end);
  for (auto it = vmas_.lower_bound(address); it != vmas_.end() && it->second.start < end;) {
    it = erase_vma(it);
  }
  for (const WriteBack& range : write_backs) OSSIM_TRY(range.file->page_cache()->write_back(range.first, range.end));
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
  OSSIM_TRY(split_huge_page_at(address));
  OSSIM_TRY(split_huge_page_at(end));
  split_at(address);
  split_at(end);
  for (auto it = vmas_.lower_bound(address); it != vmas_.end() && it->second.start < end; ++it) {
    Vma& vma = it->second;
    vma.prot = prot;
    const pte::Entry flags = pte_flags(vma);
    table_->visit_leaves(vma.start, vma.end, [&](VirtAddr page, const mmu::Mapping& mapping) {
      pte::Entry entry = (mapping.entry & (pte::kAddressMask | pte::kAccessed | pte::kDirty | pte::kCopyOnWrite |
                                           pte::kPageSize)) |
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
    if (!split_huge_page_at(new_end)) return brk_;
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

void AddressSpace::get_frame(mmu::FrameNumber frame) { ++kernel_.machine().memory().frame(frame).refcount; }

void AddressSpace::put_frame(mmu::FrameNumber frame) {
  mmu::Frame& record = kernel_.machine().memory().frame(frame);
  if (--record.refcount == 0) {
    kernel_.reclaimer().untrack(frame);
    kernel_.tlb_shootdown().free_frame(frame);
  }
}

void AddressSpace::unmap_pages(VirtAddr begin, VirtAddr end) {
  std::vector<VirtAddr> pages, huge_pages;
  table_->visit_leaves(begin, end, [&](VirtAddr page, const mmu::Mapping& mapping) {
    (mapping.size == mmu::PageSize::k4K ? pages : huge_pages).push_back(page);
  });
  for (VirtAddr block : huge_pages) unmap_huge_page(block);
  for (VirtAddr page : pages) {
    const auto entry = table_->unmap(page);
    if (!entry) continue;
    const Vma* vma = find_vma(page);
    // A store through a shared mapping made the page cache's page dirty (zap_pte_range).
    if ((*entry & pte::kDirty) != 0 && vma != nullptr && vma->shared) {
      if (PageCache* cache = cache_of(*vma)) cache->mark_dirty(cache_index(*vma, page));
    }
    const mmu::FrameNumber frame = mmu::frame_of(pte::address(*entry));
    note_unmapped(vma, page, frame);
    // Flushed first, so that the frame is not reused while another TLB still maps it.
    flush_page(page);
    put_frame(frame);
    --resident_pages_;
  }
  if (swapped_pages_ == 0) return;
  std::vector<std::pair<VirtAddr, pte::Entry>> swapped;
  table_->visit_absent(begin, end, [&](VirtAddr page, pte::Entry entry) { swapped.emplace_back(page, entry); });
  for (const auto& [page, entry] : swapped) {
    if (!swap_entry::is_swap(entry)) continue;
    (void)table_->clear_absent(page);
    kernel_.swap_area()->release(swap_entry::slot_of(entry));
    --swapped_pages_;
  }
}

void AddressSpace::note_mapped(const Vma& vma, VirtAddr page, mmu::FrameNumber frame, bool write) {
  if (vma.resident_set) {
    vma.resident_set->policy->on_fault(page / kPageBytes, write);
    vma.resident_set->last_fault = page;
    return;
  }
  kernel_.reclaimer().track(frame, *this, page, write);
}

void AddressSpace::note_unmapped(const Vma* vma, VirtAddr page, mmu::FrameNumber frame) {
  if (vma != nullptr && vma->resident_set) {
    vma->resident_set->policy->on_free(page / kPageBytes);
    return;
  }
  kernel_.reclaimer().untrack_mapping(frame, *this, page);
}

void AddressSpace::unmap_cache_frame(PageCache& cache, std::uint64_t index, mmu::FrameNumber frame) {
  for (const auto& [start, vma] : vmas_) {
    if (cache_of(vma) != &cache) continue;
    const std::uint64_t vma_first = cache_index(vma, vma.start);
    if (index < vma_first || index - vma_first >= vma.length() / kPageBytes) continue;
    const VirtAddr page = vma.start + (index - vma_first) * kPageBytes;
    const auto mapping = table_->lookup(page);
    if (!mapping || mmu::frame_of(mapping->page_base) != frame) continue;
    (void)table_->unmap(page);
    if ((mapping->entry & pte::kDirty) != 0) cache.mark_dirty(index);
    flush_page(page);  // before the frame may go, as in unmap_pages
    put_frame(frame);
    --resident_pages_;
  }
}

bool AddressSpace::test_and_clear_cache_accessed(const PageCache& cache, std::uint64_t index, bool* dirty) {
  bool referenced = false;
  for (const auto& [start, vma] : vmas_) {
    if (cache_of(vma) != &cache) continue;
    const std::uint64_t vma_first = cache_index(vma, vma.start);
    if (index < vma_first || index - vma_first >= vma.length() / kPageBytes) continue;
    bool page_dirty = false;
    referenced = test_and_clear_accessed(vma.start + (index - vma_first) * kPageBytes, &page_dirty) || referenced;
    *dirty = *dirty || page_dirty;
  }
  return referenced;
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

mmu::FrameNumber AddressSpace::take_frame(FaultContext& fault) {
  if (fault.spare) {
    const mmu::FrameNumber frame = *fault.spare;
    fault.spare.reset();
    return frame;
  }
  bool slept = false;
  const mmu::FrameNumber frame =
      kernel_.reclaimer().allocate(fault.task, reinterpret_cast<std::uintptr_t>(this), &slept).value_or(kNoFrame);
  fault.retry = frame != kNoFrame && slept;
  if (!fault.retry) [[likely]] return frame;
  fault.spare = frame;
  return kNoFrame;
}

std::optional<FaultOutcome> AddressSpace::map_private_copy(FaultContext& fault, const Vma& vma, VirtAddr page,
                                                           const std::byte* source, std::uint64_t copy_bytes) {
  const mmu::FrameNumber frame = take_frame(fault);
  if (frame == kNoFrame) return fault.retry ? std::nullopt : std::optional(FaultOutcome::kOutOfMemory);
  mmu::PhysicalMemory& memory = kernel_.machine().memory();
  std::byte* host = memory.host(mmu::address_of(frame));
  if (copy_bytes > 0) std::memcpy(host, source, copy_bytes);
  std::memset(host + copy_bytes, 0, kPageBytes - copy_bytes);
  if (!table_->map(page, mmu::address_of(frame), mmu::PageSize::k4K, pte_flags(vma))) {
    put_frame(frame);
    return FaultOutcome::kOutOfMemory;
  }
  ++resident_pages_;
  note_mapped(vma, page, frame, fault.write);
  return FaultOutcome::kMinor;
}

std::optional<FaultOutcome> AddressSpace::fault_in_cached_page(FaultContext& fault, const Vma& vma, VirtAddr page) {
  const bool write = fault.write;
  PageCache& cache = *cache_of(vma);
  const std::uint64_t in_vma = page - vma.start;
  // Past file_bytes the VMA is private zeroes (a program's bss in its last data page).
  if (vma.file && !vma.shared && in_vma >= vma.file_bytes) return map_private_copy(fault, vma, page, nullptr, 0);
  // Linux's rule: a page that starts at or past the end of the file cannot be touched; the
  // partial last page reads as zero past the end (the cache keeps that tail zero).
  if (vma.file && vma.file_offset + in_vma >= vma.file->size()) return FaultOutcome::kBus;
  const std::uint64_t index = cache_index(vma, page);
  const CachedPage* known = cache.find(index);
  const bool reads_storage = cache.has_storage() && (known == nullptr || known->io_in_flight);
  // A major fault reads ahead (Linux's read-around, here forward) within the file: not
  // at all under MADV_RANDOM, twice as far under MADV_SEQUENTIAL.
  const std::uint64_t file_pages = vma.file ? (vma.file->size() + kPageBytes - 1) / kPageBytes : index + 1;
  const std::uint64_t window = vma.access_advice == AccessAdvice::kRandom       ? 1
                               : vma.access_advice == AccessAdvice::kSequential ? 2 * PageCache::kReadaheadPages
                                                                                : PageCache::kReadaheadPages;
  auto cached = cache.get(index, std::min(file_pages, index + window));
  if (!cached) return cached.error() == Errno::kENOMEM ? FaultOutcome::kOutOfMemory : FaultOutcome::kBus;
  if (reads_storage) {
    // The task slept for the page (a major fault): what the fault looked up may be stale.
    fault.did_io = true;
    return std::nullopt;
  }
  const CachedPage& cached_page = *cached.value();
  const std::byte* bytes = cache.bytes(cached_page);
  if (!vma.shared) {
    // A page straddling file_bytes, or a first touch that writes: a private copy now
    // (Linux's do_cow_fault), so the cached page stays the file's.
    if (in_vma + kPageBytes > vma.file_bytes) return map_private_copy(fault, vma, page, bytes, vma.file_bytes - in_vma);
    if (write) {
      const auto copied = map_private_copy(fault, vma, page, bytes, kPageBytes);
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

FaultOutcome AddressSpace::handle_fault(Task& task, VirtAddr address, std::uint32_t error_code) {
  FaultContext fault{task};
  std::optional<FaultOutcome> outcome;
  while (!(outcome = fault_step(fault, address, error_code))) {
    fault.retry = false;
  }
  if (fault.spare) put_frame(*fault.spare);
  if (*outcome == FaultOutcome::kMinor && fault.did_io) return FaultOutcome::kMajor;
  return *outcome;
}

std::optional<FaultOutcome> AddressSpace::fault_step(FaultContext& fault, VirtAddr address, std::uint32_t error_code) {
  constexpr std::uint32_t kPresentBit = 1, kWriteBit = 2, kFetchBit = 16;
  const Vma* vma = find_vma(address);
  if (vma == nullptr) return FaultOutcome::kSegv;
  const bool write = (error_code & kWriteBit) != 0;
  const bool fetch = (error_code & kFetchBit) != 0;
  fault.write = write;
  if (write && (vma->prot & sys::kProtWrite) == 0) return FaultOutcome::kSegv;
  if (fetch && (vma->prot & sys::kProtExec) == 0) return FaultOutcome::kSegv;
  if (!write && !fetch && vma->prot == sys::kProtNone) return FaultOutcome::kSegv;
  const VirtAddr page = address & ~(kPageBytes - 1);
  mmu::PhysicalMemory& memory = kernel_.machine().memory();

  if ((error_code & kPresentBit) != 0) {
    const auto mapping = table_->lookup(page);
    if (!mapping) return std::nullopt;  // unmapped while the fault slept: start over
    if (!write || (mapping->entry & pte::kCopyOnWrite) == 0) {
      // The PTE already allows what the VMA allows: this CPU's TLB held a stale entry (a
      // spurious fault). Invalidating it here makes the retry re-walk; other CPUs are
      // not involved (Linux's flush_tlb_fix_spurious_fault is local too).
      fault.task.ctx().cpu().mmu().invpcid(mmu::InvpcidType::kIndividualAddress, pcid_, page);
      return FaultOutcome::kMinor;
    }
    if (mapping->size == mmu::PageSize::k2M) return break_huge_cow(address, *mapping);
    // Copy-on-write break.
    const mmu::FrameNumber old_frame = mmu::frame_of(pte::address(mapping->entry));
    pte::Entry entry = (mapping->entry | pte::kWritable | pte::kDirty | pte::kAccessed) & ~pte::kCopyOnWrite;
    if (memory.frame(old_frame).refcount > 1) {
      const mmu::FrameNumber fresh = take_frame(fault);
      if (fresh == kNoFrame) return fault.retry ? std::nullopt : std::optional(FaultOutcome::kOutOfMemory);
      std::memcpy(memory.host(mmu::address_of(fresh)), memory.host(mmu::address_of(old_frame)), kPageBytes);
      entry = (entry & ~pte::kAddressMask) | mmu::address_of(fresh);
      note_unmapped(vma, page, old_frame);
      put_frame(old_frame);
      ++cow_copies_;
      ++kernel_.stats().cow_faults;
      memory.write(mapping->entry_address, entry);
      note_mapped(*vma, page, fresh, true);
    } else {
      // No one else maps the frame any more: it is this mapping's own again.
      memory.write(mapping->entry_address, entry);
      if (!vma->resident_set) kernel_.reclaimer().track(old_frame, *this, page, true);
    }
    flush_page(page);
    return FaultOutcome::kMinor;
  }

  if (vma->resident_set) {
    const auto room = make_room(fault, *vma);
    if (room != FaultOutcome::kMinor) return room;
  }
  // A swap entry can only be there if some page of ours is swapped out (which spares the
  // common demand-zero fault a second walk of the page table).
  if (swapped_pages_ > 0) {
    if (const auto entry = table_->absent_entry(page); entry && swap_entry::is_swap(*entry)) {
      return swap_in(fault, page, *entry);
    }
  }
  if (cache_of(*vma) != nullptr) return fault_in_cached_page(fault, *vma, page);
  // Anonymous private memory is demand-zero, in a 2 MiB page when it may (never in a
  // capped region, whose pages are counted one by one).
  if (!vma->resident_set && huge_eligible(*vma)) {
    if (const auto huge = fault_in_huge_page(*vma, address)) return *huge;
  }
  return map_private_copy(fault, *vma, page, nullptr, 0);
}

std::optional<FaultOutcome> AddressSpace::make_room(FaultContext& fault, const Vma& vma) {
  const std::shared_ptr<ResidentSet> region = vma.resident_set;  // the VMA may go while we sleep
  if (region->policy->resident() < region->limit) return FaultOutcome::kMinor;
  const VirtAddr victim = region->policy->pick_victim() * kPageBytes;
  if (!kernel_.reclaimer().swap_out(fault.task, *this, victim)) {
    region->policy->on_fault(victim / kPageBytes, false);  // it stays resident after all
    return FaultOutcome::kOutOfMemory;
  }
  // Writing the victim out is not what makes a fault major: reading its own page in is.
  return std::nullopt;
}

std::optional<FaultOutcome> AddressSpace::swap_in(FaultContext& fault, VirtAddr page, pte::Entry entry) {
  SwapArea& swap = *kernel_.swap_area();
  const std::uint64_t slot = swap_entry::slot_of(entry);
  std::optional<mmu::FrameNumber> frame;
  if (const SwapArea::CachedSwapPage* cached = swap.cached(slot)) {
    if (cached->io_in_flight) {
      // Being written out or read in by someone else: wait for that, then start over.
      swap.wait_for_io(fault.task, slot);
      return std::nullopt;
    }
    frame = cached->frame;
    get_frame(*frame);  // our reference; the cache's goes below
  } else {
    const mmu::FrameNumber taken = take_frame(fault);
    if (taken == kNoFrame) return fault.retry ? std::nullopt : std::optional(FaultOutcome::kOutOfMemory);
    frame = taken;
    swap.cache_insert(slot, *frame);  // our reference is the cache's during the read
    const Status read = swap.read(fault.task, slot, *frame);
    fault.did_io = true;
    swap.cache_io_done(slot, fault.task);
    if (!read) {
      swap.cache_remove(slot);
      return FaultOutcome::kBus;
    }
    get_frame(*frame);
  }
  // The fault may have slept: map the page only if its PTE still holds this entry.
  const Vma* vma = find_vma(page);
  const auto now_entry = table_->absent_entry(page);
  if (vma == nullptr || !now_entry || *now_entry != entry ||
      !table_->map(page, mmu::address_of(*frame), mmu::PageSize::k4K, pte_flags(*vma) | pte::kDirty)) {
    put_frame(*frame);
    swap.cache_remove(slot);
    return std::nullopt;
  }
  ++resident_pages_;
  --swapped_pages_;
  swap.release(slot);
  swap.cache_remove(slot);
  note_mapped(*vma, page, *frame, fault.write);
  return FaultOutcome::kMinor;
}

std::optional<mmu::FrameNumber> AddressSpace::unmap_to_swap(VirtAddr page, std::uint64_t slot) {
  const auto mapping = table_->lookup(page);
  const Vma* vma = find_vma(page);
  if (!mapping || mapping->size != mmu::PageSize::k4K || vma == nullptr || vma->shared) return std::nullopt;
  const mmu::FrameNumber frame = mmu::frame_of(mapping->page_base);
  kernel_.machine().memory().write(mapping->entry_address, swap_entry::make(slot));
  flush_page(page);
  note_unmapped(vma, page, frame);
  --resident_pages_;
  ++swapped_pages_;
  return frame;
}

bool AddressSpace::test_and_clear_accessed(VirtAddr page, bool* dirty) {
  const auto mapping = table_->lookup(page);
  if (!mapping) return false;
  *dirty = (mapping->entry & pte::kDirty) != 0;
  if ((mapping->entry & pte::kAccessed) == 0) return false;
  kernel_.machine().memory().write(mapping->entry_address, mapping->entry & ~pte::kAccessed);
  return true;
}

Status AddressSpace::set_resident_limit(VirtAddr address, std::uint64_t length, std::uint64_t limit,
                                        std::vector<VirtAddr> future) {
  auto it = vmas_.find(address);
  if (it == vmas_.end() || it->second.length() != page_round_up(length) || limit == 0) return Errno::kEINVAL;
  Vma& vma = it->second;
  if (vma.shared || cache_of(vma) != nullptr || vma.resident_set) return Errno::kEINVAL;
  if (kernel_.swap_area() == nullptr) return Errno::kENODEV;
  std::vector<PageKey> keys;
  keys.reserve(future.size());
  for (VirtAddr reference : future) {
    if (!vma.contains(reference)) return Errno::kEINVAL;
    keys.push_back(reference / kPageBytes);
  }
  auto region = std::make_shared<ResidentSet>();
  region->limit = limit;
  try {
    region->policy = make_replacement_policy(
        kernel_.config().memory.replacement,
        {.frames = limit, .seed = kernel_.config().memory.seed ^ address, .future = std::move(keys)});
  } catch (const std::invalid_argument&) {
    return Errno::kEINVAL;
  }
  // Pages already resident join the region's policy in address order.
  std::uint64_t resident = 0;
  table_->visit_leaves(vma.start, vma.end, [&](VirtAddr, const mmu::Mapping&) { ++resident; });
  if (resident > limit) return Errno::kEINVAL;
  table_->visit_leaves(vma.start, vma.end, [&](VirtAddr page, const mmu::Mapping& mapping) {
    kernel_.reclaimer().untrack_mapping(mmu::frame_of(mapping.page_base), *this, page);
    region->policy->on_fault(page / kPageBytes, false);
  });
  vma.resident_set = std::move(region);
  return {};
}

Result<bool> AddressSpace::page_reference(Task& task, VirtAddr address, bool write) {
  const Vma* vma = find_vma(address);
  if (vma == nullptr || !vma->resident_set) return Errno::kEINVAL;
  const VirtAddr page = address & ~(kPageBytes - 1);
  if (!table_->lookup(page)) return Errno::kEFAULT;
  ResidentSet& region = *vma->resident_set;
  if (region.last_fault == page) {
    region.last_fault.reset();
    ++task.acct.page_misses;
    return false;
  }
  region.last_fault.reset();
  region.policy->on_access(page / kPageBytes, write);
  ++task.acct.page_hits;
  return true;
}

Result<std::shared_ptr<AddressSpace>> AddressSpace::fork_copy() {
  auto child = OSSIM_TRY(create(kernel_));
  for (const auto& [start, vma] : vmas_) {
    Vma copy = vma;
    copy.resident_set = nullptr;
    child->emplace_vma(std::move(copy));
  }
  child->brk_start_ = brk_start_;
  child->brk_ = brk_;
  mmu::PhysicalMemory& memory = kernel_.machine().memory();
  bool out_of_memory = false;
  for (const auto& [start, vma] : vmas_) {
    table_->visit_leaves(vma.start, vma.end, [&](VirtAddr page, const mmu::Mapping& mapping) {
      if (out_of_memory) return;
      if (mapping.size == mmu::PageSize::k2M) {
        out_of_memory = !fork_huge_page(*child, page, mapping);
        return;
      }
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
      const mmu::FrameNumber frame = mmu::frame_of(pte::address(entry));
      // Shared now: reclaim knows no single PTE to unmap it through until it is exclusive.
      if (!vma.shared && !vma.resident_set) kernel_.reclaimer().untrack_mapping(frame, *this, page);
      get_frame(frame);
      ++child->resident_pages_;
    });
    if (out_of_memory) return Errno::kENOMEM;
    if (swapped_pages_ == 0) continue;
    table_->visit_absent(vma.start, vma.end, [&](VirtAddr page, pte::Entry entry) {
      if (out_of_memory || !swap_entry::is_swap(entry)) return;
      if (!child->table_->set_absent(page, entry)) {
        out_of_memory = true;
        return;
      }
      kernel_.swap_area()->duplicate(swap_entry::slot_of(entry));
      ++child->swapped_pages_;
    });
    if (out_of_memory) return Errno::kENOMEM;
  }
  flush_all();
  return child;
}

}  // namespace ossim::kernel
