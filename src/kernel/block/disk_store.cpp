#include "kernel/block/disk_store.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ossim/dev/block_device.hpp"
#include "kernel/block/disk_driver.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

namespace {
constexpr std::uint64_t kSectorsPerPage = mmu::kPageBytes / dev::kSectorBytes;
}

DiskStore::DiskStore(KernelCore& kernel, DiskDriver& disk, std::uint64_t first_sector, std::uint64_t sectors)
    : kernel_(kernel), disk_(disk), first_sector_(first_sector), sectors_(sectors) {}

std::uint64_t DiskStore::bytes() const { return sectors_ * dev::kSectorBytes; }

std::uint32_t DiskStore::sectors_of(std::uint64_t index) const {
  const std::uint64_t first = index * kSectorsPerPage;
  if (first >= sectors_) return 0;
  return static_cast<std::uint32_t>(std::min(kSectorsPerPage, sectors_ - first));
}

Status DiskStore::read_page(std::uint64_t index, mmu::FrameNumber frame, std::span<std::byte> page) {
  const std::uint32_t count = sectors_of(index);
  std::memset(page.data() + count * dev::kSectorBytes, 0, page.size() - count * dev::kSectorBytes);
  if (count == 0) return {};
  const std::uint64_t sector = first_sector_ + index * kSectorsPerPage;
  if (Task* task = kernel_.current_task()) return disk_.transfer(*task, false, sector, count, mmu::address_of(frame));
  disk_.device().read_sectors(sector, count, page.data());
  return {};
}

Status DiskStore::read_pages(std::uint64_t first_index, std::span<const mmu::FrameNumber> frames,
                             std::span<std::byte* const> pages) {
  Task* task = kernel_.current_task();
  if (task == nullptr) return BackingStore::read_pages(first_index, frames, pages);
  std::vector<DiskDriver::Transfer> transfers;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const std::uint32_t count = sectors_of(first_index + i);
    std::memset(pages[i] + count * dev::kSectorBytes, 0, mmu::kPageBytes - count * dev::kSectorBytes);
    if (count == 0) continue;
    transfers.push_back({first_sector_ + (first_index + i) * kSectorsPerPage, count, mmu::address_of(frames[i])});
  }
  return disk_.transfer_all(*task, false, transfers);
}

Status DiskStore::write_page(std::uint64_t index, mmu::FrameNumber frame, std::span<const std::byte> page) {
  const std::uint32_t count = sectors_of(index);
  if (count == 0) return {};
  const std::uint64_t sector = first_sector_ + index * kSectorsPerPage;
  if (Task* task = kernel_.current_task()) return disk_.transfer(*task, true, sector, count, mmu::address_of(frame));
  disk_.device().write_sectors(sector, count, page.data());
  return {};
}

}  // namespace ossim::kernel
