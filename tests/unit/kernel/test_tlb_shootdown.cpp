// TLB shootdowns: a mapping removed or write-protected by one thread is gone from the TLB
// of every other CPU running the process before the call returns (by IPI, whose cost the
// caller pays), or, on a CPU that only held the process's PCID, before it is loaded again.

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>

#include "kernel_fixture.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/tlb_shootdown.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr sim::Tick kIpiLatency = 1 * sim::kMicrosecond;
constexpr sim::Tick kIpiSend = 100 * sim::kNanosecond;
constexpr sim::Tick kInterruptEntry = 500 * sim::kNanosecond;

/// A machine whose only costs are those of an IPI: the sender's, the flight, and the
/// target's interrupt entry. Everything else takes no time, so a shootdown's cost is exact.
struct ShootdownRig {
  explicit ShootdownRig(unsigned cpus)
      : engine({.seed = 7}), machine(engine, machine_config(cpus)), kernel(machine, kernel_config()) {}

  static MachineConfig machine_config(unsigned cpus) {
    MachineConfig config = with_ideal_timing(MachineConfig{.cpus = cpus, .memory_bytes = std::uint64_t{64} << 20});
    config.interrupts.ipi_latency = kIpiLatency;
    return config;
  }
  static kernel::KernelConfig kernel_config() {
    kernel::KernelConfig config;
    config.costs = kernel::CostModel::ideal();
    config.costs.ipi_send = kIpiSend;
    config.costs.interrupt_entry = kInterruptEntry;
    return config;
  }
  int run(user::Entry init_main) {
    kernel.boot(std::move(init_main));
    engine.run_until(10 * sim::kSecond);
    return kernel.init_status();
  }
  kernel::KernelCore& core() { return kernel.core(); }

  sim::Engine engine;
  Machine machine;
  kernel::Kernel kernel;
};

