#include "kernel/mm/swap_area.hpp"

#include "ossim/dev/block_device.hpp"
#include "kernel/block/disk_driver.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

namespace {
constexpr std::uint32_t kSectorsPerPage = static_cast<std::uint32_t>(mmu::kPageBytes / dev::kSectorBytes);
}

SwapArea::SwapArea(KernelCore& kernel, DiskDriver& disk, std::uint64_t first_sector, std::uint64_t slots)
    : kernel_(kernel), disk_(disk), first_sector_(first_sector), counts_(slots, 0), busy_(slots, false) {}

std::optional<std::uint64_t> SwapArea::allocate() {
  for (std::uint64_t slot = next_free_hint_; slot < busy_.size(); ++slot) {
    if (busy_[slot]) continue;
    busy_[slot] = true;
    counts_[slot] = 1;
    ++used_;
    next_free_hint_ = slot + 1;
    return slot;
  }
  return std::nullopt;
}

void SwapArea::duplicate(std::uint64_t slot) { ++counts_.at(slot); }

void SwapArea::release(std::uint64_t slot) {
  if (counts_.at(slot) == 0) return;
  if (--counts_[slot] == 0 && cache_.count(slot) == 0) free_slot(slot);
}

void SwapArea::free_slot(std::uint64_t slot) {
  busy_[slot] = false;
  --used_;
  if (slot < next_free_hint_) next_free_hint_ = slot;
}

Status SwapArea::transfer(Task& task, bool write, std::uint64_t slot, mmu::FrameNumber frame) {
  return disk_.transfer(task, write, first_sector_ + slot * kSectorsPerPage, kSectorsPerPage, mmu::address_of(frame));
}

Status SwapArea::write(Task& task, std::uint64_t slot, mmu::FrameNumber frame) {
  OSSIM_TRY(transfer(task, true, slot, frame));
  ++stats_.pages_out;
  return {};
}

Status SwapArea::read(Task& task, std::uint64_t slot, mmu::FrameNumber frame) {
  OSSIM_TRY(transfer(task, false, slot, frame));
  ++stats_.pages_in;
  return {};
}

void SwapArea::cache_insert(std::uint64_t slot, mmu::FrameNumber frame) {
  cache_[slot] = CachedSwapPage{frame, true};
}

void SwapArea::cache_io_done(std::uint64_t slot, Task& by) {
  auto it = cache_.find(slot);
  if (it != cache_.end()) it->second.io_in_flight = false;
  const cpu::Cpu* cpu = &by.ctx().cpu();
  kernel_.wake_up_all(io_waiters_, cpu->now(), cpu);
}

bool SwapArea::cache_remove(std::uint64_t slot) {
  auto it = cache_.find(slot);
  if (it == cache_.end()) return false;
  const mmu::FrameNumber frame = it->second.frame;
  cache_.erase(it);
  mmu::Frame& record = kernel_.machine().memory().frame(frame);
  const bool freed = --record.refcount == 0;
  if (freed) kernel_.machine().frames().free(frame);
  if (counts_[slot] == 0) free_slot(slot);
  return freed;
}

const SwapArea::CachedSwapPage* SwapArea::cached(std::uint64_t slot) const {
  auto it = cache_.find(slot);
  return it == cache_.end() ? nullptr : &it->second;
}

void SwapArea::wait_for_io(Task& task, std::uint64_t slot) {
  (void)kernel_.wait_event(task, io_waiters_, false, [&] {
    const CachedSwapPage* page = cached(slot);
    return page == nullptr || !page->io_in_flight;
  });
}

}  // namespace ossim::kernel
