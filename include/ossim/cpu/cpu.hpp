#pragma once

/// @file
/// A simulated x86-64-like CPU.
///
/// A CPU executes the operations of the context currently on it: compute N cycles, load
/// or store at a virtual address, fetch an instruction, trap into the kernel (SYSCALL),
/// and a few privileged instructions (HLT, CLI/STI, CR writes, INVLPG). Each operation
/// advances the CPU's local clock at its configured frequency. Between operations lie the
/// instruction boundaries: there the CPU takes a pending external interrupt if IF is set,
/// and there it checks how far it has run ahead of the event queue. It may run ahead only
/// until its clock reaches the next pending event (plus the configured sync quantum,
/// default zero); then it hands control back to the engine and resumes when the engine
/// reaches its time. A long compute is split at the next event, so an interrupt lands at
/// the exact cycle it arrives.
///
/// Exceptions and interrupts are delivered by calling the handler from the loaded vector
/// table on the current context's fiber, at CPL 0, with IF cleared; when the handler
/// returns, the CPU restores the interrupted state (IRET) and, for a fault, retries the
/// operation. An exception with no handler becomes a double fault, and one during a double
/// fault shuts the CPU down (a triple fault): the CPU stops, the simulation goes on.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>

#include "ossim/cpu/context.hpp"
#include "ossim/cpu/registers.hpp"
#include "ossim/cpu/vector_table.hpp"
#include "ossim/dev/interrupt_target.hpp"
#include "ossim/mmu/mmu.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/resume_fiber_event.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::dev {
class LocalApic;
}

namespace ossim::cpu {

struct CpuConfig {
  std::uint64_t frequency_hz = 3'000'000'000;
  /// Cycles of a load or store that hits in the TLB (no cache model: all memory costs this).
  std::uint32_t memory_access_cycles = 1;
  /// Cycles to enter a handler for an exception or an external interrupt, and for SYSCALL.
  std::uint32_t exception_entry_cycles = 0;
  std::uint32_t interrupt_entry_cycles = 0;
  std::uint32_t syscall_entry_cycles = 0;
  /// How far a CPU may run past the next pending event before it syncs with the engine.
  /// Zero interleaves CPUs exactly; more trades accuracy of cross-CPU timing for speed.
  sim::Tick sync_quantum = 0;
  /// Faults in a row on one operation before the CPU declares it cannot make progress and
  /// shuts down (a handler that returns without fixing anything would loop forever).
  std::uint32_t fault_retry_limit = 64;
  mmu::MmuConfig mmu;
};

enum class CpuState : std::uint8_t {
  kOff,       // nothing to run
  kRunning,   // executing, or waiting for the engine to reach its clock
  kHalted,    // HLT: asleep until an interrupt
  kComputing, // in a computation that outlasts the next event: the engine runs meanwhile
  kShutdown,  // triple fault: stopped for good
};

struct CpuStats {
  std::uint64_t busy_cycles = 0;  // cycles spent executing operations
  sim::Tick halted_time = 0;      // time spent in HLT
  std::uint64_t interrupts = 0;   // external interrupts taken
  std::uint64_t exceptions = 0;   // exceptions delivered (page faults included)
  std::uint64_t page_faults = 0;
  std::uint64_t syscalls = 0;
  std::uint64_t engine_syncs = 0;     // times the CPU handed control back to the engine
  std::uint64_t context_switches = 0;
};

/// Thrown to unwind a context's fiber when its CPU shuts down (caught at the fiber base).
struct CpuShutdown {};

class Cpu final : public dev::InterruptTarget {
 public:
  Cpu(unsigned id, sim::Engine& engine, mmu::PhysicalMemory& memory, dev::LocalApic& apic,
      const CpuConfig& config);
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;
  ~Cpu();

