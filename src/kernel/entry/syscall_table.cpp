#include "kernel/entry/syscall_table.hpp"

#include <array>

namespace ossim::kernel {

namespace {

using Handler = SyscallResult (*)(SyscallCall&);

constexpr std::array<Handler, sys::kSyscallTableSize> make_table() {
  std::array<Handler, sys::kSyscallTableSize> table{};
#define OSSIM_TABLE_ENTRY(number, name) table[number] = &sys_##name;
  OSSIM_SYSCALLS(OSSIM_TABLE_ENTRY)
#undef OSSIM_TABLE_ENTRY
  return table;
}

constexpr std::array<Handler, sys::kSyscallTableSize> kTable = make_table();

constexpr std::array<std::string_view, sys::kSyscallTableSize> make_names() {
  std::array<std::string_view, sys::kSyscallTableSize> names{};
#define OSSIM_NAME_ENTRY(number, name) names[number] = #name;
  OSSIM_SYSCALLS(OSSIM_NAME_ENTRY)
#undef OSSIM_NAME_ENTRY
  return names;
}

constexpr std::array<std::string_view, sys::kSyscallTableSize> kNames = make_names();

}  // namespace

SyscallResult dispatch_syscall(std::uint64_t number, SyscallCall& call) {
  if (number >= kTable.size() || kTable[number] == nullptr) return Errno::kENOSYS;
  return kTable[number](call);
}

}  // namespace ossim::kernel

namespace ossim::sys {

std::string_view syscall_name(std::uint64_t number) {
  return number < kernel::kNames.size() ? kernel::kNames[number] : std::string_view();
}

}  // namespace ossim::sys
