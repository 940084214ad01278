#include "kernel/mm/page_cache.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/reclaim.hpp"
#include "kernel/mm/tlb_shootdown.hpp"

namespace ossim::kernel {

using mmu::kPageBytes;

PageCache::~PageCache() {
  while (!pages_.empty()) drop(pages_.begin());
}

CachedPage* PageCache::find(std::uint64_t index) {
  auto it = pages_.find(index);
  return it == pages_.end() ? nullptr : &it->second;
}

Result<CachedPage*> PageCache::get(std::uint64_t index, std::uint64_t readahead_end) {
  while (CachedPage* page = find(index)) {
    if (!page->io_in_flight) return page;
    wait_for_io(index);  // someone else is reading it in
  }
  return add_page(index, true, std::min(readahead_end, index + kMaxReadaheadPages));
}

void PageCache::wait_for_io(std::uint64_t index) {
  Task* task = pool_.kernel != nullptr ? pool_.kernel->current_task() : nullptr;
  if (task == nullptr) return;
  (void)pool_.kernel->wait_event(*task, pool_.io_wait, false, [&] {
    const CachedPage* page = find(index);
    return page == nullptr || !page->io_in_flight;
  });
}

void PageCache::io_done() {
  if (pool_.kernel == nullptr) return;
  Task* task = pool_.kernel->current_task();
  const cpu::Cpu* cpu = task != nullptr ? &task->ctx().cpu() : nullptr;
  pool_.kernel->wake_up_all(pool_.io_wait, pool_.kernel->now(cpu), cpu);
}

std::optional<mmu::FrameNumber> PageCache::allocate_frame(bool* slept) {
  const auto owner = reinterpret_cast<std::uintptr_t>(this);
  Task* task = pool_.kernel != nullptr ? pool_.kernel->current_task() : nullptr;
  // In task context under the reclaim rules (watermarks, direct reclaim, the OOM killer).
  if (task != nullptr) return pool_.kernel->reclaimer().allocate(*task, owner, slept);
  return pool_.frames.allocate(0, owner);
}

Result<CachedPage*> PageCache::add_page(std::uint64_t index, bool fill, std::uint64_t readahead_end) {
  bool slept = false;
  const auto frame = allocate_frame(&slept);
  if (!frame) return Errno::kENOMEM;
  if (slept && find(index) != nullptr) {
    // Someone else added the page while this task reclaimed.
    pool_.frames.free(*frame);
    return get(index);
  }
  std::vector<mmu::FrameNumber> frames{*frame};
  // Readahead: the following pages not cached yet, while frames are free without reclaim.
  if (fill && has_storage() && pool_.kernel != nullptr) {
    const std::uint64_t spare_above = pool_.kernel->reclaimer().watermarks().low;
    for (std::uint64_t next = index + 1; next < readahead_end && find(next) == nullptr; ++next) {
      if (pool_.frames.free_frames() <= spare_above) break;
      const auto extra = pool_.frames.allocate(0, reinterpret_cast<std::uintptr_t>(this));
      if (!extra) break;
      frames.push_back(*extra);
    }
  }
  // In the cache before the read, locked: a second reader waits for this one's I/O.
  std::vector<std::byte*> hosts;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    CachedPage& page = pages_.emplace(index + i, CachedPage{.frame = frames[i], .io_in_flight = fill}).first->second;
    hosts.push_back(bytes(page));
    ++pool_.cached_pages;
  }
  if (fill) {
    const Status read = store_.read_pages(index, frames, hosts);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      CachedPage& page = pages_.at(index + i);
      page.io_in_flight = false;
      page.uptodate = read.ok();
    }
    io_done();
    if (!read) {
      for (std::size_t i = 0; i < frames.size(); ++i) drop(pages_.find(index + i));
      return read.error();
    }
    readahead_pages_ += frames.size() - 1;
  }
  if (has_storage() && pool_.kernel != nullptr) {
    for (std::size_t i = 0; i < frames.size(); ++i) pool_.kernel->reclaimer().track_cache(frames[i], *this, index + i);
  }
  return &pages_.at(index);
}

void PageCache::drop(std::map<std::uint64_t, CachedPage>::iterator page) {
  mmu::Frame& record = pool_.memory.frame(page->second.frame);
  if (pool_.kernel != nullptr) pool_.kernel->reclaimer().untrack(page->second.frame);
  if (--record.refcount == 0) {
    if (pool_.tlb_shootdown != nullptr) {
      pool_.tlb_shootdown->free_frame(page->second.frame);
    } else {
      pool_.frames.free(page->second.frame);
    }
  }
  --pool_.cached_pages;
  pages_.erase(page);
}

void PageCache::mark_dirty(std::uint64_t index) {
  if (CachedPage* page = find(index)) page->dirty = true;
}

std::uint64_t PageCache::dirty_pages() const {
  return static_cast<std::uint64_t>(
      std::count_if(pages_.begin(), pages_.end(), [](const auto& entry) { return entry.second.dirty; }));
}