  // ---- Identity and state ---------------------------------------------------------------
  unsigned id() const { return id_; }
  CpuState state() const { return state_; }
  const std::string& shutdown_reason() const { return shutdown_reason_; }
  /// The CPU's local clock: the time of the operation it is executing or will execute.
  /// In a computation the engine runs through (kComputing), the engine's time: the
  /// computation has got that far.
  sim::Tick now() const {
    if (state_ == CpuState::kComputing) [[unlikely]] return std::max(clock_, engine_now());
    return clock_;
  }
  std::uint64_t frequency_hz() const { return frequency_hz_; }
  sim::Tick cycles_to_ticks(std::uint64_t cycles) const;

  /// The context on this CPU (nullptr when off).
  Context* current() const { return current_; }
  /// The register file of the current context. Precondition: a context is on the CPU.
  RegisterFile& registers() { return current_->registers_; }
  const ControlRegisters& control() const { return control_; }
  unsigned cpl() const { return cpl_; }
  bool interrupts_enabled() const { return (current_->registers_.rflags & rflags::kInterruptEnable) != 0; }

  mmu::Mmu& mmu() { return mmu_; }
  mmu::PhysicalMemory& memory() { return memory_; }
  dev::LocalApic& apic() { return apic_; }
  sim::Engine& engine() { return engine_; }
  const CpuStats& stats() const { return stats_; }

  // ---- Host side: give the CPU something to run ----------------------------------------
  /// Puts `context` on this idle CPU and starts executing it at max(now(), engine.now()).
  /// The CPU begins at CPL 0 with interrupts disabled, like a CPU coming out of reset.
  void start(Context& context);
  /// LIDT for all entry points. The table must outlive its use.
  void load_vector_table(const VectorTable* table) { vectors_ = table; }

  // ---- Operations: called on the current context's fiber --------------------------------
  /// Executes `cycles` cycles of computation, interrupted at pending interrupts.
  void compute(std::uint64_t cycles);
  /// Executes computation for `duration` of the context's own time: time taken by
  /// interrupts, or by other contexts while this one is switched out, does not count.
  /// For workloads whose lengths are given in time (a job of 5 ms), exact to the
  /// picosecond whatever the frequency.
  void compute_for(sim::Tick duration);

  template <typename T>
  T load(mmu::VirtAddr address) {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    read_memory(address, &value, sizeof(T));
    return value;
  }
  template <typename T>
  void store(mmu::VirtAddr address, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    write_memory(address, &value, sizeof(T));
  }
  /// Loads and stores of any size, split at page boundaries. A typed access of up to 16
  /// bytes that crosses a page checks both pages before moving a byte; longer ones move
  /// page by page and resume at the faulting page, like REP MOVS.
  void read_memory(mmu::VirtAddr address, void* out, std::size_t bytes) {
    at_boundary().access(address, out, bytes, mmu::AccessType::kRead);
  }
  void write_memory(mmu::VirtAddr address, const void* in, std::size_t bytes) {
    at_boundary().access(address, const_cast<void*>(in), bytes, mmu::AccessType::kWrite);
  }
  /// As read_memory/write_memory, but a fault the handler marks abort_access makes the
  /// operation return false instead of shutting the CPU down (for copy_from_user).
  bool try_read_memory(mmu::VirtAddr address, void* out, std::size_t bytes);
  bool try_write_memory(mmu::VirtAddr address, const void* in, std::size_t bytes);
  /// An instruction fetch at `address` (sets rip): translated with execute permission.
  void fetch(mmu::VirtAddr address);

