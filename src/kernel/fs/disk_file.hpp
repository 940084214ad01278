#pragma once

// A regular file whose bytes live in an extent of a disk, read and written through a page
// cache backed by that extent: how executables are stored when the kernel keeps them on a
// disk (kernel.memory.executables_on_disk), until the on-disk file system exists. Its
// pages are read on first use (a major fault, or a blocking read), may be evicted when
// clean, and are written back when dirty. Its size is fixed at creation: writes past it
// get EFBIG and truncation EPERM.

#include "kernel/block/disk_store.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/mm/page_cache.hpp"

namespace ossim::kernel {

class DiskFile final : public Inode {
 public:
  /// `bytes` of file over the extent from `first_sector` of `disk`.
  DiskFile(KernelCore& kernel, std::uint64_t ino, sys::mode_t permissions, DiskDriver& disk,
           std::uint64_t first_sector, std::uint64_t bytes);
  std::uint64_t size() const override { return bytes_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override;
  Result<std::size_t> write_at(std::uint64_t offset, std::span<const std::byte> in) override;
  Status truncate(std::uint64_t) override { return Errno::kEPERM; }
  PageCache* page_cache() override { return &cache_; }

 private:
  std::uint64_t bytes_;
  DiskStore store_;  // before cache_, which uses it
  PageCache cache_;
};

}  // namespace ossim::kernel
