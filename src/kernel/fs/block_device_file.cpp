#include "kernel/fs/block_device_file.hpp"

#include <algorithm>

#include "ossim/dev/block_device.hpp"
#include "kernel/block/disk_driver.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

BlockDeviceFile::BlockDeviceFile(KernelCore& kernel, std::uint64_t ino, DiskDriver& disk, unsigned index)
    : Inode(ino, kTypeBlockDevice | 0660),
      store_(kernel, disk, 0, disk.device().config().sectors),
      cache_(kernel.page_cache_pool(), store_) {
  rdev = device_number(index);
}

Result<std::size_t> BlockDeviceFile::read_at(std::uint64_t offset, std::span<std::byte> out) {
  if (offset >= size()) return std::size_t{0};
  return cache_.read(offset, out.first(static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size() - offset))));
}

Result<std::size_t> BlockDeviceFile::write_at(std::uint64_t offset, std::span<const std::byte> in) {
  if (in.empty()) return std::size_t{0};
  if (offset >= size()) return Errno::kENOSPC;
  return cache_.write(offset, in.first(static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), size() - offset))));
}

}  // namespace ossim::kernel
