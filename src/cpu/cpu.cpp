#include "ossim/cpu/cpu.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "ossim/dev/local_apic.hpp"

namespace ossim::cpu {

namespace {

/// Moves an access's `bytes` bytes between the caller's `data` and RAM at `host`. Inline,
/// so that a constant size becomes one move.
inline void move_bytes(std::byte* host, void* data, std::size_t bytes, mmu::AccessType type) {
  if (type == mmu::AccessType::kWrite) {
    std::memcpy(host, data, bytes);
  } else {
    std::memcpy(data, host, bytes);
  }
}

}  // namespace

Cpu::Cpu(unsigned id, sim::Engine& engine, mmu::PhysicalMemory& memory, dev::LocalApic& apic,
         const CpuConfig& config)
    : id_(id),
      engine_(engine),
      memory_(memory),
      apic_(apic),
      mmu_(memory, config.mmu, engine.random_stream(fmt::format("cpu{}.mmu", id))),
      // Rounded up: N cycles then never come out a picosecond short of their exact time
      // (3000 cycles at 3 GHz are 1 us, not 999 999 ps); the excess stays below one
      // picosecond per 2^32 cycles.
      ps_per_cycle_q32_(static_cast<std::uint64_t>(
          ((static_cast<unsigned __int128>(sim::kSecond) << 32) + std::max<std::uint64_t>(config.frequency_hz, 1) - 1) /
          std::max<std::uint64_t>(config.frequency_hz, 1))),
      max_cycles_in_64_bits_(~std::uint64_t{0} / ps_per_cycle_q32_),
      frequency_hz_(std::max<std::uint64_t>(config.frequency_hz, 1)),
      sync_quantum_(config.sync_quantum),
      memory_access_cycles_(config.memory_access_cycles),
      exception_entry_cycles_(config.exception_entry_cycles),
      interrupt_entry_cycles_(config.interrupt_entry_cycles),
      syscall_entry_cycles_(config.syscall_entry_cycles),
      fault_retry_limit_(std::max<std::uint32_t>(config.fault_retry_limit, 1)),
      run_event_(engine.fibers(), [this]() -> sim::Fiber& { return resume_current(); }, "cpu.run") {
  one_access_ = amount_of(access_cycles(8));
  apply_paging_controls();
}

Cpu::~Cpu() {
  if (current_ != nullptr) current_->cpu_ = nullptr;
}

sim::Tick Cpu::cycles_to_ticks(std::uint64_t cycles) const {
  return static_cast<sim::Tick>((static_cast<unsigned __int128>(cycles) * ps_per_cycle_q32_) >> 32);
}

std::uint64_t Cpu::cycles_until(sim::Tick limit) const {
  const unsigned __int128 need =
      (static_cast<unsigned __int128>(limit - clock_) << 32) - clock_fraction_;
  const unsigned __int128 cycles = (need + ps_per_cycle_q32_ - 1) / ps_per_cycle_q32_;
  return cycles > ~std::uint64_t{0} ? ~std::uint64_t{0} : static_cast<std::uint64_t>(cycles);
}

// ---- Host side ---------------------------------------------------------------------------

void Cpu::start(Context& context) {
  assert(state_ == CpuState::kOff && !context.running() && !context.finished());
  current_ = &context;
  context.cpu_ = this;
  cpl_ = 0;
  context.registers_.rflags &= ~rflags::kInterruptEnable;
  state_ = CpuState::kRunning;
  if (engine_.now() > clock_) {
    clock_ = engine_.now();
    clock_fraction_ = 0;
  }
  engine_.schedule(run_event_, clock_);
}

sim::Fiber& Cpu::resume_current() {
  resumed_at_ = engine_.now();
  return current_->fiber();
}

void Cpu::release_ended_context() {
  current_->cpu_ = nullptr;
  current_ = nullptr;
  if (state_ != CpuState::kShutdown) state_ = CpuState::kOff;
}

void Cpu::interrupt_requested() {
  interrupt_pending_ = true;
  if (state_ == CpuState::kComputing) {
    // The computation stops where the interrupt arrives (not before the clock), and the
    // CPU takes it at that boundary.
    if (interrupts_enabled() && apic_.has_deliverable()) {
      const sim::Tick at = std::max(engine_.now(), clock_);
      if (at < run_event_.when()) engine_.reschedule(run_event_, at);
    }
    return;
  }
  if (state_ != CpuState::kHalted || !interrupts_enabled()) return;
  // Wake from HLT at the time the interrupt arrives.
  if (engine_.now() > clock_) {
    clock_ = engine_.now();
    clock_fraction_ = 0;
  }
  stats_.halted_time += clock_ - halted_since_;
  state_ = CpuState::kRunning;
  engine_.schedule(run_event_, clock_);
}

// ---- Boundaries, interrupts and exceptions -----------------------------------------------

Cpu& Cpu::boundary_slow() {
  Cpu* cpu = this;
  for (;;) {
    if (cpu->interrupt_pending_ && cpu->interrupts_enabled()) {
      if (cpu->apic_.has_deliverable()) {
        cpu = &cpu->take_interrupt();
        continue;
      }
      cpu->interrupt_pending_ = false;
    }
    if (cpu->clock_ > cpu->sync_limit()) {
      cpu = &cpu->yield_to_engine();
      continue;
    }
    return *cpu;
  }
}

Cpu& Cpu::yield_to_engine() {
  // Most of the time the events due are timers and the like: firing them here, in the
  // order the engine would have, spares two fiber switches and the run event.
  if (engine_.run_ahead_to(run_event_, clock_)) {
    resumed_at_ = clock_;
    return *this;
  }
  ++stats_.engine_syncs;
  Context& self = *current_;
  engine_.yield_fiber();
  return self.cpu();
}

Cpu& Cpu::take_interrupt() {
  const int vector = apic_.acknowledge();
  if (vector < 0) return *this;
  ++stats_.interrupts;
  if (vectors_ == nullptr || !vectors_->installed(static_cast<std::uint8_t>(vector))) {
    // No gate for this vector: the interrupt is acknowledged and dropped.
    apic_.eoi();
    return *this;
  }
  TrapFrame frame;
  frame.vector = static_cast<std::uint8_t>(vector);
  frame.external = true;
  return deliver(frame, vectors_->get(frame.vector), interrupt_entry_cycles_);
}

Cpu& Cpu::deliver(TrapFrame& frame, const TrapHandler& handler, std::uint32_t entry_cycles) {
  Context& context = *current_;
  frame.rip = context.registers_.rip;
  frame.rflags = context.registers_.rflags;
  frame.cpl = static_cast<std::uint8_t>(cpl_);
  advance(entry_cycles);
  cpl_ = 0;
  context.registers_.rflags &= ~rflags::kInterruptEnable;  // interrupt gate
  handler(*this, frame);
  // IRET, on whichever CPU the context is on now.
  Cpu& cpu = context.cpu();
  cpu.cpl_ = frame.cpl;
  context.registers_.rflags = frame.rflags | rflags::kAlwaysOne;
  context.registers_.rip = frame.rip;
  return cpu;
}

Cpu& Cpu::raise(std::uint8_t vector, std::uint64_t error_code, std::uint64_t fault_address,
                Delivery* outcome) {
  ++stats_.exceptions;
  if (vector == vector::kPageFault) {
    ++stats_.page_faults;
    control_.cr2 = fault_address;
  }
  const bool has_handler = vectors_ != nullptr && vectors_->installed(vector);
  if (!has_handler) {
    // No gate: a double fault; no #DF gate, or no gate while handling a #DF: a triple
    // fault, which shuts the CPU down.
    if (vector == vector::kDoubleFault || in_double_fault_ || vectors_ == nullptr ||
        !vectors_->installed(vector::kDoubleFault)) {
      shutdown(fmt::format("triple fault: vector {} (error code {:#x}, address {:#x}) with no handler",
                           vector, error_code, fault_address));
    }
    in_double_fault_ = true;
    Cpu& cpu = raise(vector::kDoubleFault, 0, 0, outcome);
    in_double_fault_ = false;
    cpu.in_double_fault_ = false;
    return cpu;
  }
  TrapFrame frame;
  frame.vector = vector;
  frame.error_code = vector::has_error_code(vector) ? error_code : 0;
  frame.fault_address = fault_address;
  Cpu& cpu = deliver(frame, vectors_->get(vector), exception_entry_cycles_);
  if (outcome != nullptr) *outcome = frame.abort_access ? Delivery::kAbort : Delivery::kRetry;
  return cpu;
}

void Cpu::shutdown(std::string reason) {
  state_ = CpuState::kShutdown;
  shutdown_reason_ = std::move(reason);
  throw CpuShutdown{};
}

bool Cpu::privileged_ok() {
  if (cpl_ == 0) return true;
  raise(vector::kGeneralProtection, 0);
  return false;
}

// ---- Memory -------------------------------------------------------------------------------

Cpu* Cpu::translate_or_fault(mmu::VirtAddr address, mmu::AccessType type, bool may_abort,
                             std::uint32_t first_fault, mmu::PhysAddr& physical) {
  Cpu* cpu = this;
  std::uint32_t error = first_fault;
  for (std::uint32_t faults = 0;; ++faults) {
    const bool canonical = mmu::is_canonical(address);
    if (canonical && error == kNoFault) {
      const mmu::Translation t = cpu->mmu_.translate(address, type, cpu->cpl_ == 3);
      cpu->clock_ += t.latency;
      if (t.ok) {
        physical = t.address;
        return cpu;
      }
      error = t.error_code;
    }
    if (faults >= cpu->fault_retry_limit_) {
      cpu->shutdown(fmt::format("no progress: {} faults in a row at {:#x}", faults, address));
    }
    Delivery outcome = Delivery::kRetry;
    cpu = canonical ? &cpu->raise(vector::kPageFault, error, address, &outcome)
                    : &cpu->raise(vector::kGeneralProtection, 0, 0, &outcome);
    error = kNoFault;
    if (outcome == Delivery::kAbort) {
      if (may_abort) return nullptr;
      cpu->shutdown(fmt::format("kernel oops: unrecoverable fault at {:#x}", address));
    }
  }
}

// Inline into both ends of a miss: it is the whole of their common case.
[[gnu::always_inline]] inline void Cpu::move_and_charge(std::byte* host, void* data, std::size_t bytes,
                                                        mmu::AccessType type) {
  // Nearly every access is of 1, 2, 4 or 8 bytes: each is one move, not a memcpy call.
  switch (bytes) {
    case 1: move_bytes(host, data, 1, type); break;
    case 2: move_bytes(host, data, 2, type); break;
    case 4: move_bytes(host, data, 4, type); break;
    case 8: move_bytes(host, data, 8, type); break;
    default: move_bytes(host, data, bytes, type); break;
  }
  if (bytes != 0 && bytes <= 8) {
    advance_by(one_access_);
  } else {
    advance(access_cycles(bytes));
  }
}

bool Cpu::access_after_lookup(mmu::TlbEntry* entry, mmu::VirtAddr address, void* data, std::size_t bytes,
                              mmu::AccessType type, bool may_abort) {
  const mmu::Translation t = mmu_.translate_from(entry, address, type, cpl_ == 3);
  clock_ += t.latency;
  if (t.host != nullptr) [[likely]] {
    move_and_charge(t.host, data, bytes, type);
    return true;
  }
  return access_slow(address, data, bytes, type, may_abort, t.ok ? kNoFault : t.error_code);
}

bool Cpu::access_after_miss(mmu::VirtAddr address, void* data, std::size_t bytes, mmu::AccessType type,
                            bool may_abort) {
  std::uint32_t error_code = kNoFault;  // stays so unless the translation faults
  const mmu::Mmu::MissFill fill = mmu_.translate_l1_miss(address, type, cpl_ == 3, error_code);
  clock_ += fill.latency;
  if (fill.entry != nullptr && fill.entry->host != nullptr) [[likely]] {
    move_and_charge(fill.entry->host_address(address), data, bytes, type);
    return true;
  }
  return access_slow(address, data, bytes, type, may_abort, error_code);
}

bool Cpu::access_slow(mmu::VirtAddr address, void* data, std::size_t bytes, mmu::AccessType type,
                      bool may_abort, std::uint32_t first_fault) {
  auto* cursor = static_cast<std::byte*>(data);
  Cpu* cpu = this;
  const std::size_t first_chunk =
      std::min<std::size_t>(bytes, mmu::kPageBytes - (address & (mmu::kPageBytes - 1)));
  // One instruction's access (up to 16 bytes) is checked on both pages before any byte
  // moves, so it either happens whole or faults with memory untouched.
  if (bytes <= 16 && first_chunk < bytes) {
    mmu::PhysAddr ignored = 0;
    cpu = cpu->translate_or_fault(address + first_chunk, type, may_abort, kNoFault, ignored);
    if (cpu == nullptr) return false;
  }
  std::size_t done = 0;
  while (done < bytes) {
    const mmu::VirtAddr at = address + done;
    const std::size_t chunk =
        std::min<std::size_t>(bytes - done, mmu::kPageBytes - (at & (mmu::kPageBytes - 1)));
    mmu::PhysAddr physical = 0;
    cpu = cpu->translate_or_fault(at, type, may_abort, done == 0 ? first_fault : kNoFault, physical);
    if (cpu == nullptr) return false;
    if (type == mmu::AccessType::kWrite) {
      cpu->memory_.write_bytes(physical, cursor + done, chunk);
    } else {
      cpu->memory_.read_bytes(physical, cursor + done, chunk);
    }
    cpu->advance(cpu->access_cycles(chunk));
    done += chunk;
  }
  return true;
}

bool Cpu::try_read_memory(mmu::VirtAddr address, void* out, std::size_t bytes) {
  return at_boundary().access(address, out, bytes, mmu::AccessType::kRead, true);
}

bool Cpu::try_write_memory(mmu::VirtAddr address, const void* in, std::size_t bytes) {
  return at_boundary().access(address, const_cast<void*>(in), bytes, mmu::AccessType::kWrite, true);
}

Cpu& Cpu::lock_for_update(mmu::VirtAddr address, std::size_t bytes, mmu::PhysAddr& physical) {
  Cpu* cpu = this;
  // A misaligned atomic could span two pages, and then it would need two translations
  // with a fault possible between them; hardware that detects split locks refuses them
  // too. The fault is retried like any other, so only a handler that ends the context
  // (a kernel's SIGSEGV) gets past it.
  for (std::uint32_t faults = 0; address % bytes != 0; ++faults) {
    if (faults >= cpu->fault_retry_limit_) {
      cpu->shutdown(fmt::format("no progress: misaligned atomic access at {:#x}", address));
    }
    cpu = &cpu->raise(vector::kGeneralProtection, 0);
  }
  return *cpu->translate_or_fault(address, mmu::AccessType::kWrite, false, kNoFault, physical);
}

void Cpu::fetch(mmu::VirtAddr address) {
  Cpu& cpu = at_boundary();
  mmu::PhysAddr ignored = 0;
  Cpu* now = cpu.translate_or_fault(address, mmu::AccessType::kExecute, false, kNoFault, ignored);
  now->current_->registers_.rip = address;
  now->advance(now->memory_access_cycles_);
}

// ---- Computation and traps ---------------------------------------------------------------

void Cpu::compute(std::uint64_t cycles) {
  Cpu* cpu = &at_boundary();
  while (cycles > 0) {
    cpu = &cpu->sync_before_advancing();
    const sim::Tick limit = cpu->sync_limit();
    if (limit == sim::kTickNever || cycles <= cpu->cycles_until(limit)) {
      cpu->advance(cycles);  // nothing due before it ends
      return;
    }
    // Events due meanwhile: the engine runs them while the CPU computes.
    const sim::Tick target = sim::tick_add(cpu->clock_, cpu->cycles_to_ticks(cycles) + 1);
    cpu = &cpu->compute_until(target);
    const sim::Tick reached = cpu->engine_.now();
    const std::uint64_t done = reached <= cpu->clock_ ? 0 : std::min(cycles, cpu->cycles_until(reached));
    cpu->advance(done);
    cycles -= done;
    if (cycles > 0) cpu = &cpu->at_boundary();
  }
}

void Cpu::compute_for(sim::Tick duration) {
  Cpu* cpu = &at_boundary();
  while (duration > 0) {
    cpu = &cpu->sync_before_advancing();
    const sim::Tick target = sim::tick_add(cpu->clock_, duration);
    sim::Tick chunk = duration;
    if (target > cpu->sync_limit()) {
      // Events due meanwhile: the engine runs them while the CPU computes.
      cpu = &cpu->compute_until(target);
      const sim::Tick reached = cpu->engine_.now();
      chunk = reached <= cpu->clock_ ? 0 : std::min(duration, reached - cpu->clock_);
    }
    cpu->clock_ += chunk;
    cpu->stats_.busy_cycles += static_cast<std::uint64_t>(static_cast<unsigned __int128>(chunk) * cpu->frequency_hz_ /
                                                          sim::kSecond);
    duration -= chunk;
    if (duration > 0) cpu = &cpu->at_boundary();
  }
}

sim::Tick Cpu::engine_now() const { return engine_.now(); }

Cpu& Cpu::spin_wait() {
  Cpu* cpu = &at_boundary();
  const sim::Tick next = cpu->engine_.next_event_time();
  if (next == sim::kTickNever) throw std::logic_error("spin-wait with no event pending: the wait could never end");
  if (next > cpu->clock_) cpu->compute_for(next - cpu->clock_);
  return cpu->yield_to_engine().at_boundary();
}

Cpu& Cpu::compute_until(sim::Tick target) {
  assert(target > clock_);
  Context& self = *current_;
  state_ = CpuState::kComputing;
  ++stats_.engine_syncs;
  engine_.schedule(run_event_, target);
  engine_.yield_fiber();
  Cpu& cpu = self.cpu();
  cpu.state_ = CpuState::kRunning;
  return cpu;
}

std::uint64_t Cpu::divide(std::uint64_t dividend, std::uint64_t divisor) {
  Cpu* cpu = &at_boundary();
  for (std::uint32_t faults = 0; divisor == 0; ++faults) {
    if (faults >= cpu->fault_retry_limit_) cpu->shutdown("no progress: repeated #DE");
    cpu = &cpu->raise(vector::kDivideError, 0);
  }
  cpu->advance(1);
  return dividend / divisor;
}

std::uint64_t Cpu::syscall() {
  Cpu* cpu = &at_boundary();
  Context& context = *cpu->current_;
  RegisterFile& regs = context.registers_;
  if (cpu->vectors_ == nullptr || !cpu->vectors_->syscall_entry()) {
    cpu->raise(vector::kInvalidOpcode, 0);
    return regs.rax;
  }
  ++cpu->stats_.syscalls;
  // SYSCALL: rcx <- rip, r11 <- rflags, IF masked (Linux's IA32_FMASK), CPL 0.
  regs.rcx = regs.rip;
  regs.r11 = regs.rflags;
  const unsigned caller_cpl = cpu->cpl_;
  cpu->advance(cpu->syscall_entry_cycles_);
  cpu->cpl_ = 0;
  regs.rflags &= ~rflags::kInterruptEnable;
  cpu->vectors_->syscall_entry()(*cpu);
  // SYSRET on whichever CPU the context is on now. It returns to the caller's privilege
  // (SYSRET proper always goes to CPL 3; bare-metal kernel code may also trap).
  Cpu& now = context.cpu();
  now.cpl_ = caller_cpl;
  regs.rflags = regs.r11 | rflags::kAlwaysOne;
  regs.rip = regs.rcx;
  return regs.rax;
}

// ---- Privileged operations ---------------------------------------------------------------

void Cpu::sleep_until_interrupt() {
  Context& self = *current_;
  state_ = CpuState::kHalted;
  halted_since_ = clock_;
  engine_.yield_fiber();
  // Woken by an interrupt: take it before HLT returns.
  self.cpu().at_boundary();
}

void Cpu::halt() {
  Cpu* cpu = &at_boundary();
  if (!cpu->privileged_ok()) return;
  cpu->sleep_until_interrupt();
}

void Cpu::safe_halt() {
  Cpu* cpu = &at_boundary();
  if (!cpu->privileged_ok()) return;
  cpu->registers().rflags |= rflags::kInterruptEnable;
  if (cpu->interrupt_pending_ && cpu->apic_.has_deliverable()) {
    // Pending before the HLT: the interrupt shadow ends and the CPU takes it, no sleep.
    cpu->take_interrupt();
    return;
  }
  cpu->interrupt_pending_ = false;
  cpu->sleep_until_interrupt();
}

void Cpu::disable_interrupts() {
  Cpu& cpu = at_boundary();
  if (cpu.privileged_ok()) cpu.registers().rflags &= ~rflags::kInterruptEnable;
}

void Cpu::enable_interrupts() {
  Cpu& cpu = at_boundary();
  if (!cpu.privileged_ok()) return;
  // An interrupt that arrived while IF was clear left interrupt_pending_ set (the boundary
  // clears it only with IF set), so it is taken at the next boundary.
  cpu.registers().rflags |= rflags::kInterruptEnable;
}

void Cpu::apply_paging_controls() {
  mmu::PagingMode mode;
  mode.write_protect = (control_.cr0 & cr0::kWriteProtect) != 0;
  mode.global_pages = (control_.cr4 & cr4::kGlobalPages) != 0;
  mode.smep = (control_.cr4 & cr4::kSmep) != 0;
  mode.five_level = (control_.cr4 & cr4::kFiveLevel) != 0;
  mmu_.set_mode(mode, (control_.cr4 & cr4::kPcid) != 0);
  mmu_.set_paging_enabled((control_.cr0 & cr0::kPaging) != 0);
}

void Cpu::write_cr0(std::uint64_t value) {
  Cpu& cpu = at_boundary();
  if (!cpu.privileged_ok()) return;
  const bool paging_changed = ((cpu.control_.cr0 ^ value) & cr0::kPaging) != 0;
  cpu.control_.cr0 = value;
  cpu.apply_paging_controls();
  if (paging_changed) cpu.mmu_.flush_all(true);
}

void Cpu::write_cr3(std::uint64_t value) {
  Cpu& cpu = at_boundary();
  if (!cpu.privileged_ok()) return;
  cpu.control_.cr3 = value & ~kCr3NoFlush;
  cpu.mmu_.load_cr3(value);
}

void Cpu::write_cr4(std::uint64_t value) {
  Cpu& cpu = at_boundary();
  if (!cpu.privileged_ok()) return;
  cpu.control_.cr4 = value;
  cpu.apply_paging_controls();
}

void Cpu::invlpg(mmu::VirtAddr address) {
  Cpu& cpu = at_boundary();
  if (cpu.privileged_ok()) cpu.mmu_.invlpg(address);
}

void Cpu::invpcid(mmu::InvpcidType type, std::uint16_t pcid, mmu::VirtAddr address) {
  Cpu& cpu = at_boundary();
  if (cpu.privileged_ok()) cpu.mmu_.invpcid(type, pcid, address);
}

void Cpu::enter_user_mode() {
  Cpu& cpu = at_boundary();
  if (!cpu.privileged_ok()) return;
  cpu.cpl_ = 3;
  cpu.registers().rflags |= rflags::kInterruptEnable;
}

Context& Cpu::hand_over(Context& next, std::optional<std::uint64_t> cr3) {
  assert(!next.running() && !next.finished());
  if (cr3) {
    control_.cr3 = *cr3 & ~kCr3NoFlush;
    mmu_.load_cr3(*cr3);
  }
  Context& prev = *current_;
  prev.cpu_ = nullptr;
  next.cpu_ = this;
  current_ = &next;
  ++stats_.context_switches;
  return prev;
}

Cpu& Cpu::switch_to(Context& next, std::optional<std::uint64_t> cr3) {
  Context& prev = hand_over(next, cr3);
  engine_.fibers().switch_to(next.fiber());
  return prev.cpu();
}

void Cpu::exit_to(Context& next, std::optional<std::uint64_t> cr3) {
  hand_over(next, cr3).fiber().set_finish_target(next.fiber());
}

void Cpu::power_off() {
  if (current_ != nullptr) current_->cpu_ = nullptr;
  current_ = nullptr;
  engine_.cancel(run_event_);
  if (state_ == CpuState::kHalted) stats_.halted_time += std::max(engine_.now(), clock_) - halted_since_;
  if (state_ != CpuState::kShutdown) state_ = CpuState::kOff;
}

}  // namespace ossim::cpu