  /// Locked read-modify-write operations, like x86's LOCK CMPXCHG, XCHG and LOCK XADD.
  /// Each is one operation: one instruction boundary before it, one translation for
  /// writing (so it faults as a store would: a write to a read-only or copy-on-write page
  /// faults first, even when a compare-exchange ends up writing back the same value), and
  /// no boundary between the read and the write, so no other CPU runs in between. That is
  /// what makes them atomic. `T` is an integer of 1, 2, 4 or 8 bytes at an address aligned
  /// to its size (as C++ atomics require); a misaligned one raises #GP and, like any
  /// fault, is retried after the handler returns. Each returns the value the memory held
  /// before the operation.
  ///
  /// atomic_compare_exchange: stores `desired` if the memory holds `expected`.
  template <typename T>
  T atomic_compare_exchange(mmu::VirtAddr address, T expected, T desired) {
    return atomic_update<T>(address, [&](T old) { return old == expected ? desired : old; });
  }
  /// atomic_exchange: stores `desired`.
  template <typename T>
  T atomic_exchange(mmu::VirtAddr address, T desired) {
    return atomic_update<T>(address, [&](T) { return desired; });
  }
  /// atomic_fetch_add: adds `addend`, wrapping around as two's complement.
  template <typename T>
  T atomic_fetch_add(mmu::VirtAddr address, T addend) {
    using Unsigned = std::make_unsigned_t<T>;
    return atomic_update<T>(address, [&](T old) {
      return static_cast<T>(static_cast<Unsigned>(static_cast<Unsigned>(old) + static_cast<Unsigned>(addend)));
    });
  }

  /// Unsigned division; a zero divisor raises #DE.
  std::uint64_t divide(std::uint64_t dividend, std::uint64_t divisor);

  /// SYSCALL: enters the kernel's syscall entry at CPL 0 with the number in rax and the
  /// arguments in rdi, rsi, rdx, r10, r8, r9; returns rax as the entry left it. Without a
  /// syscall entry, raises #UD and returns rax unchanged.
  std::uint64_t syscall();

  // ---- Privileged operations (CPL 0; at CPL 3 they raise #GP) ------------------------
  /// HLT: sleeps until an interrupt, then returns after its handler has run.
  void halt();
  /// STI; HLT with the interrupt shadow: enables interrupts and sleeps, but an interrupt
  /// already pending wakes it at once, so one that arrived after the caller's last check
  /// (with IF clear) is not slept through. Returns after the handler has run.
  void safe_halt();
  /// One iteration of a spin-wait loop (`while (!done) pause;`). Only an event can make
  /// another CPU's store visible, so the CPU computes until the next pending event's time
  /// and lets the engine fire it (and what is due with it) before returning. Interrupts
  /// are taken at the boundary as by any operation when IF = 1. Returns the CPU the
  /// current context is on afterwards. Precondition: an event is pending
  /// (with none, no other CPU could ever end the wait; std::logic_error).
  Cpu& spin_wait();
  void disable_interrupts();  // CLI
  void enable_interrupts();   // STI
  void write_cr0(std::uint64_t value);
  void write_cr3(std::uint64_t value);
  void write_cr4(std::uint64_t value);
  void invlpg(mmu::VirtAddr address);
  void invpcid(mmu::InvpcidType type, std::uint16_t pcid, mmu::VirtAddr address);
  /// Drops to CPL 3 (as an IRET or SYSRET to user mode does), with IF set.
  void enter_user_mode();

  /// switch_to: puts `next` on this CPU and suspends the current context until some CPU
  /// switches back to it. Returns the CPU the caller is on when it resumes. Precondition:
  /// `next` is not running and not finished. With `cr3`, the switch also loads CR3 (a
  /// kernel's switch_mm and switch_to run back to back with interrupts off, so no
  /// instruction boundary lies between them).
  Cpu& switch_to(Context& next, std::optional<std::uint64_t> cr3 = std::nullopt);

  /// The last switch of a context whose work is done: puts `next` on this CPU and makes
  /// it the target the current context's fiber passes control to when its body returns.
  /// The caller must return from the fiber body right after (nothing may run between).
  void exit_to(Context& next, std::optional<std::uint64_t> cr3 = std::nullopt);
  /// Host side: takes the current context off this CPU and stops it (power-off). The
  /// context stays suspended where it was.
  void power_off();

