#include "kernel/mm/page_cache.hpp"

#include <algorithm>
#include <cstring>

#include "kernel/mm/address_space.hpp"
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

Result<CachedPage*> PageCache::get(std::uint64_t index) {
  if (CachedPage* page = find(index)) return page;
  return add_page(index, true);
}

Result<CachedPage*> PageCache::add_page(std::uint64_t index, bool fill) {
  const auto frame = pool_.frames.allocate(0, reinterpret_cast<std::uintptr_t>(this));
  if (!frame) return Errno::kENOMEM;
  CachedPage page{.frame = *frame, .uptodate = false, .dirty = false};
  if (fill) {
    const Status read = store_.read_page(index, std::span<std::byte>(bytes(page), kPageBytes));
    if (!read) {
      pool_.frames.free(*frame);
      return read.error();
    }
    page.uptodate = true;
  }
  ++pool_.cached_pages;
  return &pages_.emplace(index, page).first->second;
}

void PageCache::drop(std::map<std::uint64_t, CachedPage>::iterator page) {
  mmu::Frame& record = pool_.memory.frame(page->second.frame);
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
    auto page = get(at / kPageBytes);
    if (!page) {
      if (done > 0) break;
      return page.error();
    }
    std::memcpy(out.data() + done, bytes(*page.value()) + in_page, chunk);
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
  for (auto it = pages_.lower_bound(first); it != pages_.end() && it->first < end; ++it) {
    CachedPage& page = it->second;
    if (!page.dirty) continue;
    OSSIM_TRY(store_.write_page(it->first, std::span<const std::byte>(bytes(page), kPageBytes)));
    page.dirty = false;
  }
  return {};
}

// ---- Reverse map ------------------------------------------------------------------------------

void PageCache::add_mapper(AddressSpace& mm) { ++mappers_[&mm]; }

void PageCache::remove_mapper(AddressSpace& mm) {
  auto it = mappers_.find(&mm);
  if (it != mappers_.end() && --it->second == 0) mappers_.erase(it);
}

}  // namespace ossim::kernel
