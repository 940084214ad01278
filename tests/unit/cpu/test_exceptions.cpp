// Exceptions: page faults (retried, or aborted for try_*), double and triple faults, #DE,
// #GP for non-canonical addresses and privileged operations at CPL 3, the fault retry limit,
// and SYSCALL (or #UD without an entry).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bare_metal.hpp"

using namespace ossim;
using test::BareMetal;
using test::kUs;
using test::Paging;

namespace {

constexpr mmu::VirtAddr kUserPage = 0x40'0000;
constexpr mmu::VirtAddr kOtherPage = 0x50'0000;

}  // namespace

TEST_CASE("a user write to an unmapped page faults with CR2 and error code, and is retried once mapped") {
  BareMetal hw;
  Paging paging(hw.machine());
  cpu::TrapFrame seen;
  std::uint64_t cr2 = 0;
  unsigned handler_cpl = 99;
  mmu::PhysAddr frame = 0;
  hw.idt.set(cpu::vector::kPageFault, [&](cpu::Cpu& c, cpu::TrapFrame& f) {
    seen = f;
    cr2 = c.control().cr2;
    handler_cpl = c.cpl();
    frame = paging.map(f.fault_address & ~(mmu::kPageBytes - 1));
  });
  std::uint64_t read_back = 0;
  unsigned cpl_after = 99;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    c.enter_user_mode();
    c.store<std::uint64_t>(kUserPage + 0x10, 0xDEAD'BEEF'CAFE'F00D);
    read_back = c.load<std::uint64_t>(kUserPage + 0x10);
    cpl_after = c.cpl();
  });
  hw.engine.run();
  CHECK(seen.vector == cpu::vector::kPageFault);
  CHECK(seen.error_code == (mmu::fault::kWrite | mmu::fault::kUser));  // not present: P clear
  CHECK(seen.fault_address == kUserPage + 0x10);
  CHECK(cr2 == kUserPage + 0x10);
  CHECK(seen.cpl == 3);
  CHECK_FALSE(seen.external);
  CHECK(handler_cpl == 0);
  CHECK(cpl_after == 3);
  CHECK(read_back == 0xDEAD'BEEF'CAFE'F00D);
  REQUIRE(frame != 0);
  CHECK(hw.machine().memory().read<std::uint64_t>(frame + 0x10) == 0xDEAD'BEEF'CAFE'F00D);
  CHECK(hw.cpu().stats().page_faults == 1);
  CHECK(hw.cpu().stats().exceptions == 1);
}

TEST_CASE("a page fault handler that sets abort_access makes try_read_memory and try_write_memory fail") {
  BareMetal hw;
  Paging paging(hw.machine());
  const mmu::PhysAddr frame = paging.map(kUserPage);
  hw.machine().memory().write<std::uint32_t>(frame, 0x1234'5678);
  int faults = 0;
  hw.idt.set(cpu::vector::kPageFault, [&](cpu::Cpu&, cpu::TrapFrame& f) {
    ++faults;
    f.abort_access = true;
  });
  bool read_unmapped = true, write_unmapped = true, read_mapped = false;
  std::uint32_t buffer = 0xAAAA'AAAA;
  std::uint32_t mapped_value = 0;
  bool went_on = false;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    paging.enable(c);
    read_unmapped = c.try_read_memory(kOtherPage, &buffer, sizeof buffer);
    const std::uint32_t value = 7;
    write_unmapped = c.try_write_memory(kOtherPage + 8, &value, sizeof value);
    read_mapped = c.try_read_memory(kUserPage, &mapped_value, sizeof mapped_value);
    went_on = true;
  });
  hw.engine.run();
  CHECK_FALSE(read_unmapped);
  CHECK_FALSE(write_unmapped);
  CHECK(buffer == 0xAAAA'AAAA);
  CHECK(read_mapped);
  CHECK(mapped_value == 0x1234'5678);
  CHECK(faults == 2);
  CHECK(went_on);
  CHECK(hw.cpu().state() == cpu::CpuState::kOff);
}

TEST_CASE("a fault with no handler and no #DF handler shuts its CPU down while another CPU runs on") {
  BareMetal hw(test::small_machine(2));
  Paging paging(hw.machine());  // nothing mapped
  bool after_access = false;
  sim::Tick other_end = 0;
  cpu::Context& doomed = hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu(0);
    paging.enable(c);
    c.compute(2 * test::kCyclesPerUs);
    (void)c.load<std::uint64_t>(kUserPage);
    after_access = true;
  });
  cpu::Context& survivor = hw.run_on(1, [&] {
    for (int i = 0; i < 10; ++i) hw.cpu(1).compute(test::kCyclesPerUs);
    other_end = hw.cpu(1).now();
  });
  REQUIRE_NOTHROW(hw.engine.run());
  CHECK(hw.cpu(0).state() == cpu::CpuState::kShutdown);
  CHECK_FALSE(hw.cpu(0).shutdown_reason().empty());
  CHECK_FALSE(after_access);
  CHECK(doomed.finished());
  CHECK(hw.cpu(0).current() == nullptr);
  CHECK(survivor.finished());
  CHECK(other_end == 10 * kUs);
  CHECK(hw.cpu(1).state() == cpu::CpuState::kOff);
  CHECK(hw.cpu(1).shutdown_reason().empty());
}