mmu::VirtAddr map_pages(user::Process& self, std::uint64_t pages) {
  return static_cast<mmu::VirtAddr>(
      self.mmap(0, pages * 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
}

void pin(user::Process& self, unsigned cpu) { REQUIRE(self.sched_setaffinity(0, sys::cpu_mask_t{1} << cpu) == 0); }

void wait_for_flag(user::Process& self, mmu::VirtAddr flag) {
  while (self.load<std::uint64_t>(flag) == 0) self.compute(1000);
}

/// Whether `cpu`'s dTLB translates `page` under the PCID of `pid`'s address space.
bool dtlb_holds(ShootdownRig& rig, unsigned cpu, int pid, mmu::VirtAddr page) {
  const std::uint16_t pcid = rig.core().find_task(pid)->mm->pcid();
  return rig.machine.cpu(cpu).mmu().dtlb().lookup(page, pcid) != nullptr;
}

struct Observed {
  bool held_before = false;   // CPU 1's dTLB had the page before the call
  bool held_after = true;     // ... and after it returned
  sim::Tick call_time = 0;    // the call's duration on the caller's CPU
  kernel::KernelStats stats;  // right after the call
  int child_status = 0;
};

/// The two halves of a process: each gets the page under study (holding 1) and a page of
/// flags.
using Part = std::function<void(user::Process&, mmu::VirtAddr page, mmu::VirtAddr flags)>;
/// Maps the page under study.
using Mapper = std::function<mmu::VirtAddr(user::Process&)>;

mmu::VirtAddr map_anonymous_page(user::Process& self) { return map_pages(self, 1); }

/// Runs a process whose main thread, pinned to CPU 0, maps the page under study (with
/// `map`) and a page of flags, stores 1 in the first and starts a thread pinned to the
/// last CPU; the thread runs `thread_part`, the main thread `main_part`. Returns the
/// process's wait status.
int run_two_threads(ShootdownRig& rig, const Part& main_part, const Part& thread_part,
                    const Mapper& map = map_anonymous_page) {
  const unsigned last_cpu = rig.machine.cpu_count() - 1;
  int status = 0;
  rig.run([&](user::Process& init) {
    const sys::pid_t child = init.fork([&](user::Process& self) {
      pin(self, 0);
      const mmu::VirtAddr page = map(self);
      const mmu::VirtAddr flags = map_pages(self, 1);
      self.store<std::uint64_t>(page, 1);
      self.spawn_thread([&, page, flags](user::Process& thread) {
        pin(thread, last_cpu);
        thread_part(thread, page, flags);
        return 0;
      });
      main_part(self, page, flags);
      return 0;
    });
    init.waitpid(child, &status);
    return 0;
  });
  return status;
}

/// The thread caches the page's translation by `touch`ing it, raises a flag and computes
/// for a millisecond (so it is running when the call comes), then touches the page again.
/// The main thread, once the flag is up, makes `call` on the page.
Observed run_remote_change(unsigned cpus, const std::function<void(user::Process&, mmu::VirtAddr)>& touch,
                           const std::function<void(user::Process&, mmu::VirtAddr)>& call) {
  ShootdownRig rig(cpus);
  Observed seen;
  const Part main_part = [&](user::Process& self, mmu::VirtAddr page, mmu::VirtAddr flag) {
    wait_for_flag(self, flag);
    const int pid = self.getpid();
    seen.held_before = dtlb_holds(rig, cpus - 1, pid, page);
    const sim::Tick start = self.now();
    call(self, page);
    seen.call_time = self.now() - start;
    seen.held_after = dtlb_holds(rig, cpus - 1, pid, page);
    seen.stats = rig.kernel.stats();
    self.compute_for(10 * sim::kMillisecond);  // until the thread's fault ends the process
  };
  const Part thread_part = [&](user::Process& thread, mmu::VirtAddr page, mmu::VirtAddr flag) {
    touch(thread, page);
    thread.store<std::uint64_t>(flag, 1);
    thread.compute_for(sim::kMillisecond);
    touch(thread, page);  // the changed page: faults
  };
  seen.child_status = run_two_threads(rig, main_part, thread_part);
  return seen;
}

void read_page(user::Process& self, mmu::VirtAddr page) { (void)self.load<std::uint64_t>(page); }
void write_page(user::Process& self, mmu::VirtAddr page) { self.store<std::uint64_t>(page, 2); }
void unmap_page(user::Process& self, mmu::VirtAddr page) { REQUIRE(self.munmap(page, 4096) == 0); }
void write_protect_page(user::Process& self, mmu::VirtAddr page) {
  REQUIRE(self.mprotect(page, 4096, sys::kProtRead) == 0);
}

bool killed_by_segv(int status) {
  return sys::killed_by_signal(status) && sys::terminating_signal(status) == sys::kSigSegv;
}

}  // namespace

TEST_CASE("munmap by a thread on CPU 0 removes the page from CPU 1's TLB before it returns", "[kernel][tlb]") {
  const Observed seen = run_remote_change(2, read_page, unmap_page);
  CHECK(seen.held_before);
  CHECK_FALSE(seen.held_after);
  CHECK(seen.stats.tlb_shootdown_ipis == 1);
  CHECK(seen.stats.tlb_shootdowns == 1);
  CHECK(killed_by_segv(seen.child_status));  // CPU 1's next access faulted
}

TEST_CASE("mprotect to read-only by a thread on CPU 0 makes CPU 1's next write fault", "[kernel][tlb]") {
  const Observed seen = run_remote_change(2, write_page, write_protect_page);
  CHECK(seen.held_before);
  CHECK_FALSE(seen.held_after);
  CHECK(seen.stats.tlb_shootdown_ipis == 1);
  CHECK(killed_by_segv(seen.child_status));
}

TEST_CASE("a shootdown costs the caller the IPI's send, flight and the target's interrupt entry", "[kernel][tlb]") {
  // Everything else is free, so the call takes exactly the wait for the acknowledgement.
  const Observed remote = run_remote_change(2, read_page, unmap_page);
  CHECK(remote.call_time == kIpiSend + kIpiLatency + kInterruptEntry);
  // With one CPU the same call invalidates locally and takes no time at all.
  const Observed local = run_remote_change(1, read_page, unmap_page);
  CHECK(local.call_time == 0);
}

TEST_CASE("a single-CPU machine sends no shootdown IPI", "[kernel][tlb]") {
  // Both threads share CPU 0: the call invalidates there and has no one else to ask.
  const Observed seen = run_remote_change(1, write_page, write_protect_page);
  CHECK_FALSE(seen.held_after);
  CHECK(seen.stats.tlb_shootdown_ipis == 0);
  CHECK(seen.stats.tlb_shootdowns == 0);
}

TEST_CASE("a CPU that only holds the process's PCID gets no IPI and invalidates it when it loads it",
          "[kernel][tlb]") {
  ShootdownRig rig(2);
  bool held_while_away = false, held_after_return = true;
  kernel::KernelStats after_call;
  const Part main_part = [&](user::Process& self, mmu::VirtAddr page, mmu::VirtAddr flags) {
    wait_for_flag(self, flags);
    self.compute_for(sim::kMicrosecond);  // the thread is asleep by now, CPU 1 idle
    unmap_page(self, page);
    after_call = rig.kernel.stats();
    held_while_away = dtlb_holds(rig, 1, self.getpid(), page);
    self.store<std::uint32_t>(flags + 8, 1);
    self.futex_wake(flags + 8, 1);
    self.compute_for(10 * sim::kMillisecond);
  };
  const Part thread_part = [&](user::Process& thread, mmu::VirtAddr page, mmu::VirtAddr flags) {
    read_page(thread, page);
    thread.store<std::uint64_t>(flags, 1);
    thread.futex_wait(flags + 8, 0);
    held_after_return = dtlb_holds(rig, 1, thread.getpid(), page);
    read_page(thread, page);
  };
  const int status = run_two_threads(rig, main_part, thread_part);
  CHECK(after_call.tlb_shootdown_ipis == 0);
  CHECK(held_while_away);          // stale, but CPU 1 cannot use it before reloading the PCID
  CHECK_FALSE(held_after_return);  // ... which invalidated it
  CHECK(rig.kernel.stats().tlb_lazy_invalidations >= 1);
  CHECK(killed_by_segv(status));
}

TEST_CASE("truncating a file a thread on CPU 1 maps shared removes the page from its TLB first", "[kernel][tlb]") {
  ShootdownRig rig(2);
  bool held_before = false, held_after = true;
  std::uint64_t ipis = 0, free_before_call = 0, free_during_wait = 0, free_after_call = 0;
  sim::CallbackEvent probe([&] { free_during_wait = rig.machine.frames().free_frames(); }, "probe");
  int fd = -1;
  const Mapper map_file = [&](user::Process& self) {
    fd = self.open("/tmp/shared", sys::kOpenCreate | sys::kOpenReadWrite, 0644);
    REQUIRE(self.ftruncate(fd, 4096) == 0);
    return static_cast<mmu::VirtAddr>(self.mmap(0, 4096, sys::kProtRead | sys::kProtWrite, sys::kMapShared, fd, 0));
  };
  const Part main_part = [&](user::Process& self, mmu::VirtAddr page, mmu::VirtAddr flags) {
    wait_for_flag(self, flags);
    held_before = dtlb_holds(rig, 1, self.getpid(), page);
    free_before_call = rig.machine.frames().free_frames();
    rig.engine.schedule(probe, self.now() + kIpiLatency / 2);  // before CPU 1 has the IPI
    REQUIRE(self.ftruncate(fd, 0) == 0);
    held_after = dtlb_holds(rig, 1, self.getpid(), page);
    ipis = rig.kernel.stats().tlb_shootdown_ipis;
    free_after_call = rig.machine.frames().free_frames();
    self.compute_for(10 * sim::kMillisecond);
  };
  const Part thread_part = [&](user::Process& thread, mmu::VirtAddr page, mmu::VirtAddr flags) {
    read_page(thread, page);
    thread.store<std::uint64_t>(flags, 1);
    thread.compute_for(sim::kMillisecond);
    read_page(thread, page);  // past the end of the file now: SIGBUS
  };
  const int status = run_two_threads(rig, main_part, thread_part, map_file);
  CHECK(held_before);
  CHECK_FALSE(held_after);
  CHECK(ipis == 1);
  // The cached page's frame is held back while CPU 1 might still reach it, and free by the
  // time the call returns.
  CHECK(free_during_wait == free_before_call);
  CHECK(free_after_call == free_before_call + 1);
  CHECK((sys::killed_by_signal(status) && sys::terminating_signal(status) == sys::kSigBus));
}

TEST_CASE("two CPUs shooting at each other at the same instant both finish", "[kernel][tlb]") {
  // Each spins with interrupts off and serves the other's request while it waits.
  ShootdownRig rig(2);
  static constexpr sim::Tick kAt = 50 * sim::kMillisecond;  // well after both are on their CPUs
  sim::Tick main_call = 0, thread_call = 0;
  const auto unmap_at = [](user::Process& self, mmu::VirtAddr page, sim::Tick& call_time) {
    REQUIRE(self.now() < kAt);
    self.compute_for(kAt - self.now());  // ends at kAt plus the ticks taken meanwhile
    const sim::Tick start = self.now();
    unmap_page(self, page);
    call_time = self.now() - start;
  };
  // Both CPUs have both pages in their TLBs; each unmaps one.
  const Part main_part = [&](user::Process& self, mmu::VirtAddr page, mmu::VirtAddr flags) {
    wait_for_flag(self, flags);
    unmap_at(self, page, main_call);
    self.compute_for(sim::kMillisecond);
  };
  const Part thread_part = [&](user::Process& thread, mmu::VirtAddr page, mmu::VirtAddr flags) {
    read_page(thread, page);
    thread.store<std::uint64_t>(flags, 1);
    unmap_at(thread, flags, thread_call);
    thread.compute_for(sim::kMillisecond);
  };
  const int status = run_two_threads(rig, main_part, thread_part);
  CHECK(status == 0);
  CHECK(main_call == kIpiSend);
  CHECK(thread_call == kIpiSend);
  CHECK(rig.kernel.stats().tlb_shootdown_ipis == 2);
  CHECK(rig.kernel.tlb_shootdowns_received(0) + rig.kernel.tlb_shootdowns_received(1) == 2);
}

TEST_CASE("a copy-on-write break on CPU 0 stops CPU 1 reading the old frame", "[kernel][tlb]") {
  ShootdownRig rig(2);
  std::uint64_t thread_saw = 0;
  rig.run([&](user::Process& init) {
    // The page is shared copy-on-write with init after the fork; a write by the main
    // thread copies it, and the thread's cached read-only translation of the old frame
    // must go.
    const mmu::VirtAddr page = map_pages(init, 2);
    const mmu::VirtAddr flag = page + 4096;
    init.store<std::uint64_t>(page, 1);
    init.store<std::uint64_t>(flag, 0);
    const sys::pid_t child = init.fork([&](user::Process& self) {
      pin(self, 0);
      self.spawn_thread([&](user::Process& thread) {
        pin(thread, 1);
        read_page(thread, page);
        thread.store<std::uint64_t>(flag + 8, 1);  // copies the flag's page, not the watched one
        thread.compute_for(sim::kMillisecond);
        thread_saw = thread.load<std::uint64_t>(page);
        return 0;
      });
      wait_for_flag(self, flag + 8);
      self.store<std::uint64_t>(page, 7);  // the COW break
      self.compute_for(2 * sim::kMillisecond);
      return 0;
    });
    int status = 0;
    init.waitpid(child, &status);
    return 0;
  });
  CHECK(thread_saw == 7);
  CHECK(rig.kernel.stats().tlb_shootdown_ipis >= 1);
}
