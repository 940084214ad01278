#pragma once

// Swap entries: what a swapped-out page's PTE holds instead of a frame (Linux's
// swp_entry_t in a non-present PTE). P is clear, so any access faults as not-present;
// the software bit kSwapEntry marks the entry and the address bits carry the slot.

#include <cstdint>
#include <optional>

#include "ossim/mmu/pte.hpp"

namespace ossim::kernel::swap_entry {

inline constexpr mmu::pte::Entry kSwapEntry = mmu::pte::kSoftware1;

constexpr mmu::pte::Entry make(std::uint64_t slot) { return (slot << mmu::kPageShift) | kSwapEntry; }
constexpr bool is_swap(mmu::pte::Entry entry) { return !mmu::pte::present(entry) && (entry & kSwapEntry) != 0; }
constexpr std::uint64_t slot_of(mmu::pte::Entry entry) { return (entry & mmu::pte::kAddressMask) >> mmu::kPageShift; }

}  // namespace ossim::kernel::swap_entry
