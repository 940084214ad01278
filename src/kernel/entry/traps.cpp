// Kernel entry and exit: the syscall entry, exceptions, external interrupts, and the
// return-to-user path where a task acts on need_resched and on pending signals.
//
// Time accounting is exact: a task's user time runs from its return to user mode to its
// next kernel entry, and system time the other way round, on its CPU's clock.

#include "kernel/block/disk_driver.hpp"
#include "kernel/entry/syscall_table.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/trace_points.hpp"

namespace ossim::kernel {

void KernelCore::enter_kernel(Task& task, sim::Tick now) {
  if (!task.in_user) return;
  task.acct.user_time += now - task.mode_since;
  task.mode_since = now;
  task.in_user = false;
}

void KernelCore::leave_kernel(Task& task, sim::Tick now) {
  if (task.in_user) return;
  task.acct.system_time += now - task.mode_since;
  task.mode_since = now;
  task.in_user = true;
}

void KernelCore::stop_mode_clock(Task& task, sim::Tick now) {
  if (task.idle || now <= task.mode_since) return;
  (task.in_user ? task.acct.user_time : task.acct.system_time) += now - task.mode_since;
  task.mode_since = now;
}

void KernelCore::syscall_entry(cpu::Cpu& cpu) {
  Task& task = current(cpu);
  enter_kernel(task, cpu.now());
  cpu.stall(config_.costs.syscall_entry);
  ++stats_.syscalls;
  ++task.acct.syscalls;
  cpu::RegisterFile& regs = task.ctx().registers();
  SyscallCall call{*this, task, {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9}};
  const std::uint64_t number = regs.rax;
  const SyscallResult result = dispatch_syscall(number, call);
  const std::int64_t value = result.ok() ? result.value() : sys::to_syscall_return(result.error());
  regs.rax = static_cast<std::uint64_t>(value);
  if (trace() != nullptr) trace::syscall(*this, task, number, call.args, value);
  exit_to_user_mode(task);
}

void KernelCore::exit_to_user_mode(Task& task) {
  // No return to user mode while other CPUs may still use translations this task removed.
  tlb_shootdown_->complete(task.ctx().cpu());
  for (;;) {
    if (task.need_resched) {
      scheduler_->schedule(task);
      continue;
    }
    if (signal_pending(task)) {
      handle_signal(task);
      continue;
    }
    break;
  }
  leave_kernel(task, task.ctx().cpu().now());
}

void KernelCore::on_interrupt(cpu::Cpu& cpu, cpu::TrapFrame& frame) {
  Task& task = current(cpu);
  const bool from_user = frame.cpl == 3;
  if (from_user) enter_kernel(task, cpu.now());
  cpu.stall(config_.costs.interrupt_entry);
  ++stats_.interrupts;
  trace::interrupt(*this, cpu, frame.vector);
  switch (frame.vector) {
    case Scheduler::kTimerVector:
      ++stats_.timer_ticks;
      if (cpu.id() == 0) trace::memory_sample(*this, cpu.now());
      scheduler_->tick(cpu);
      break;
    case Scheduler::kRescheduleVector:
      // The sender set need_resched; the way out of this interrupt acts on it.
      break;
    case kConsoleVector:
      wake_up_all(console_.input_wait, cpu.now(), &cpu);
      break;
    case TlbShootdown::kVector:
      tlb_shootdown_->serve(cpu);
      break;
    default:
      for (const auto& disk : disks_) {
        if (disk->vector() == frame.vector) disk->on_interrupt(cpu);
      }
      break;
  }
  cpu.apic().eoi();
  if (from_user) exit_to_user_mode(task);
}

void KernelCore::on_page_fault(cpu::Cpu& cpu, cpu::TrapFrame& frame) {
  Task& task = current(cpu);
  const bool from_user = frame.cpl == 3;
  if (from_user) enter_kernel(task, cpu.now());
  cpu.stall(config_.costs.page_fault);
  ++stats_.page_faults;
  const mmu::VirtAddr address = frame.fault_address;
  FaultOutcome outcome = FaultOutcome::kSegv;
  if (task.mm && address < layout::kUserEnd) {
    outcome = task.mm->handle_fault(task, address, static_cast<std::uint32_t>(frame.error_code));
  }
  trace::page_fault(*this, task, cpu, address, frame.error_code, outcome);
  // The signal a failed fault sends a user access: SIGSEGV for a bad address, SIGBUS past
  // the end of a mapped file, SIGKILL when no frame could be had (the OOM case). A kernel
  // access (copy_from_user...) fails with EFAULT instead of faulting again, as on Linux.
  int signal = 0;
  switch (outcome) {
    case FaultOutcome::kMinor:
      ++task.acct.minor_faults;
      break;
    case FaultOutcome::kMajor:
      ++task.acct.major_faults;
      break;
    case FaultOutcome::kSegv:
      ++stats_.segfaults;
      signal = sys::kSigSegv;
      break;
    case FaultOutcome::kBus:
      signal = sys::kSigBus;
      break;
    case FaultOutcome::kOutOfMemory:
      signal = sys::kSigKill;
      break;
  }
  if (signal != 0) {
    if (!from_user) {
      frame.abort_access = true;
      return;
    }
    force_signal(task, signal, cpu.now(), &cpu);
  }
  if (from_user) exit_to_user_mode(task);
}

void KernelCore::on_fatal_exception(cpu::Cpu& cpu, cpu::TrapFrame& frame, int signal) {
  Task& task = current(cpu);
  if (frame.cpl == 3) enter_kernel(task, cpu.now());
  cpu.stall(config_.costs.interrupt_entry);
  trace::exception(*this, task, cpu, frame.vector, signal);
  if (task.idle) return;  // nothing to kill; the CPU carries on
  force_signal(task, signal, cpu.now(), &cpu);
  // From user mode, the signal is acted on now; a kernel-mode #GP or #DE ends the task
  // too (there is no way to resume it), as an oops would.
  if (frame.cpl == 3) {
    exit_to_user_mode(task);
  } else {
    do_group_exit(task, sys::signaled_status(signal));
  }
}

}  // namespace ossim::kernel
