#pragma once

/// @file
/// Bits of an x86-64 paging-structure entry (PML5E, PML4E, PDPTE, PDE, PTE). Entries are
/// 8 bytes, 512 to a 4 KiB table, and live in simulated physical memory.

#include <cstdint>

#include "ossim/mmu/address.hpp"

namespace ossim::mmu::pte {

using Entry = std::uint64_t;

inline constexpr Entry kPresent = Entry{1} << 0;
inline constexpr Entry kWritable = Entry{1} << 1;
inline constexpr Entry kUser = Entry{1} << 2;
inline constexpr Entry kWriteThrough = Entry{1} << 3;  // PWT: carried, has no effect here
inline constexpr Entry kCacheDisable = Entry{1} << 4;  // PCD: carried, has no effect here
inline constexpr Entry kAccessed = Entry{1} << 5;
inline constexpr Entry kDirty = Entry{1} << 6;  // leaf entries only
inline constexpr Entry kPageSize = Entry{1} << 7;  // PS: a 2 MiB (PDE) or 1 GiB (PDPTE) page
inline constexpr Entry kGlobal = Entry{1} << 8;  // leaf entries only; needs CR4.PGE
inline constexpr Entry kNoExecute = Entry{1} << 63;

/// Bits 9-11 and 52-58 are ignored by the hardware and free for the OS.
inline constexpr Entry kSoftware0 = Entry{1} << 9;
inline constexpr Entry kSoftware1 = Entry{1} << 10;
inline constexpr Entry kSoftware2 = Entry{1} << 11;
inline constexpr Entry kSoftwareHighMask = Entry{0x7F} << 52;
/// The name the kernel gives kSoftware0: a read-only page that is copy-on-write.
inline constexpr Entry kCopyOnWrite = kSoftware0;

/// Physical-address bits the machine implements (MAXPHYADDR). Address bits of an entry at
/// or above this are reserved and fault with the RSVD error-code bit.
inline constexpr unsigned kPhysicalAddressBits = 46;
inline constexpr Entry kAddressMask =
    ((Entry{1} << kPhysicalAddressBits) - 1) & ~((Entry{1} << kPageShift) - 1);
inline constexpr Entry kReservedAddressMask =
    ((Entry{1} << 52) - 1) & ~((Entry{1} << kPhysicalAddressBits) - 1);

constexpr PhysAddr address(Entry entry) { return entry & kAddressMask; }
constexpr bool present(Entry entry) { return (entry & kPresent) != 0; }

}  // namespace ossim::mmu::pte
