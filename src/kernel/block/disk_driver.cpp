#include "kernel/block/disk_driver.hpp"

#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

DiskDriver::DiskDriver(KernelCore& kernel, dev::BlockDevice& device, std::uint8_t vector)
    : kernel_(kernel), device_(device), vector_(vector) {}

Status DiskDriver::transfer(Task& task, bool write, std::uint64_t sector, std::uint32_t sectors,
                            mmu::PhysAddr buffer) {
  const std::uint64_t tag = next_tag_++;
  const dev::BlockRequest request{.write = write, .sector = sector, .sectors = sectors, .buffer = buffer, .tag = tag};
  if (!device_.submit(request, task.ctx().cpu().now())) return Errno::kEIO;
  ++(write ? stats_.writes : stats_.reads);
  // Uninterruptible, as a page's I/O is on Linux: the data must land before anyone looks.
  (void)kernel_.wait_event(task, waiters_, false, [&] { return completed_.count(tag) != 0; });
  completed_.erase(tag);
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