TEST_CASE("an exception with no handler is delivered as #DF when a #DF handler is installed") {
  BareMetal hw;
  Paging paging(hw.machine());
  std::vector<cpu::TrapFrame> frames;
  hw.idt.set(cpu::vector::kDoubleFault, [&](cpu::Cpu&, cpu::TrapFrame& f) {
    frames.push_back(f);
    f.abort_access = true;
  });
  bool read = true;
  hw.run_on(0, [&] {
    paging.enable(hw.cpu());
    std::uint64_t value = 0;
    read = hw.cpu().try_read_memory(kUserPage, &value, sizeof value);
  });
  hw.engine.run();
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].vector == cpu::vector::kDoubleFault);
  CHECK(frames[0].error_code == 0);
  CHECK_FALSE(read);
  CHECK(hw.cpu().state() == cpu::CpuState::kOff);
  CHECK(hw.cpu().control().cr2 == kUserPage);  // the #PF was raised (CR2 set) before escalating
}

// Regression, fixed (was include/ossim/cpu/cpu.hpp:267, src/cpu/cpu.cpp:161-167 in raise()): `in_double_fault_`
// is never set or read, so an unhandled exception raised inside the #DF handler becomes
// another nested #DF instead of a triple fault. Unguarded, this recursion overflows the host stack;
// the handler below stops faulting at depth 4 so that the test fails instead of crashing.
TEST_CASE("an unhandled exception inside the #DF handler is a triple fault", "[regression]") {
  BareMetal hw;
  Paging paging(hw.machine());  // nothing mapped, no #PF handler
  int depth = 0;
  int max_depth = 0;
  hw.idt.set(cpu::vector::kDoubleFault, [&](cpu::Cpu& c, cpu::TrapFrame& f) {
    max_depth = std::max(max_depth, ++depth);
    if (depth < 4) {
      (void)c.load<std::uint64_t>(kOtherPage);  // faults again, with no #PF handler
    } else {
      f.abort_access = true;
    }
    --depth;
  });
  hw.run_on(0, [&] {
    paging.enable(hw.cpu());
    (void)hw.cpu().load<std::uint64_t>(kUserPage);
  });
  hw.engine.run();
  CHECK(hw.cpu().state() == cpu::CpuState::kShutdown);
  CHECK(max_depth == 1);
}

TEST_CASE("divide returns the quotient and costs one cycle") {
  BareMetal hw;
  std::uint64_t q = 0;
  hw.run_on(0, [&] { q = hw.cpu().divide(100, 7); });
  hw.engine.run();
  CHECK(q == 14);
  CHECK(hw.cpu().now() == 500);
  CHECK(hw.cpu().stats().exceptions == 0);
}

TEST_CASE("divide by zero raises #DE, and a handler that returns retries it until the fault limit") {
  MachineConfig config = test::small_machine();
  config.cpu.fault_retry_limit = 5;
  BareMetal hw(config);
  std::vector<std::uint8_t> vectors;
  hw.idt.set(cpu::vector::kDivideError, [&](cpu::Cpu&, cpu::TrapFrame& f) { vectors.push_back(f.vector); });
  bool returned = false;
  hw.run_on(0, [&] {
    (void)hw.cpu().divide(1, 0);
    returned = true;
  });
  hw.engine.run();
  CHECK(vectors == std::vector<std::uint8_t>(5, cpu::vector::kDivideError));
  CHECK_FALSE(returned);
  CHECK(hw.cpu().state() == cpu::CpuState::kShutdown);
  CHECK(hw.cpu().stats().exceptions == 5);
}

