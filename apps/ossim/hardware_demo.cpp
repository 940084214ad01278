#include "hardware_demo.hpp"

#include <fmt/format.h>

#include <memory>
#include <vector>

#include "ossim/cpu/context.hpp"
#include "ossim/cpu/cpu.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/mmu/page_table.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/random.hpp"

namespace ossim::apps {

namespace {

constexpr std::uint8_t kTimerVector = 0x40;
constexpr mmu::VirtAddr kHeapBase = 0x0000'1000'0000;

struct PatternStats {
  std::uint64_t accesses = 0;
  sim::Tick time = 0;
  std::uint64_t dtlb_misses = 0;
  std::uint64_t walks = 0;
  std::uint64_t page_faults = 0;
};

nlohmann::json to_json(const mmu::TlbStats& s) {
  const std::uint64_t lookups = s.hits + s.misses;
  return {{"hits", s.hits},
          {"misses", s.misses},
          {"hit_rate", lookups == 0 ? 0.0 : static_cast<double>(s.hits) / static_cast<double>(lookups)},
          {"evictions", s.evictions},
          {"invalidations", s.invalidations},
          {"flushes", s.flushes}};
}

// One CPU's bare-metal program: its own address space, fault handler and timer.
class DemoProgram {
 public:
  DemoProgram(Machine& machine, unsigned cpu_index, const DemoConfig& config)
      : machine_(machine),
        cpu_index_(cpu_index),
        config_(config),
        random_(machine.engine().random_stream(fmt::format("demo.cpu{}", cpu_index))),
        page_table_(machine.memory(), machine.frames()),
        context_(machine.engine().fibers(), [this] { run(); }, "demo") {
    vectors_.set(cpu::vector::kPageFault, [this](cpu::Cpu&, cpu::TrapFrame& frame) { on_page_fault(frame); });
    vectors_.set(kTimerVector, [this](cpu::Cpu& cpu, cpu::TrapFrame&) {
      ++timer_ticks_;
      cpu.apic().eoi();
    });
  }

  ~DemoProgram() {
    for (mmu::FrameNumber frame : data_frames_) machine_.frames().free(frame);
  }

  void start() {
    machine_.cpu(cpu_index_).load_vector_table(&vectors_);
    machine_.cpu(cpu_index_).start(context_);
  }

  nlohmann::json report() {
    cpu::Cpu& cpu = machine_.cpu(cpu_index_);
    nlohmann::json patterns = nlohmann::json::object();
    for (const auto& [name, s] : {std::pair{"sequential", sequential_}, std::pair{"strided", strided_},
                                  std::pair{"random", random_pattern_}}) {
      patterns[name] = {{"accesses", s.accesses},
                        {"time_ns", s.time / sim::kNanosecond},
                        {"ns_per_access", s.accesses == 0 ? 0.0 : static_cast<double>(s.time) / 1000.0 / static_cast<double>(s.accesses)},
                        {"dtlb_misses", s.dtlb_misses},
                        {"page_walks", s.walks},
                        {"page_faults", s.page_faults}};
    }
    nlohmann::json tlbs = {{"itlb", to_json(cpu.mmu().itlb().stats())}, {"dtlb", to_json(cpu.mmu().dtlb().stats())}};
    if (cpu.mmu().stlb() != nullptr) tlbs["stlb"] = to_json(cpu.mmu().stlb()->stats());
    return {{"cpu", cpu_index_},
            {"finished_at_ns", finished_at_ / sim::kNanosecond},
            {"busy_cycles", cpu.stats().busy_cycles},
            {"halted_ns", cpu.stats().halted_time / sim::kNanosecond},
            {"timer_interrupts", timer_ticks_},
            {"page_faults", cpu.stats().page_faults},
            {"page_walks", cpu.mmu().stats().walks},
            {"page_table_frames", page_table_.table_frames()},
            {"tlbs", tlbs},
            {"patterns", patterns}};
  }

 private:
  void on_page_fault(cpu::TrapFrame& frame) {
    const mmu::VirtAddr page = frame.fault_address & ~(mmu::kPageBytes - 1);
    const mmu::VirtAddr heap_end = kHeapBase + config_.working_set_pages * mmu::kPageBytes;
    const bool not_present = (frame.error_code & mmu::fault::kProtection) == 0;
    if (!not_present || page < kHeapBase || page >= heap_end) {
      frame.abort_access = true;  // a real kernel would send SIGSEGV
      return;
    }
    auto data_frame = machine_.frames().allocate_zeroed(0, cpu_index_ + 1);
    if (!data_frame) {
      frame.abort_access = true;
      return;
    }
    data_frames_.push_back(*data_frame);
    page_table_.map(page, mmu::address_of(*data_frame), mmu::PageSize::k4K,
                    mmu::pte::kWritable | mmu::pte::kUser | mmu::pte::kNoExecute);
  }

