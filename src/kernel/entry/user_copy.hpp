#pragma once

// Copying between the kernel and user memory. Handlers never touch user memory any other
// way: these accesses go through the caller's MMU at CPL 0 and fault like real ones (a
// demand-zero page is filled in; an address with no mapping makes the access fail with
// EFAULT instead of killing anyone).

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "kernel/mm/address_space.hpp"
#include "kernel/result.hpp"
#include "kernel/task/task.hpp"

namespace ossim::kernel {

/// A pointer into a task's user memory.
template <typename T>
struct UserPtr {
  mmu::VirtAddr address = 0;
  bool null() const { return address == 0; }
};

/// access_ok(): the range lies in the user half.
inline bool user_range_ok(mmu::VirtAddr address, std::uint64_t bytes) {
  return address < layout::kUserEnd && bytes <= layout::kUserEnd - address;
}

inline Status copy_from_user(Task& task, void* out, mmu::VirtAddr address, std::uint64_t bytes) {
  if (bytes == 0) return {};
  if (!user_range_ok(address, bytes)) return Errno::kEFAULT;
  if (!task.ctx().cpu().try_read_memory(address, out, bytes)) return Errno::kEFAULT;
  return {};
}

inline Status copy_to_user(Task& task, mmu::VirtAddr address, const void* in, std::uint64_t bytes) {
  if (bytes == 0) return {};
  if (!user_range_ok(address, bytes)) return Errno::kEFAULT;
  if (!task.ctx().cpu().try_write_memory(address, in, bytes)) return Errno::kEFAULT;
  return {};
}

template <typename T>
Result<T> get_user(Task& task, UserPtr<T> pointer) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  OSSIM_TRY(copy_from_user(task, &value, pointer.address, sizeof(T)));
  return value;
}

template <typename T>
Status put_user(Task& task, UserPtr<T> pointer, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  return copy_to_user(task, pointer.address, &value, sizeof(T));
}

/// A NUL-terminated string of fewer than `limit` bytes (ENAMETOOLONG if no NUL comes
/// within them, EFAULT on a bad address). Read a page at a time, stopping at the NUL.
Result<std::string> copy_string_from_user(Task& task, mmu::VirtAddr address, std::size_t limit);

}  // namespace ossim::kernel
