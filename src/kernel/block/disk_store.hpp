#pragma once

// The pages of a range of a disk as a page cache's storage: what a block device file
// (/dev/<disk>) and, later, a disk file system's files are backed by. Page i is the
// sectors from first_sector + 8i; a page running past the range is zero past it.
//
// In task context the transfer goes through the disk's driver (DMA into the cache's frame,
// the task sleeps until the completion interrupt: a major fault or a blocking read). On
// the host (no task running: setup, teardown) the bytes are copied directly, taking no
// simulated time.

#include <cstdint>

#include "kernel/mm/backing_store.hpp"

namespace ossim::kernel {

class DiskDriver;
class KernelCore;

class DiskStore final : public BackingStore {
 public:
  DiskStore(KernelCore& kernel, DiskDriver& disk, std::uint64_t first_sector, std::uint64_t sectors);
  Status read_page(std::uint64_t index, mmu::FrameNumber frame, std::span<std::byte> page) override;
  Status write_page(std::uint64_t index, mmu::FrameNumber frame, std::span<const std::byte> page) override;
  Status read_pages(std::uint64_t first_index, std::span<const mmu::FrameNumber> frames,
                    std::span<std::byte* const> pages) override;
  /// Clean pages can always be read again from the disk.
  bool evictable() const override { return true; }
  std::uint64_t bytes() const;

 private:
  /// Sectors of page `index` inside the range (0 past its end).
  std::uint32_t sectors_of(std::uint64_t index) const;

  KernelCore& kernel_;
  DiskDriver& disk_;
  std::uint64_t first_sector_;
  std::uint64_t sectors_;
};

}  // namespace ossim::kernel