  /// Charges time that is not cycles of this CPU (device access, modelled kernel costs).
  void stall(sim::Tick time) { clock_ += time; }

  // dev::InterruptTarget
  void interrupt_requested() override;

 private:
  /// The instruction boundary before an operation: takes pending interrupts, and syncs
  /// with the engine when events are due before the CPU's clock. Events due exactly at the
  /// clock wait: an operation that takes no time happens before them (a task that makes a
  /// call at the very time its slice ends or a timer expires makes the call first: it
  /// blocks, or exits, as the textbooks have a job start its I/O when its CPU burst ends).
  /// Computation does not run past them, though (sync_before_advancing).
  /// Returns the CPU the current context is on afterwards.
  Cpu& at_boundary() {
    if (!interrupt_pending_ && clock_ <= sync_limit()) [[likely]] return *this;
    return boundary_slow();
  }
  /// Before computation moves the clock on from an event's time: lets the events due at
  /// the clock fire (and takes the interrupts they raise), so that none is handled late.
  /// Events still pending when the CPU was resumed at exactly this time were scheduled
  /// after its own run event, so they come after it (without this, two CPUs at one time
  /// would hand the turn to each other forever).
  Cpu& sync_before_advancing() {
    Cpu* cpu = this;
    while (cpu->clock_ == cpu->sync_limit() && cpu->clock_ != cpu->resumed_at_) {
      cpu = &cpu->yield_to_engine().at_boundary();
    }
    return *cpu;
  }
  Cpu& boundary_slow();
  /// A computation from clock_ to `target` that outlasts the next pending event: rather
  /// than advance in steps to every event (with sync_quantum 0 two computing CPUs would
  /// leapfrog a cycle at a time), the CPU lets the engine run until `target` (nothing it
  /// does is visible before then) and is resumed at `target`, or earlier when an
  /// interrupt it can take arrives (interrupt_requested). Returns with the engine's time
  /// the time reached; the caller advances the clock by the computation done. The
  /// context stays on this CPU. Precondition: at a boundary, target > clock_.
  Cpu& compute_until(sim::Tick target);
  sim::Tick engine_now() const;
  /// HLT's sleep: hands control to the engine until an interrupt wakes the CPU, then takes
  /// it. Precondition: at a boundary, privileged.
  void sleep_until_interrupt();
  sim::Tick sync_limit() const { return sim::tick_add(engine_.next_event_time(), sync_quantum_); }

  static constexpr std::uint32_t kNoFault = ~std::uint32_t{0};