TEST_CASE("an access to a non-canonical address raises #GP, not #PF") {
  const bool paging_on = GENERATE(false, true);
  BareMetal hw;
  Paging paging(hw.machine());
  std::vector<cpu::TrapFrame> frames;
  hw.idt.set(cpu::vector::kGeneralProtection, [&](cpu::Cpu&, cpu::TrapFrame& f) {
    frames.push_back(f);
    f.abort_access = true;
  });
  bool read = true;
  hw.run_on(0, [&] {
    if (paging_on) paging.enable(hw.cpu());
    std::uint64_t value = 0;
    read = hw.cpu().try_read_memory(0x0000'8000'0000'0000, &value, sizeof value);
  });
  hw.engine.run();
  CHECK_FALSE(read);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].vector == cpu::vector::kGeneralProtection);
  CHECK(frames[0].error_code == 0);
  CHECK(hw.cpu().stats().page_faults == 0);
}

TEST_CASE("privileged operations at CPL 3 raise #GP and are not performed") {
  BareMetal hw;
  std::vector<std::uint8_t> vectors;
  std::vector<unsigned> faulting_cpl;
  hw.idt.set(cpu::vector::kGeneralProtection, [&](cpu::Cpu&, cpu::TrapFrame& f) {
    vectors.push_back(f.vector);
    faulting_cpl.push_back(f.cpl);
  });
  const std::uint64_t cr0_before = hw.cpu().control().cr0;
  bool if_after = false;
  unsigned cpl_after = 99;
  sim::Tick after_halt = 1;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enter_user_mode();
    c.halt();
    after_halt = c.now();
    c.write_cr3(0x10'0000);
    c.write_cr0(c.control().cr0 | cpu::cr0::kPaging);
    c.disable_interrupts();
    c.enable_interrupts();
    c.invlpg(kUserPage);
    if_after = c.interrupts_enabled();
    cpl_after = c.cpl();
  });
  hw.engine.run();
  CHECK(vectors == std::vector<std::uint8_t>(6, cpu::vector::kGeneralProtection));
  CHECK(faulting_cpl == std::vector<unsigned>(6, 3));
  CHECK(after_halt == 0);  // did not sleep
  CHECK(hw.cpu().control().cr3 == 0);
  CHECK(hw.cpu().control().cr0 == cr0_before);
  CHECK_FALSE(hw.cpu().mmu().paging_enabled());
  CHECK(if_after);
  CHECK(cpl_after == 3);
  CHECK(hw.cpu().state() == cpu::CpuState::kOff);
}

TEST_CASE("a page fault handler that never fixes the fault leads to shutdown, not a hang") {
  MachineConfig config = test::small_machine();
  config.cpu.fault_retry_limit = 8;
  BareMetal hw(config);
  Paging paging(hw.machine());
  int faults = 0;
  hw.idt.set(cpu::vector::kPageFault, [&](cpu::Cpu&, cpu::TrapFrame&) { ++faults; });
  bool returned = false;
  hw.run_on(0, [&] {
    paging.enable(hw.cpu());
    hw.cpu().store<std::uint32_t>(kUserPage, 1);
    returned = true;
  });
  hw.engine.run();
  CHECK_FALSE(returned);
  CHECK(hw.cpu().state() == cpu::CpuState::kShutdown);
  CHECK_FALSE(hw.cpu().shutdown_reason().empty());
  CHECK(faults >= 1);
  CHECK(faults <= 9);
}

// Regression, fixed (was src/cpu/cpu.cpp:195-212, translate_or_fault): it counts loop passes, and a #PF takes
// two (the failed translation, then the delivery), and the test is `faults > limit`, so a
// #PF handler runs fault_retry_limit / 2 + 1 times before the shutdown (a #GP handler
// limit + 1 times), while divide() (cpu.cpp:290) allows exactly fault_retry_limit. The
// limit is documented as "faults in a row on one operation".
TEST_CASE("the page fault retry limit counts faults, like the #DE one", "[regression]") {
  MachineConfig config = test::small_machine();
  config.cpu.fault_retry_limit = 8;
  BareMetal hw(config);
  Paging paging(hw.machine());
  int faults = 0;
  hw.idt.set(cpu::vector::kPageFault, [&](cpu::Cpu&, cpu::TrapFrame&) { ++faults; });
  hw.run_on(0, [&] {
    paging.enable(hw.cpu());
    hw.cpu().store<std::uint32_t>(kUserPage, 1);
  });
  hw.engine.run();
  CHECK(hw.cpu().state() == cpu::CpuState::kShutdown);
  CHECK(faults == 8);
}

