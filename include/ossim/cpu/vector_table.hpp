#pragma once

/// @file
/// The CPU's entry points into the kernel: an IDT-like table of 256 vectors (exceptions
/// 0-31, external interrupts and IPIs 32-255) and the SYSCALL entry (IA32_LSTAR on x86).
/// The kernel builds one at boot and loads it into every CPU (Cpu::load_vector_table).

#include <array>
#include <cstdint>
#include <functional>

namespace ossim::cpu {

class Cpu;

namespace vector {
inline constexpr std::uint8_t kDivideError = 0;      // #DE
inline constexpr std::uint8_t kDebug = 1;            // #DB
inline constexpr std::uint8_t kNmi = 2;
inline constexpr std::uint8_t kBreakpoint = 3;       // #BP
inline constexpr std::uint8_t kInvalidOpcode = 6;    // #UD
inline constexpr std::uint8_t kDoubleFault = 8;      // #DF
inline constexpr std::uint8_t kGeneralProtection = 13;  // #GP
inline constexpr std::uint8_t kPageFault = 14;       // #PF
inline constexpr std::uint8_t kFirstExternal = 32;   // first vector for IRQs and IPIs

/// Exceptions that push an error code.
constexpr bool has_error_code(std::uint8_t v) {
  return v == kDoubleFault || (v >= 10 && v <= 14) || v == 17;
}
}  // namespace vector

/// What the CPU saves when it enters a handler, and restores when the handler returns
/// (IRET). A handler may edit it: change `rflags` or `cpl` of the interrupted context,
/// or set `abort_access` to make a faulting memory access fail instead of being retried
/// (the exception-table fixup Linux uses for copy_from_user).
struct TrapFrame {
  std::uint8_t vector = 0;
  std::uint64_t error_code = 0;
  std::uint64_t fault_address = 0;  // CR2 for #PF
  std::uint64_t rip = 0;
  std::uint64_t rflags = 0;
  std::uint8_t cpl = 0;  // privilege level of the interrupted code
  bool external = false;  // an external interrupt or IPI, not an exception
  bool abort_access = false;
};

/// A handler runs on the interrupted context's fiber, at CPL 0. It receives the CPU it was
/// entered on; if it blocks (switches context), the context may resume on another CPU.
using TrapHandler = std::function<void(Cpu&, TrapFrame&)>;
/// The SYSCALL entry: reads the number and arguments from the register file and writes
/// the result to rax.
using SyscallHandler = std::function<void(Cpu&)>;

class VectorTable {
 public:
  void set(std::uint8_t vector, TrapHandler handler) { handlers_[vector] = std::move(handler); }
  void clear(std::uint8_t vector) { handlers_[vector] = nullptr; }
  const TrapHandler& get(std::uint8_t vector) const { return handlers_[vector]; }
  bool installed(std::uint8_t vector) const { return static_cast<bool>(handlers_[vector]); }

  void set_syscall_entry(SyscallHandler handler) { syscall_ = std::move(handler); }
  const SyscallHandler& syscall_entry() const { return syscall_; }

 private:
  std::array<TrapHandler, 256> handlers_;
  SyscallHandler syscall_;
};

}  // namespace ossim::cpu
