#pragma once

// What a file system supplies to the page cache of each of its files: how a page's bytes
// come from storage and go back to it (Linux's address_space_operations: read_folio,
// writepage). The page cache calls these hooks; it never knows where the bytes live.
//
// A disk file system's store reads and writes blocks (and may sleep for the I/O: the
// callers are in task context). A memory-only file system (ramfs, and anonymous shared
// memory) has no storage behind its pages: the cached pages are the data.

#include <cstdint>
#include <cstring>
#include <span>

#include "ossim/mmu/address.hpp"
#include "kernel/result.hpp"

namespace ossim::kernel {

class BackingStore {
 public:
  virtual ~BackingStore() = default;
  /// Fills all kPageBytes of `page` (the host view of the physical frame `frame`, which a
  /// device fills by DMA) with the file's page `index`: the stored bytes, zeros for a hole
  /// and past the end of the file. An error leaves the page out of the cache.
  virtual Status read_page(std::uint64_t index, mmu::FrameNumber frame, std::span<std::byte> page) = 0;
  /// Writes the dirty page `index` (held in `frame`) back to storage; the cache marks it
  /// clean on success.
  virtual Status write_page(std::uint64_t index, mmu::FrameNumber frame, std::span<const std::byte> page) = 0;
  /// Fills pages first_index, first_index + 1... (frames[i] and pages[i] for page
  /// first_index + i) in one go: a disk queues all the requests at once, so consecutive
  /// pages stream without a rotation or a latency each (readahead). By default, one
  /// read_page after another.
  virtual Status read_pages(std::uint64_t first_index, std::span<const mmu::FrameNumber> frames,
                            std::span<std::byte* const> pages) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      OSSIM_TRY(read_page(first_index + i, frames[i], std::span<std::byte>(pages[i], mmu::kPageBytes)));
    }
    return {};
  }
  /// Whether a clean page may be dropped under memory pressure and read again later.
  /// False when the page cache holds the only copy.
  virtual bool evictable() const = 0;
};

/// Pages that live only in memory (ramfs, tmpfs without swap, anonymous shared memory):
/// a page never cached before is a hole and reads as zeros, write-back has nothing to do
/// (the frame is the storage), and pages are never evicted.
class MemoryOnlyStore final : public BackingStore {
 public:
  Status read_page(std::uint64_t, mmu::FrameNumber, std::span<std::byte> page) override {
    std::memset(page.data(), 0, page.size());
    return {};
  }
  Status write_page(std::uint64_t, mmu::FrameNumber, std::span<const std::byte>) override { return {}; }
  bool evictable() const override { return false; }
};

}  // namespace ossim::kernel
