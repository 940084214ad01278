#include "kernel/block/disk_driver.hpp"

#include <algorithm>
#include <vector>

#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

DiskDriver::DiskDriver(KernelCore& kernel, dev::BlockDevice& device, std::uint8_t vector)
    : kernel_(kernel), device_(device), vector_(vector) {}

Status DiskDriver::transfer(Task& task, bool write, std::uint64_t sector, std::uint32_t sectors,
                            mmu::PhysAddr buffer) {
  const Transfer one{sector, sectors, buffer};
  return transfer_all(task, write, std::span<const Transfer>(&one, 1));
}

Status DiskDriver::transfer_all(Task& task, bool write, std::span<const Transfer> transfers) {
  std::vector<std::uint64_t> tags;
  tags.reserve(transfers.size());
  bool refused = false;
  const sim::Tick now = task.ctx().cpu().now();
  for (const Transfer& transfer : transfers) {
    const std::uint64_t tag = next_tag_++;
    const dev::BlockRequest request{
        .write = write, .sector = transfer.sector, .sectors = transfer.sectors, .buffer = transfer.buffer, .tag = tag};
    if (!device_.submit(request, now)) {
      refused = true;
      break;
    }
    ++(write ? stats_.writes : stats_.reads);
    tags.push_back(tag);
  }
  // Uninterruptible, as a page's I/O is on Linux: the data must land before anyone looks.
  (void)kernel_.wait_event(task, waiters_, false, [&] {
    return std::all_of(tags.begin(), tags.end(), [&](std::uint64_t tag) { return completed_.count(tag) != 0; });
  });
  for (std::uint64_t tag : tags) completed_.erase(tag);
  if (refused) return Errno::kEIO;
  return {};
}

void DiskDriver::on_interrupt(const cpu::Cpu& cpu) {
  ++stats_.interrupts;
  bool any = false;
  while (auto completion = device_.pop_completion()) {
    completed_.insert(completion->tag);
    any = true;
  }
  if (any) kernel_.wake_up_all(waiters_, cpu.now(), &cpu);
}

}  // namespace ossim::kernel
