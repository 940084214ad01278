#include "kernel/fs/disk_file.hpp"

#include <algorithm>

#include "ossim/dev/block_device.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

DiskFile::DiskFile(KernelCore& kernel, std::uint64_t ino, sys::mode_t permissions, DiskDriver& disk,
                   std::uint64_t first_sector, std::uint64_t bytes)
    : Inode(ino, sys::kTypeRegular | (permissions & 07777)),
      bytes_(bytes),
      store_(kernel, disk, first_sector, (bytes + dev::kSectorBytes - 1) / dev::kSectorBytes),
      cache_(kernel.page_cache_pool(), store_) {}

Result<std::size_t> DiskFile::read_at(std::uint64_t offset, std::span<std::byte> out) {
  if (offset >= bytes_) return std::size_t{0};
  return cache_.read(offset, out.first(static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), bytes_ - offset))));
}

Result<std::size_t> DiskFile::write_at(std::uint64_t offset, std::span<const std::byte> in) {
  if (in.empty()) return std::size_t{0};
  if (offset >= bytes_) return Errno::kEFBIG;
  return cache_.write(offset, in.first(static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), bytes_ - offset))));
}

}  // namespace ossim::kernel
