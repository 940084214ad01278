#pragma once

// TLB shootdowns: keeping other CPUs' TLBs coherent with a page table that changed
// (Linux's flush_tlb_mm_range, native_flush_tlb_multi and the lazy-TLB rules of
// arch/x86/mm/tlb.c).
//
// When an address space removes a mapping or takes a permission away, the CPU doing it
// (the initiator) invalidates its own TLB at once. Every other CPU whose TLB may hold
// entries of that address space is treated by what it runs now:
//
//   - a CPU running a task of the address space gets a request (pages, or the whole PCID)
//     and a TLB-shootdown IPI (kVector). Its handler invalidates and acknowledges. Requests
//     from one initiator to one target that the target has not yet taken are merged, so
//     the flushes of one kernel operation (munmap of a range, mprotect) cost one IPI per
//     target; past kSinglePageCeiling pages a request becomes a whole-PCID flush.
//   - any other CPU (idle and only borrowing the page table, or running another address
//     space while its TLB still holds entries tagged with this PCID) gets no IPI: it is
//     marked, and invalidates the PCID the next time it loads it (before_load). That is
//     Linux's lazy TLB mode with per-ASID generations: such a CPU cannot use the entries
//     before it loads the PCID again.
//
// The initiator must not return to user mode (or block) before every target has
// acknowledged: complete() spin-waits for that, in the kernel, charging the wait to the
// task as system time. It waits at those points rather than inside each flush so that an
// address-space operation stays atomic in simulated time (no other CPU runs between its
// steps: our stand-in for mmap_lock). Frames freed (by an address space, or by a page
// cache a truncation shrank) while their CPU has shootdowns outstanding are held back until they complete (free_frame), as Linux's
// mmu_gather frees pages only after the flush: a target's stale entry can never reach a
// frame reused by someone else.
//
// While spinning, the initiator serves requests addressed to itself (as Linux's
// csd_lock_wait lets the CPU take the IPIs of others), so two CPUs shooting at each other
// do not deadlock whatever their interrupt flags. A target with interrupts disabled takes
// the IPI when it enables them. With one CPU there is never an IPI.

#include <bitset>
#include <cstdint>
#include <optional>
#include <vector>

#include "ossim/cpu/cpu.hpp"
#include "ossim/mmu/address.hpp"
#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::kernel {

class KernelCore;
class AddressSpace;

class TlbShootdown {
 public:
  /// Linux's CALL_FUNCTION_VECTOR, which carries TLB flushes on x86.
  static constexpr std::uint8_t kVector = 0xFB;
  /// Linux's tlb_single_page_flush_ceiling: a request for more pages flushes the PCID.
  static constexpr std::size_t kSinglePageCeiling = 33;

  TlbShootdown(KernelCore& kernel, unsigned cpu_count);

  /// Invalidates `page` (or, without one, every non-global entry) of `mm` on every CPU in
  /// `may_hold` (a bit per CPU, modulo 64): on the calling CPU now, on the others by IPI
  /// or lazily (see above). On the host (no CPU running kernel code) every CPU is invalidated directly.
  void flush(const AddressSpace& mm, std::uint64_t may_hold, std::optional<mmu::VirtAddr> page);
  /// Frees `frame` now, or, if the calling CPU has shootdowns outstanding, once they
  /// complete.
  void free_frame(mmu::FrameNumber frame);
  /// Waits until every request `cpu` has sent has been acknowledged (serving requests
  /// addressed to it meanwhile), advances its clock to the last acknowledgement, and
  /// frees the frames held back. Called before returning to user mode, before switching
  /// away, and in exit before the task can be reaped. Returns the CPU the caller is on
  /// afterwards (the same: the kernel is not preemptible).
  cpu::Cpu& complete(cpu::Cpu& cpu) {
    if (cpus_[cpu.id()].outstanding == 0) [[likely]] return cpu;
    return wait_for_acknowledgements(cpu);
  }
  /// The IPI's work on the target: invalidates what was requested of it and acknowledges.
  void serve(cpu::Cpu& cpu);
  /// Before `cpu` loads `mm`'s PCID: invalidates it if a shootdown skipped this CPU.
  void before_load(unsigned cpu, const AddressSpace& mm);
  /// A PCID given back: its address space has invalidated it wherever it was loaded, so
  /// no CPU owes it a lazy invalidation any more.
  void forget_pcid(std::uint16_t pcid);

  /// Requests this CPU has served (Linux's "TLB shootdowns" line of /proc/interrupts).
  std::uint64_t received(unsigned cpu) const { return cpus_[cpu].received; }

 private:
  /// One initiator's request to one target, not yet taken by the target.
  struct Request {
    unsigned initiator;
    std::uint16_t pcid;
    bool whole_pcid;
    std::vector<mmu::VirtAddr> pages;
  };
  struct PerCpu {
    std::vector<Request> queued;             // as a target: requests not yet served
    unsigned outstanding = 0;                // as an initiator: requests not yet acknowledged
    sim::Tick last_ack = 0;                  // as an initiator: the latest acknowledgement's time
    std::vector<mmu::FrameNumber> held;      // as an initiator: frames to free at completion
    std::bitset<4096> stale_pcids;           // PCIDs to invalidate before the next load
    std::uint64_t received = 0;
  };

  /// complete() when `cpu` has requests outstanding.
  cpu::Cpu& wait_for_acknowledgements(cpu::Cpu& cpu);
  /// Adds `page` (or the whole PCID) to the request from `from` queued on `to`; returns
  /// false if it joined a request that is already on its way.
  bool enqueue(unsigned from, unsigned to, std::uint16_t pcid, std::optional<mmu::VirtAddr> page);
  void invalidate(cpu::Cpu& cpu, std::uint16_t pcid, std::optional<mmu::VirtAddr> page);

  KernelCore& kernel_;
  std::vector<PerCpu> cpus_;
};

}  // namespace ossim::kernel
