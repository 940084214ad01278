#include "kernel/mm/tlb_shootdown.hpp"

#include <algorithm>

#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"

namespace ossim::kernel {

TlbShootdown::TlbShootdown(KernelCore& kernel, unsigned cpu_count) : kernel_(kernel), cpus_(cpu_count) {}

void TlbShootdown::invalidate(cpu::Cpu& cpu, std::uint16_t pcid, std::optional<mmu::VirtAddr> page) {
  if (page) {
    cpu.mmu().invpcid(mmu::InvpcidType::kIndividualAddress, pcid, *page);
  } else {
    cpu.mmu().invpcid(mmu::InvpcidType::kSingleContext, pcid, 0);
  }
}

void TlbShootdown::flush(const AddressSpace& mm, std::uint64_t may_hold, std::optional<mmu::VirtAddr> page) {
  Machine& machine = kernel_.machine();
  const std::uint16_t pcid = mm.pcid();
  const cpu::Cpu* running = kernel_.running_cpu();
  if (running == nullptr) {
    // Kernel work on the host (an event's callback) has no CPU that could wait.
    for (unsigned c = 0; c < machine.cpu_count(); ++c) {
      if ((may_hold >> (c % 64)) & 1) invalidate(machine.cpu(c), pcid, page);
    }
    return;
  }
  cpu::Cpu& self = machine.cpu(running->id());
  if ((may_hold >> (self.id() % 64)) & 1) invalidate(self, pcid, page);
  // A CPU that loads a PCID-0 or untagged CR3 flushes its TLB doing so: only a tagged PCID
  // survives a switch away.
  const bool entries_survive_switches = kernel_.config().pcid && pcid != 0;
  for (unsigned c = 0; c < machine.cpu_count(); ++c) {
    if (c == self.id() || ((may_hold >> (c % 64)) & 1) == 0) continue;
    const Task* curr = kernel_.scheduler().rq(c).curr;
    const cpu::CpuState state = machine.cpu(c).state();
    const bool runs_mm = curr != nullptr && curr->mm.get() == &mm && state != cpu::CpuState::kShutdown &&
                         state != cpu::CpuState::kOff;
    if (!runs_mm) {
      if (entries_survive_switches) cpus_[c].stale_pcids.set(pcid);
      continue;
    }
    if (!enqueue(self.id(), c, pcid, page)) continue;
    ++cpus_[self.id()].outstanding;
    ++kernel_.stats().tlb_shootdown_ipis;
    self.stall(kernel_.costs().ipi_send);
    machine.interrupts().send_ipi(self.now(), self.id(), c, kVector);
  }
}

bool TlbShootdown::enqueue(unsigned from, unsigned to, std::uint16_t pcid, std::optional<mmu::VirtAddr> page) {
  for (Request& request : cpus_[to].queued) {
    if (request.initiator != from || request.pcid != pcid) continue;
    if (request.whole_pcid) return false;
    if (page && request.pages.size() < kSinglePageCeiling) {
      request.pages.push_back(*page);
    } else {
      request.whole_pcid = true;
      request.pages.clear();
    }
    return false;
  }
  Request request{from, pcid, !page, {}};
  if (page) request.pages.push_back(*page);
  cpus_[to].queued.push_back(std::move(request));
  return true;
}

void TlbShootdown::serve(cpu::Cpu& cpu) {
  PerCpu& target = cpus_[cpu.id()];
  for (const Request& request : target.queued) {
    if (request.whole_pcid) {
      invalidate(cpu, request.pcid, std::nullopt);
    } else {
      for (const mmu::VirtAddr page : request.pages) invalidate(cpu, request.pcid, page);
    }
    ++target.received;
    PerCpu& initiator = cpus_[request.initiator];
    --initiator.outstanding;
    initiator.last_ack = std::max(initiator.last_ack, cpu.now());
  }
  target.queued.clear();
}

cpu::Cpu& TlbShootdown::wait_for_acknowledgements(cpu::Cpu& cpu) {
  ++kernel_.stats().tlb_shootdowns;
  cpu::Cpu* self = &cpu;
  for (;;) {
    serve(*self);  // a target spinning for its own shootdown still answers ours
    if (cpus_[self->id()].outstanding == 0) break;
    self = &self->spin_wait();
  }
  PerCpu& initiator = cpus_[self->id()];
  if (self->now() < initiator.last_ack) self->stall(initiator.last_ack - self->now());
  for (const mmu::FrameNumber frame : initiator.held) kernel_.machine().frames().free(frame);
  initiator.held.clear();
  return *self;
}

void TlbShootdown::free_frame(mmu::FrameNumber frame) {
  const cpu::Cpu* running = kernel_.running_cpu();
  if (running != nullptr && cpus_[running->id()].outstanding > 0) {
    cpus_[running->id()].held.push_back(frame);
    return;
  }
  kernel_.machine().frames().free(frame);
}

void TlbShootdown::forget_pcid(std::uint16_t pcid) {
  for (PerCpu& state : cpus_) state.stale_pcids.reset(pcid);
}

void TlbShootdown::before_load(unsigned cpu, const AddressSpace& mm) {
  PerCpu& state = cpus_[cpu];
  if (!state.stale_pcids.test(mm.pcid())) [[likely]] return;
  state.stale_pcids.reset(mm.pcid());
  kernel_.machine().cpu(cpu).mmu().invpcid(mmu::InvpcidType::kSingleContext, mm.pcid(), 0);
  ++kernel_.stats().tlb_lazy_invalidations;
}

}  // namespace ossim::kernel
