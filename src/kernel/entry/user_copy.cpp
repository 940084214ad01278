#include "kernel/entry/user_copy.hpp"

#include <algorithm>

namespace ossim::kernel {

Result<std::string> copy_string_from_user(Task& task, mmu::VirtAddr address, std::size_t limit) {
  std::string result;
  char chunk[256];
  while (result.size() < limit) {
    if (address >= layout::kUserEnd) return Errno::kEFAULT;
    // Never read past the page the string may end on: the next one may be unmapped.
    const std::uint64_t to_page_end = mmu::kPageBytes - (address & (mmu::kPageBytes - 1));
    const std::size_t bytes = static_cast<std::size_t>(
        std::min<std::uint64_t>({sizeof(chunk), to_page_end, limit - result.size(), layout::kUserEnd - address}));
    OSSIM_TRY(copy_from_user(task, chunk, address, bytes));
    const char* nul = static_cast<const char*>(std::memchr(chunk, 0, bytes));
    if (nul != nullptr) {
      result.append(chunk, static_cast<std::size_t>(nul - chunk));
      return result;
    }
    result.append(chunk, bytes);
    address += bytes;
  }
  return Errno::kENAMETOOLONG;
}

}  // namespace ossim::kernel
