#pragma once

// The kernel's driver of one block device (the part of Linux's block layer and disk driver
// that the memory system needs): a task submits a transfer between the disk and physical
// memory and sleeps, uninterruptibly (state D), until the device's completion interrupt
// says its request is done. The device serves requests in submission order; I/O
// schedulers are the file-system issue's.

#include <cstdint>
#include <set>
#include <span>

#include "ossim/dev/block_device.hpp"
#include "ossim/mmu/address.hpp"
#include "kernel/result.hpp"
#include "kernel/task/wait_queue.hpp"

namespace ossim::cpu {
class Cpu;
}

namespace ossim::kernel {

class KernelCore;
class Task;

struct DiskDriverStats {
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t interrupts = 0;
};

class DiskDriver {
 public:
  /// Drives `device`, whose interrupt line the kernel routes to `vector`.
  DiskDriver(KernelCore& kernel, dev::BlockDevice& device, std::uint8_t vector);
  DiskDriver(const DiskDriver&) = delete;
  DiskDriver& operator=(const DiskDriver&) = delete;

  /// Moves `sectors` sectors at `sector` to (`write`) or from the physical memory at
  /// `buffer`, by DMA, and returns when the transfer is complete; the calling task sleeps
  /// meanwhile. EIO when the device refuses the request (past its end, or empty).
  Status transfer(Task& task, bool write, std::uint64_t sector, std::uint32_t sectors, mmu::PhysAddr buffer);
  /// One transfer as above per element, all queued at once (the device serves them back
  /// to back), returning when all are complete. EIO (after the accepted ones completed)
  /// if the device refuses one.
  struct Transfer {
    std::uint64_t sector = 0;
    std::uint32_t sectors = 0;
    mmu::PhysAddr buffer = 0;
  };
  Status transfer_all(Task& task, bool write, std::span<const Transfer> transfers);
  /// The completion interrupt's handler: takes the device's completions and wakes the
  /// tasks waiting for them.
  void on_interrupt(const cpu::Cpu& cpu);

  dev::BlockDevice& device() { return device_; }
  std::uint8_t vector() const { return vector_; }
  const DiskDriverStats& stats() const { return stats_; }

 private:
  KernelCore& kernel_;
  dev::BlockDevice& device_;
  std::uint8_t vector_;
  std::uint64_t next_tag_ = 1;
  std::set<std::uint64_t> completed_;  // tags completed but not yet seen by their waiter
  WaitQueue waiters_;
  DiskDriverStats stats_;
};

}  // namespace ossim::kernel
