#include "ossim/mmu/physical_memory.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace ossim::mmu {

PhysicalMemory::PhysicalMemory(std::uint64_t bytes)
    : size_bytes_((bytes + kPageBytes - 1) & ~(kPageBytes - 1)),
      base_(nullptr),
      frames_(size_bytes_ >> kPageShift) {
  if (size_bytes_ == 0) return;
  // MAP_NORESERVE: the host commits a page only when the simulation first touches it,
  // and it reads as zero until then.
  void* mapping = ::mmap(nullptr, size_bytes_, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<std::byte*>(mapping);
  // Transparent huge pages where the host offers them: a page walk reads four frames
  // scattered over the simulated RAM, and 4 KiB host pages would make each read a host
  // TLB miss too. Only a hint: without THP everything works the same, a little slower.
  (void)::madvise(mapping, size_bytes_, MADV_HUGEPAGE);
}

PhysicalMemory::~PhysicalMemory() {
  if (base_ != nullptr) ::munmap(base_, size_bytes_);
}

void PhysicalMemory::read_bytes(PhysAddr address, void* out, std::size_t bytes) const {
  auto* destination = static_cast<std::byte*>(out);
  const std::size_t inside = bytes_inside(address, bytes);
  if (inside > 0) std::memcpy(destination, base_ + address, inside);
  std::memset(destination + inside, 0xFF, bytes - inside);
}

void PhysicalMemory::write_bytes(PhysAddr address, const void* in, std::size_t bytes) {
  const std::size_t inside = bytes_inside(address, bytes);
  if (inside > 0) std::memcpy(base_ + address, in, inside);
}

void PhysicalMemory::zero(PhysAddr address, std::size_t bytes) {
  const std::size_t inside = bytes_inside(address, bytes);
  if (inside > 0) std::memset(base_ + address, 0, inside);
}

}  // namespace ossim::mmu