  /// One memory operation; the common case (one page, an L1 TLB hit that permits the
  /// access, RAM behind it) is inline and costs a TLB lookup and a copy. Returns false
  /// only when `may_abort` and a fault's handler aborted the access (copy_from_user).
  bool access(mmu::VirtAddr address, void* data, std::size_t bytes, mmu::AccessType type, bool may_abort = false) {
    if (((address & (mmu::kPageBytes - 1)) + bytes) <= mmu::kPageBytes && mmu::is_canonical(address)) [[likely]] {
      mmu::TlbEntry* entry = nullptr;
      if (mmu_.paging_enabled()) [[likely]] {
        entry = mmu_.l1_lookup(address, type);
        if (entry != nullptr && entry->host != nullptr && mmu::Mmu::allows(*entry, type, cpl_ == 3)) [[likely]] {
          std::byte* const host = reinterpret_cast<std::byte*>(entry->host_delta + address);
          if (type == mmu::AccessType::kWrite) {
            std::memcpy(host, data, bytes);
          } else {
            std::memcpy(data, host, bytes);
          }
          if (bytes != 0 && bytes <= 8) {
            advance_by(one_access_);
          } else {
            advance(access_cycles(bytes));
          }
          return true;
        }
        if (entry == nullptr) return access_after_miss(address, data, bytes, type, may_abort);
      }
      return access_after_lookup(entry, address, data, bytes, type, may_abort);
    }
    return access_slow(address, data, bytes, type, may_abort, kNoFault);
  }
  /// access() after the L1 TLB lookup found an entry that does not serve it alone
  /// (`entry`; nullptr with paging off).
  bool access_after_lookup(mmu::TlbEntry* entry, mmu::VirtAddr address, void* data, std::size_t bytes,
                           mmu::AccessType type, bool may_abort);
  /// access() after the L1 TLB lookup found no entry (paging on): the common miss goes from
  /// the MMU's fill straight to the copy, with no Translation in between.
  bool access_after_miss(mmu::VirtAddr address, void* data, std::size_t bytes, mmu::AccessType type,
                         bool may_abort);
  /// The end of a one-page access whose bytes are at `host`: moves them and charges the
  /// cycles.
  void move_and_charge(std::byte* host, void* data, std::size_t bytes, mmu::AccessType type);
  /// The cycles to move `bytes`: memory_access_cycles per 8 bytes or part of them, the
  /// same whether or not the access crosses a page.
  std::uint64_t access_cycles(std::size_t bytes) const {
    return static_cast<std::uint64_t>(memory_access_cycles_) * ((bytes + 7) / 8);
  }
  /// Any access: page by page, with faults delivered and the faulting page retried.
  /// `first_fault` is the error code of a translation of `address` that already failed.
  /// Returns false only for an access a handler aborted, when `may_abort`.
  bool access_slow(mmu::VirtAddr address, void* data, std::size_t bytes, mmu::AccessType type,
                   bool may_abort, std::uint32_t first_fault);
  /// The common part of the atomic operations: checks the alignment, translates for a
  /// write (delivering faults until it succeeds), then reads, applies `update` and writes
  /// back with no boundary in between.
  template <typename T, typename Update>
  T atomic_update(mmu::VirtAddr address, Update&& update) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
    mmu::PhysAddr physical = 0;
    Cpu& cpu = at_boundary().lock_for_update(address, sizeof(T), physical);
    T old;
    cpu.memory_.read_bytes(physical, &old, sizeof(T));
    const T next = update(old);
    cpu.memory_.write_bytes(physical, &next, sizeof(T));
    cpu.advance(cpu.access_cycles(sizeof(T)));
    return old;
  }
  /// An atomic operation's alignment check (#GP) and write translation, with faults
  /// delivered until it succeeds. Returns the CPU the context is on afterwards.
  Cpu& lock_for_update(mmu::VirtAddr address, std::size_t bytes, mmu::PhysAddr& physical);
  /// Translates one page for an access, delivering faults until it succeeds. Returns the
  /// CPU the context is on afterwards, or nullptr if a handler aborted the access.
  Cpu* translate_or_fault(mmu::VirtAddr address, mmu::AccessType type, bool may_abort,
                          std::uint32_t first_fault, mmu::PhysAddr& physical);

