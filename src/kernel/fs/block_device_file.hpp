#pragma once

// A block device file (/dev/<disk name>): the whole disk as a file of its size, read and
// written through a page cache backed by the disk (Linux's bdev inode and its mapping).
// read() of a page not cached sleeps for the disk; mmap maps the cached pages, so a first
// touch is a major fault; dirty pages go back to the disk on msync, munmap and reclaim,
// and clean ones may be evicted under memory pressure. Writes cannot grow the file (ENOSPC
// at its end), and truncation is refused.

#include <memory>

#include "kernel/block/disk_store.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/mm/page_cache.hpp"

namespace ossim::kernel {

/// S_IFBLK.
inline constexpr sys::mode_t kTypeBlockDevice = 0060000;

class BlockDeviceFile final : public Inode {
 public:
  /// The device number for disk `index` (sda, sdb...: major 8, minors 16 apart).
  static std::uint64_t device_number(unsigned index) { return (8 << 8) | (index * 16); }

  BlockDeviceFile(KernelCore& kernel, std::uint64_t ino, DiskDriver& disk, unsigned index);
  std::uint64_t size() const override { return store_.bytes(); }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override;
  Result<std::size_t> write_at(std::uint64_t offset, std::span<const std::byte> in) override;
  PageCache* page_cache() override { return &cache_; }

 private:
  DiskStore store_;  // before cache_, which uses it
  PageCache cache_;
};

}  // namespace ossim::kernel
