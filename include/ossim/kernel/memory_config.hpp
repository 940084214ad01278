#pragma once

/// @file
/// The memory-management settings of the kernel (scenario section `kernel.memory`).

#include <cstdint>
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
};

}  // namespace ossim::kernel