// ---- File I/O ---------------------------------------------------------------------------------

Result<std::size_t> PageCache::read(std::uint64_t offset, std::span<std::byte> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const std::uint64_t at = offset + done;
    const std::uint64_t in_page = at % kPageBytes;
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(kPageBytes - in_page, out.size() - done));
    // Readahead through the rest of the request and a window past it.
    auto page = get(at / kPageBytes, (offset + out.size() + kPageBytes - 1) / kPageBytes + kReadaheadPages);
    if (!page) {
      if (done > 0) break;
      return page.error();
    }
    std::memcpy(out.data() + done, bytes(*page.value()) + in_page, chunk);
    if (pool_.kernel != nullptr) pool_.kernel->reclaimer().note_access(page.value()->frame, false);
    done += chunk;
  }
  return done;
}

Result<std::size_t> PageCache::write(std::uint64_t offset, std::span<const std::byte> in) {
  std::size_t done = 0;
  while (done < in.size()) {
    const std::uint64_t at = offset + done;
    const std::uint64_t index = at / kPageBytes;
    const std::uint64_t in_page = at % kPageBytes;
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(kPageBytes - in_page, in.size() - done));
    // A page written whole need not be read first.
    CachedPage* page = find(index);
    if (page == nullptr) {
      auto added = add_page(index, chunk != kPageBytes);
      if (!added) {
        if (done > 0) break;
        return added.error();
      }
      page = added.value();
    }
    std::memcpy(bytes(*page) + in_page, in.data() + done, chunk);
    page->uptodate = true;
    page->dirty = true;
    if (pool_.kernel != nullptr) pool_.kernel->reclaimer().note_access(page->frame, true);
    done += chunk;
  }
  return done;
}

void PageCache::zero_page_tail(std::uint64_t offset) {
  const std::uint64_t in_page = offset % kPageBytes;
  if (in_page == 0) return;
  if (CachedPage* page = find(offset / kPageBytes)) {
    std::memset(bytes(*page) + in_page, 0, kPageBytes - in_page);
    page->dirty = true;
  }
}

void PageCache::truncate(std::uint64_t size) {
  const std::uint64_t first_dropped = size / kPageBytes + (size % kPageBytes != 0 ? 1 : 0);
  // Unmap before dropping, so that each frame's last reference goes with its page.
  for (const auto& [mm, vmas] : mappers_) mm->unmap_cache_pages(*this, first_dropped);
  for (auto it = pages_.lower_bound(first_dropped); it != pages_.end();) drop(it++);
  zero_page_tail(size);
}

// ---- Write-back -------------------------------------------------------------------------------

Status PageCache::write_back(std::uint64_t first, std::uint64_t end) {
  // Index by index: the store may sleep, and pages may come and go meanwhile.
  for (auto it = pages_.lower_bound(first); it != pages_.end() && it->first < end;) {
    const std::uint64_t index = it->first;
    CachedPage& page = it->second;
    if (page.dirty && !page.io_in_flight) {
      page.io_in_flight = true;
      page.dirty = false;  // a store during the write dirties it again
      const Status written =
          store_.write_page(index, page.frame, std::span<const std::byte>(bytes(page), kPageBytes));
      page.io_in_flight = false;
      io_done();
      if (!written) {
        page.dirty = true;
        return written;
      }
    }
    it = pages_.upper_bound(index);
  }
  return {};
}

// ---- Reclaim ----------------------------------------------------------------------------------

bool PageCache::evict(Task& task, std::uint64_t index) {
  (void)task;  // the store finds the running task itself
  CachedPage* page = find(index);
  if (page == nullptr || page->io_in_flight || !store_.evictable()) return false;
  const mmu::FrameNumber frame = page->frame;
  // Unmap it from every mapper (try_to_unmap), collecting the dirty bits.
  for (const auto& [mm, vmas] : mappers_) mm->unmap_cache_frame(*this, index, frame);
  if (page->dirty) {
    if (!write_back(index, index + 1)) return false;
    page = find(index);
    if (page == nullptr) return false;
  }
  // Mapped again or dirtied while the write went on: it stays.
  if (page->dirty || page->io_in_flight || pool_.memory.frame(frame).refcount != 1) return false;
  drop(pages_.find(index));
  return true;
}

bool PageCache::test_and_clear_accessed(std::uint64_t index, bool* dirty) {
  bool referenced = false;
  for (const auto& [mm, vmas] : mappers_) referenced = mm->test_and_clear_cache_accessed(*this, index, dirty) || referenced;
  return referenced;
}

// ---- Reverse map ------------------------------------------------------------------------------

void PageCache::add_mapper(AddressSpace& mm) { ++mappers_[&mm]; }

void PageCache::remove_mapper(AddressSpace& mm) {
  auto it = mappers_.find(&mm);
  if (it != mappers_.end() && --it->second == 0) mappers_.erase(it);
}

}  // namespace ossim::kernel
