#pragma once

/// @file
/// Simulated physical memory: real bytes and a frame table.
///
/// The bytes live in one host mapping reserved at construction and committed by the host
/// only when first touched, so a machine with gigabytes of RAM costs host memory only for
/// the frames it uses. Reads outside RAM return all ones and writes there are dropped, as
/// on a bus with nothing behind the address. The frame table holds one Frame per 4 KiB
/// frame, the simulated kernel's `struct page`.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "ossim/mmu/address.hpp"

namespace ossim::mmu {

/// The state of one physical frame, like Linux's struct page.
struct Frame {
  /// Flag bits.
  static constexpr std::uint16_t kFree = 1 << 0;       // on a free list of the allocator
  static constexpr std::uint16_t kReserved = 1 << 1;   // never handed out (firmware, holes)
  static constexpr std::uint16_t kPageTable = 1 << 2;  // holds a paging structure
  static constexpr std::uint16_t kHead = 1 << 3;       // first frame of an allocated block
  static constexpr std::uint16_t kDirty = 1 << 4;      // kernel bookkeeping
  static constexpr std::uint16_t kLocked = 1 << 5;     // kernel bookkeeping (I/O in flight)

  std::uint32_t refcount = 0;
  std::uint16_t flags = 0;
  std::uint8_t order = 0;  // block order: of a free block's head, or an allocated block's
  std::uint8_t reserved_ = 0;
  /// Who holds the frame: an opaque tag the kernel sets (an address space, an inode...).
  std::uint64_t owner = 0;
  /// Free-list links of the allocator (frame numbers), meaningless when allocated.
  FrameNumber next_free = 0;
  FrameNumber prev_free = 0;
};

class PhysicalMemory {
 public:
  /// `bytes` is rounded up to whole frames.
  explicit PhysicalMemory(std::uint64_t bytes);
  PhysicalMemory(const PhysicalMemory&) = delete;
  PhysicalMemory& operator=(const PhysicalMemory&) = delete;
  ~PhysicalMemory();

  std::uint64_t size_bytes() const { return size_bytes_; }
  std::uint64_t frame_count() const { return size_bytes_ >> kPageShift; }
  bool contains(PhysAddr address, std::uint64_t bytes = 1) const {
    return address < size_bytes_ && bytes <= size_bytes_ - address;
  }

  /// Host pointer to simulated physical memory. Precondition: contains(address).
  std::byte* host(PhysAddr address) { return base_ + address; }
  const std::byte* host(PhysAddr address) const { return base_ + address; }

  template <typename T>
  T read(PhysAddr address) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    if (contains(address, sizeof(T))) [[likely]] {
      std::memcpy(&value, base_ + address, sizeof(T));
    } else {
      read_bytes(address, &value, sizeof(T));
    }
    return value;
  }

  template <typename T>
  void write(PhysAddr address, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (contains(address, sizeof(T))) [[likely]] {
      std::memcpy(base_ + address, &value, sizeof(T));
    } else {
      write_bytes(address, &value, sizeof(T));
    }
  }

  /// Byte-range copies; the parts outside RAM read as 0xFF and are not written.
  void read_bytes(PhysAddr address, void* out, std::size_t bytes) const;
  void write_bytes(PhysAddr address, const void* in, std::size_t bytes);
  void zero(PhysAddr address, std::size_t bytes);

  Frame& frame(FrameNumber number) { return frames_[number]; }
  const Frame& frame(FrameNumber number) const { return frames_[number]; }

 private:
  /// How many of the `bytes` starting at `address` lie inside RAM.
  std::size_t bytes_inside(PhysAddr address, std::size_t bytes) const {
    return address < size_bytes_ ? static_cast<std::size_t>(std::min<std::uint64_t>(bytes, size_bytes_ - address)) : 0;
  }

  std::uint64_t size_bytes_;
  std::byte* base_;
  std::vector<Frame> frames_;
};

}  // namespace ossim::mmu
