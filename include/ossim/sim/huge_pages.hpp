#pragma once

/// @file
/// Host memory for transparent huge pages: a mapping that starts on a 2 MiB boundary (only
/// whole, aligned 2 MiB ranges can be huge pages) and is advised MADV_HUGEPAGE. The advice
/// is only a request: where the host declines, the memory works the same on small pages.

#include <cstddef>

namespace ossim::sim {

/// x86-64's 2 MiB page.
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

/// A fresh anonymous read-write mapping of `bytes` (a multiple of kHugePageBytes),
/// aligned to a huge page and advised onto huge pages; the host commits its pages only as
/// they are touched (MAP_NORESERVE). Null when the host refuses the mapping. Give it
/// back with munmap(address, bytes).
void* map_huge_pages(std::size_t bytes) noexcept;

}  // namespace ossim::sim
