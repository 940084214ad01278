#pragma once

/// @file
/// The memory-management settings of the kernel (scenario section `kernel.memory`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ossim::kernel {

/// When anonymous private memory gets 2 MiB pages on its first touch, as Linux's
/// /sys/kernel/mm/transparent_hugepage/enabled says it.
enum class TransparentHugepages : std::uint8_t {
  kNever,    // never: every page is 4 KiB
  kMadvise,  // only in ranges given madvise(MADV_HUGEPAGE) (Linux's default on most distributions)
  kAlways,   // in every anonymous private VMA, except ranges given madvise(MADV_NOHUGEPAGE)
};

/// The setting's name as the scenario and /sys spell it ("never", "madvise", "always").
constexpr std::string_view transparent_hugepages_name(TransparentHugepages mode) {
  switch (mode) {
    case TransparentHugepages::kNever: return "never";
    case TransparentHugepages::kMadvise: return "madvise";
    case TransparentHugepages::kAlways: return "always";
  }
  return "madvise";
}

struct MemoryConfig {
  TransparentHugepages transparent_hugepages = TransparentHugepages::kMadvise;
  /// The page-replacement policy reclaim (and page_refs regions) use: one of
  /// replacement_policy_names() (ossim/kernel/page_replacement.hpp). Linux's own is
  /// active_inactive.
  std::string replacement = "active_inactive";
  /// Swap on the machine's disk with this index (none: no swap), over its first
  /// `swap_bytes` (0: the whole disk).
  std::optional<unsigned> swap_disk;
  std::uint64_t swap_bytes = 0;
  /// Linux's vm.min_free_kbytes, which sets the reclaim watermarks (0: Linux's default
  /// for the memory size).
  std::uint64_t min_free_kbytes = 0;
  /// Keep executables on the machine's disk with this index (none: in ramfs): each
  /// registered program's image gets an extent of it, so a page of text or data not in
  /// the page cache is read from the disk on first use (a major fault) and clean ones
  /// may be evicted.
  std::optional<unsigned> executables_disk;
  /// Seed of the random replacement policy's stream.
  std::uint64_t seed = 1;
};

}  // namespace ossim::kernel
