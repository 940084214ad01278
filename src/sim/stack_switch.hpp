#pragma once

/// @file
/// ossim's own stack switch (x86-64, System V ABI, ELF only; stack_switch_x86_64.S): the
/// one machine-level operation a fiber switch needs. The build defines
/// OSSIM_NATIVE_STACK_SWITCH where it assembles that file; elsewhere fibers switch with
/// Boost.Context alone.
///
/// Why not Boost.Context's jump_fcontext everywhere: it resumes the other side with an
/// indirect jump to its saved return address. The call into jump_fcontext pushed an entry
/// on the host CPU's return-stack predictor that nothing pops, so after every switch each
/// return on the resumed side is predicted one frame off, and mispredicted, all the way
/// up its stack (a dozen returns from schedule() to the workload). Returning with `ret`
/// keeps the predictor in step: a switch between two fibers twelve calls deep takes 74
/// instead of 163 ns, and the pipe ping-pong 544 instead of 616 ns a round trip
/// (docs/performance.md).

#include <cstdint>

#if defined(OSSIM_NATIVE_STACK_SWITCH)

extern "C" {
/// Saves the running context's callee-saved registers, MXCSR and x87 control word on its
/// own stack, stores that stack pointer in `*save`, and resumes the context whose saved
/// stack pointer is `resume`. Returns when something switches back to `*save`.
void ossim_stack_switch(void** save, void* resume);
/// Where a prepared stack starts (see prepare_stack).
void ossim_stack_start();
}

namespace ossim::sim::stack_switch {

inline constexpr bool kAvailable = true;

/// Lays out, under `top` (16-byte aligned, the highest address of a fresh stack), a
/// suspended context that, when first resumed, calls `entry(argument)` with the ABI's
/// stack alignment and the switching context's MXCSR and x87 control word. `entry` must
/// never return. Returns the saved stack pointer to resume.
inline void* prepare_stack(void* top, void (*entry)(void*), void* argument) {
  auto* const slot = static_cast<std::uint64_t*>(top);
  std::uint32_t mxcsr = 0;
  std::uint16_t fpu_control = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpu_control));
  slot[-1] = reinterpret_cast<std::uint64_t>(&ossim_stack_start);  // resume address
  slot[-2] = 0;                                                     // rbp
  slot[-3] = reinterpret_cast<std::uint64_t>(argument);             // rbx
  slot[-4] = reinterpret_cast<std::uint64_t>(entry);                // r12
  slot[-5] = 0;                                                     // r13
  slot[-6] = 0;                                                     // r14
  slot[-7] = 0;                                                     // r15
  slot[-8] = mxcsr | (std::uint64_t{fpu_control} << 32);
  return &slot[-8];
}

}  // namespace ossim::sim::stack_switch

#else

namespace ossim::sim::stack_switch {
inline constexpr bool kAvailable = false;
}  // namespace ossim::sim::stack_switch

#endif
