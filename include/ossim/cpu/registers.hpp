#pragma once

/// @file
/// The architectural state of an x86-64-like CPU that ossim models: the general-purpose
/// register file with rip and rflags (per thread of execution), and the control registers
/// (per CPU). Workloads are C++ code, so most registers matter only as the syscall ABI
/// (number in rax; arguments in rdi, rsi, rdx, r10, r8, r9; result in rax) and as state a
/// kernel saves and restores.

#include <cstdint>

namespace ossim::cpu {

struct RegisterFile {
  std::uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0;
  std::uint64_t rsi = 0, rdi = 0, rbp = 0, rsp = 0;
  std::uint64_t r8 = 0, r9 = 0, r10 = 0, r11 = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
  std::uint64_t rip = 0;
  std::uint64_t rflags = 0x2;  // bit 1 always reads as one
};

namespace rflags {
inline constexpr std::uint64_t kCarry = 1 << 0;
inline constexpr std::uint64_t kAlwaysOne = 1 << 1;
inline constexpr std::uint64_t kZero = 1 << 6;
inline constexpr std::uint64_t kTrap = 1 << 8;
inline constexpr std::uint64_t kInterruptEnable = 1 << 9;  // IF
inline constexpr std::uint64_t kDirection = 1 << 10;
}  // namespace rflags

namespace cr0 {
inline constexpr std::uint64_t kProtectionEnable = 1 << 0;
inline constexpr std::uint64_t kWriteProtect = 1 << 16;  // WP
inline constexpr std::uint64_t kPaging = std::uint64_t{1} << 31;  // PG
}  // namespace cr0

namespace cr4 {
inline constexpr std::uint64_t kPae = 1 << 5;
inline constexpr std::uint64_t kGlobalPages = 1 << 7;  // PGE
inline constexpr std::uint64_t kFiveLevel = 1 << 12;   // LA57
inline constexpr std::uint64_t kPcid = 1 << 17;        // PCIDE
inline constexpr std::uint64_t kSmep = 1 << 20;
}  // namespace cr4

/// CR3 bit 63 on a load with CR4.PCIDE: keep the new PCID's TLB entries.
inline constexpr std::uint64_t kCr3NoFlush = std::uint64_t{1} << 63;

struct ControlRegisters {
  std::uint64_t cr0 = cr0::kProtectionEnable | cr0::kWriteProtect;
  std::uint64_t cr2 = 0;  // the address of the last page fault
  std::uint64_t cr3 = 0;  // the top-level page table (and the PCID in bits 0-11)
  std::uint64_t cr4 = cr4::kPae | cr4::kGlobalPages;
};

}  // namespace ossim::cpu