  /// Advances the clock by `cycles` of this CPU, in 32.32 fixed-point picoseconds so that
  /// no fraction of a picosecond is lost over billions of cycles. The common case (a
  /// product that fits 64 bits) avoids 128-bit arithmetic.
  void advance(std::uint64_t cycles) {
    stats_.busy_cycles += cycles;
    if (cycles <= max_cycles_in_64_bits_) [[likely]] {
      const std::uint64_t amount = cycles * ps_per_cycle_q32_;
      const std::uint64_t fraction = std::uint64_t{clock_fraction_} + (amount & 0xFFFF'FFFFu);
      clock_ += (amount >> 32) + (fraction >> 32);
      clock_fraction_ = static_cast<std::uint32_t>(fraction);
      return;
    }
    const unsigned __int128 t = static_cast<unsigned __int128>(cycles) * ps_per_cycle_q32_ + clock_fraction_;
    clock_ += static_cast<sim::Tick>(t >> 32);
    clock_fraction_ = static_cast<std::uint32_t>(t);
  }
  /// A number of cycles as a clock increment: whole picoseconds and the 32-bit fraction.
  struct CycleAmount {
    std::uint64_t cycles = 0;
    sim::Tick ticks = 0;
    std::uint32_t fraction = 0;
  };
  CycleAmount amount_of(std::uint64_t cycles) const {
    const unsigned __int128 t = static_cast<unsigned __int128>(cycles) * ps_per_cycle_q32_;
    return CycleAmount{cycles, static_cast<sim::Tick>(t >> 32), static_cast<std::uint32_t>(t)};
  }
  /// advance(amount.cycles), from the amount worked out beforehand.
  void advance_by(const CycleAmount& amount) {
    stats_.busy_cycles += amount.cycles;
    const std::uint64_t fraction = std::uint64_t{clock_fraction_} + amount.fraction;
    clock_ += amount.ticks + (fraction >> 32);
    clock_fraction_ = static_cast<std::uint32_t>(fraction);
  }
  /// The cycles until the clock reaches `limit` (at least one). Precondition: clock_ < limit.
  std::uint64_t cycles_until(sim::Tick limit) const;

  enum class Delivery { kRetry, kAbort };
  /// Delivers an exception to its handler; returns the CPU the context is on afterwards.
  Cpu& raise(std::uint8_t vector, std::uint64_t error_code, std::uint64_t fault_address = 0,
             Delivery* outcome = nullptr);
  Cpu& deliver(TrapFrame& frame, const TrapHandler& handler, std::uint32_t entry_cycles);
  Cpu& take_interrupt();
  Cpu& yield_to_engine();
  [[noreturn]] void shutdown(std::string reason);
  bool privileged_ok();
  void apply_paging_controls();
  /// What switch_to and exit_to share: loads `cr3` if given and makes `next` current;
  /// returns the context that was.
  Context& hand_over(Context& next, std::optional<std::uint64_t> cr3);
  /// The run event's work, on whichever fiber fires it: the current context's fiber,
  /// to be resumed.
  sim::Fiber& resume_current();
  /// The current context's body has ended without handing the CPU over (Context calls
  /// this on its way out): the CPU is left with nothing to run.
  void release_ended_context();
  friend class Context;

  unsigned id_;
  sim::Engine& engine_;
  mmu::PhysicalMemory& memory_;
  dev::LocalApic& apic_;
  mmu::Mmu mmu_;
  const VectorTable* vectors_ = nullptr;
  Context* current_ = nullptr;
  ControlRegisters control_;
  unsigned cpl_ = 0;
  CpuState state_ = CpuState::kOff;
  bool interrupt_pending_ = false;  // the APIC asked; checked at the next boundary
  bool in_double_fault_ = false;  // a #DF handler is running: another fault is a triple fault

  sim::Tick clock_ = 0;
  std::uint32_t clock_fraction_ = 0;
  std::uint64_t ps_per_cycle_q32_;
  std::uint64_t max_cycles_in_64_bits_;  // cycles * ps_per_cycle_q32_ fits 64 bits up to this
  std::uint64_t frequency_hz_;
  sim::Tick sync_quantum_;
  sim::Tick halted_since_ = 0;
  sim::Tick resumed_at_ = sim::kTickNever;  // the engine time of the last run event
  std::uint32_t memory_access_cycles_;
  CycleAmount one_access_;  // access_cycles(8), as a clock increment
  std::uint32_t exception_entry_cycles_;
  std::uint32_t interrupt_entry_cycles_;
  std::uint32_t syscall_entry_cycles_;
  std::uint32_t fault_retry_limit_;

  sim::ResumeFiberEvent run_event_;  // resumes the current context when the engine reaches clock_
  CpuStats stats_;
  std::string shutdown_reason_;
};

}  // namespace ossim::cpu