TEST_CASE("syscall passes the ABI registers to the entry at CPL 0 and returns rax to the caller") {
  MachineConfig config = test::small_machine();
  config.cpu.syscall_entry_cycles = 40;
  BareMetal hw(config);
  cpu::RegisterFile inside;
  unsigned cpl_inside = 99;
  bool if_inside = true;
  hw.idt.set_syscall_entry([&](cpu::Cpu& c) {
    inside = c.registers();
    cpl_inside = c.cpl();
    if_inside = c.interrupts_enabled();
    c.registers().rax = inside.rdi + inside.rsi + inside.rdx + inside.r10 + inside.r8 + inside.r9;
  });
  std::uint64_t result = 0;
  std::uint64_t user_rflags = 0;
  cpu::RegisterFile after;
  unsigned cpl_after = 99;
  sim::Tick elapsed = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enter_user_mode();
    cpu::RegisterFile& r = c.registers();
    r.rip = 0x40'1000;
    r.rax = 39;
    r.rdi = 1, r.rsi = 20, r.rdx = 300, r.r10 = 4'000, r.r8 = 50'000, r.r9 = 600'000;
    user_rflags = r.rflags;
    const sim::Tick before = c.now();
    result = c.syscall();
    elapsed = c.now() - before;
    after = c.registers();
    cpl_after = c.cpl();
  });
  hw.engine.run();
  CHECK(inside.rax == 39);
  CHECK(inside.rdi == 1);
  CHECK(inside.rsi == 20);
  CHECK(inside.rdx == 300);
  CHECK(inside.r10 == 4'000);
  CHECK(inside.r8 == 50'000);
  CHECK(inside.r9 == 600'000);
  CHECK(inside.rcx == 0x40'1000);  // rip
  CHECK(inside.r11 == user_rflags);
  CHECK((user_rflags & cpu::rflags::kInterruptEnable) != 0);
  CHECK(cpl_inside == 0);
  CHECK_FALSE(if_inside);
  CHECK(result == 654'321);
  CHECK(after.rax == 654'321);
  CHECK(after.rip == 0x40'1000);
  CHECK(after.rflags == user_rflags);
  CHECK(cpl_after == 3);
  CHECK(elapsed == 40 * 500);
  CHECK(hw.cpu().stats().syscalls == 1);
}

TEST_CASE("syscall without a syscall entry raises #UD and returns rax unchanged") {
  BareMetal hw;
  std::vector<std::uint8_t> vectors;
  hw.idt.set(cpu::vector::kInvalidOpcode, [&](cpu::Cpu&, cpu::TrapFrame& f) { vectors.push_back(f.vector); });
  std::uint64_t result = 0;
  hw.run_on(0, [&] {
    hw.cpu().enter_user_mode();
    hw.cpu().registers().rax = 60;
    result = hw.cpu().syscall();
  });
  hw.engine.run();
  CHECK(vectors == std::vector<std::uint8_t>{cpu::vector::kInvalidOpcode});
  CHECK(result == 60);
  CHECK(hw.cpu().stats().syscalls == 0);
  CHECK(hw.cpu().stats().exceptions == 1);
}

TEST_CASE("exception_entry_cycles are charged for each exception delivered") {
  MachineConfig config = test::small_machine();
  config.cpu.exception_entry_cycles = 30;
  BareMetal hw(config);
  hw.idt.set(cpu::vector::kGeneralProtection, [](cpu::Cpu&, cpu::TrapFrame&) {});
  sim::Tick elapsed = 0;
  hw.run_on(0, [&] {
    cpu::Cpu& c = hw.cpu();
    c.enter_user_mode();
    const sim::Tick t = c.now();
    c.halt();  // #GP at CPL 3
    c.halt();
    elapsed = c.now() - t;
  });
  hw.engine.run();
  CHECK(elapsed == 2 * 30 * 500);
  CHECK(hw.cpu().stats().exceptions == 2);
}
