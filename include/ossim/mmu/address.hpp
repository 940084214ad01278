#pragma once

/// @file
/// Addresses and page sizes of the simulated x86-64 machine.

#include <cstdint>

namespace ossim::mmu {

using PhysAddr = std::uint64_t;
using VirtAddr = std::uint64_t;
/// A physical frame number: the physical address divided by 4 KiB.
using FrameNumber = std::uint64_t;

inline constexpr unsigned kPageShift = 12;
inline constexpr std::uint64_t kPageBytes = std::uint64_t{1} << kPageShift;
inline constexpr unsigned kEntriesPerTable = 512;

/// The page sizes x86-64 paging maps, by the log2 of their size.
enum class PageSize : std::uint8_t { k4K = 12, k2M = 21, k1G = 30 };

constexpr unsigned page_shift(PageSize size) { return static_cast<unsigned>(size); }
constexpr std::uint64_t page_bytes(PageSize size) { return std::uint64_t{1} << page_shift(size); }

constexpr FrameNumber frame_of(PhysAddr address) { return address >> kPageShift; }
constexpr PhysAddr address_of(FrameNumber frame) { return frame << kPageShift; }

/// Canonical addresses: bits 63..(virtual_bits - 1) all equal (48 bits with 4-level
/// paging, 57 with 5-level). A non-canonical access raises #GP, not #PF.
constexpr bool is_canonical(VirtAddr address, unsigned virtual_bits = 48) {
  const auto top = static_cast<std::int64_t>(address) >> (virtual_bits - 1);
  return top == 0 || top == -1;
}

}  // namespace ossim::mmu