  template <typename NextAddress>
  void measure(PatternStats& stats, std::uint64_t count, NextAddress next) {
    cpu::Cpu& cpu = context_.cpu();
    const sim::Tick start = cpu.now();
    const std::uint64_t misses = cpu.mmu().dtlb().stats().misses;
    const std::uint64_t walks = cpu.mmu().stats().walks;
    const std::uint64_t faults = cpu.stats().page_faults;
    for (std::uint64_t i = 0; i < count; ++i) {
      const mmu::VirtAddr address = next(i);
      context_.cpu().store<std::uint64_t>(address, i);
      context_.cpu().compute(config_.cycles_between_accesses);
    }
    cpu::Cpu& now = context_.cpu();
    stats.accesses = count;
    stats.time = now.now() - start;
    stats.dtlb_misses = now.mmu().dtlb().stats().misses - misses;
    stats.walks = now.mmu().stats().walks - walks;
    stats.page_faults = now.stats().page_faults - faults;
  }

  void run() {
    cpu::Cpu& cpu = context_.cpu();
    cpu.write_cr4(cpu.control().cr4 | cpu::cr4::kPcid);
    cpu.write_cr3(page_table_.root() | (cpu_index_ + 1));
    cpu.write_cr0(cpu.control().cr0 | cpu::cr0::kPaging);
    dev::LocalTimer& timer = machine_.timer(cpu_index_);
    timer.set_vector(kTimerVector);
    timer.set_masked(false);
    const sim::Tick period = config_.timer_period_us * sim::kMicrosecond;
    timer.arm_periodic(cpu.now() + period, period);
    cpu.enter_user_mode();

    const std::uint64_t pages = config_.working_set_pages;
    measure(sequential_, pages * 8, [&](std::uint64_t i) { return kHeapBase + i * 512; });
    measure(strided_, config_.accesses, [&](std::uint64_t i) {
      return kHeapBase + ((i * 17) % pages) * mmu::kPageBytes + (i % 8) * 8;
    });
    measure(random_pattern_, config_.accesses, [&](std::uint64_t) {
      return kHeapBase + random_.uniform_below(pages) * mmu::kPageBytes + random_.uniform_below(512) * 8;
    });
    finished_at_ = context_.cpu().now();
    timer.disarm();
  }

  Machine& machine_;
  unsigned cpu_index_;
  DemoConfig config_;
  sim::RandomStream random_;
  mmu::PageTable page_table_;
  cpu::VectorTable vectors_;
  cpu::Context context_;
  std::vector<mmu::FrameNumber> data_frames_;
  std::uint64_t timer_ticks_ = 0;
  sim::Tick finished_at_ = 0;
  PatternStats sequential_, strided_, random_pattern_;
};

}  // namespace

nlohmann::json config_to_json(const DemoConfig& config) {
  return {{"seed", config.seed},
          {"cpus", config.cpus},
          {"memory_bytes", config.memory_bytes},
          {"working_set_pages", config.working_set_pages},
          {"accesses", config.accesses},
          {"cycles_between_accesses", config.cycles_between_accesses},
          {"timer_period_us", config.timer_period_us}};
}

nlohmann::json run_hardware_demo(const DemoConfig& config) {
  sim::Engine engine({.seed = config.seed});
  MachineConfig machine_config;
  machine_config.cpus = config.cpus;
  machine_config.memory_bytes = config.memory_bytes;
  Machine machine(engine, machine_config);
  const std::uint64_t free_at_boot = machine.frames().free_frames();

  std::vector<std::unique_ptr<DemoProgram>> programs;
  for (unsigned i = 0; i < config.cpus; ++i) {
    programs.push_back(std::make_unique<DemoProgram>(machine, i, config));
    programs.back()->start();
  }
  engine.run();

  nlohmann::json cpus = nlohmann::json::array();
  for (auto& program : programs) cpus.push_back(program->report());
  nlohmann::json result = {{"simulated_time_ns", engine.now() / sim::kNanosecond},
                           {"events_fired", engine.events_fired()},
                           {"frames_in_use_at_end", free_at_boot - machine.frames().free_frames()},
                           {"cpus", cpus}};
  programs.clear();
  result["frames_leaked"] = free_at_boot - machine.frames().free_frames();
  return result;
}

}  // namespace ossim::apps
