#include "kernel/kernel_core.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "kernel/block/disk_driver.hpp"
#include "kernel/fs/block_device_file.hpp"
#include "kernel/fs/file_table.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/page_cache.hpp"
#include "kernel/mm/reclaim.hpp"
#include "kernel/mm/swap_area.hpp"
#include "kernel/sched/deadline.hpp"
#include "kernel/sched/policy_registry.hpp"
#include "kernel/sched/realtime.hpp"
#include "kernel/task/signal_handlers.hpp"

namespace ossim::kernel {

KernelCore::KernelCore(Machine& machine, const KernelConfig& config, sim::Trace* trace)
    : machine_(machine), config_(config), trace_(trace) {
  if (config_.hz == 0 || config_.hz > 100'000) throw std::invalid_argument("kernel.hz must be from 1 to 100000");
  if (config_.scheduler.quantum == 0) throw std::invalid_argument("kernel.scheduler.quantum must be positive");
  if (machine_.cpu_count() > 64) throw std::invalid_argument("the kernel supports at most 64 CPUs");
  kernel_page_table_ = std::make_unique<mmu::PageTable>(machine_.memory(), machine_.frames());
  scheduler_ = std::make_unique<Scheduler>(*this, machine_.cpu_count());
  tlb_shootdown_ = std::make_unique<TlbShootdown>(*this, machine_.cpu_count());
  scheduler_->set_class(Scheduler::ClassRank::kDeadline,
                        std::make_unique<DeadlineClass>(*scheduler_, machine_.cpu_count(), config_.scheduler));
  scheduler_->set_class(Scheduler::ClassRank::kRealtime,
                        std::make_unique<RtClass>(*scheduler_, machine_.cpu_count(), config_.scheduler));
  scheduler_->set_class(Scheduler::ClassRank::kFair,
                        make_fair_class(*scheduler_, machine_.cpu_count(), config_.scheduler));
  page_cache_pool_ = std::unique_ptr<PageCachePool>(new PageCachePool{machine_.memory(), machine_.frames()});
  page_cache_pool_->tlb_shootdown = tlb_shootdown_.get();
  vfs_ = std::make_unique<Vfs>(*this);
  attach_disks();
}

void KernelCore::attach_disks() {
  // Disk i's line arrives on vector 0x20 + its IRQ (the legacy mapping), handled on CPU 0.
  for (unsigned i = 0; i < machine_.disk_count(); ++i) {
    dev::BlockDevice& device = machine_.disk(i);
    disks_.push_back(std::make_unique<DiskDriver>(*this, device, static_cast<std::uint8_t>(0x20 + device.irq())));
  }
  const MemoryConfig& memory = config_.memory;
  if (memory.swap_disk) {
    if (*memory.swap_disk >= disks_.size()) {
      throw std::invalid_argument(fmt::format("kernel.memory.swap_disk: the machine has no disk {}", *memory.swap_disk));
    }
    DiskDriver& driver = *disks_[*memory.swap_disk];
    const std::uint64_t disk_bytes = driver.device().config().sectors * dev::kSectorBytes;
    const std::uint64_t bytes = memory.swap_bytes == 0 ? disk_bytes : memory.swap_bytes;
    if (bytes > disk_bytes) {
      throw std::invalid_argument(fmt::format("kernel.memory.swap_bytes: {} bytes do not fit on a disk of {}", bytes, disk_bytes));
    }
    if (bytes < mmu::kPageBytes) throw std::invalid_argument("kernel.memory.swap_bytes: less than one page");
    swap_ = std::make_unique<SwapArea>(*this, driver, 0, bytes / mmu::kPageBytes);
  }
  try {
    reclaimer_ = std::make_unique<Reclaimer>(*this, memory, swap_.get());
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(fmt::format("kernel.memory.replacement: {}", error.what()));
  }
  page_cache_pool_->kernel = this;
  if (memory.executables_disk && (*memory.executables_disk >= disks_.size() || memory.executables_disk == memory.swap_disk)) {
    throw std::invalid_argument(fmt::format("kernel.memory.executables_disk: no disk {} to keep executables on, or it is the swap disk",
                                            *memory.executables_disk));
  }
  // Every disk but the swap and executables disks is a block device file under /dev,
  // named as the disk.
  for (unsigned i = 0; i < disks_.size(); ++i) {
    if (memory.swap_disk == i || memory.executables_disk == i) continue;
    auto node = std::make_shared<BlockDeviceFile>(*this, vfs_->next_ino(), *disks_[i], i);
    if (!vfs_->dev()->link(disks_[i]->device().config().name, std::move(node))) {
      throw std::invalid_argument(fmt::format("machine.disks[{}].name: \"{}\" is taken in /dev", i,
                                              disks_[i]->device().config().name));
    }
  }
}

KernelCore::~KernelCore() {
  tearing_down_ = true;
  for (unsigned cpu = 0; cpu < machine_.cpu_count(); ++cpu) machine_.cpu(cpu).power_off();
  // Unwind the tasks' fibers while everything they may touch still exists.
  while (!tasks_.empty()) tasks_.erase(std::prev(tasks_.end()));
  idle_tasks_.clear();
  // The reclaimer goes before the files whose caches it tracks.
  page_cache_pool_->kernel = nullptr;
}

// ---- Programs, boot and power -------------------------------------------------------------

const cpu::Cpu* KernelCore::running_cpu() {
  sim::FiberRuntime& fibers = engine().fibers();
  // An event's handler runs on no CPU, even when a CPU fires it on its own fiber.
  if (fibers.on_host() || engine().firing_on_fiber()) return nullptr;
  for (unsigned i = 0; i < machine_.cpu_count(); ++i) {
    cpu::Cpu& cpu = machine_.cpu(i);
    if (cpu.current() != nullptr && &cpu.current()->fiber() == &fibers.running()) return &cpu;
  }
  return nullptr;
}

void KernelCore::install_vectors() {
  vectors_.set_syscall_entry([this](cpu::Cpu& cpu) { syscall_entry(cpu); });
  vectors_.set(cpu::vector::kPageFault, [this](cpu::Cpu& cpu, cpu::TrapFrame& frame) { on_page_fault(cpu, frame); });
  vectors_.set(cpu::vector::kDivideError,
               [this](cpu::Cpu& cpu, cpu::TrapFrame& frame) { on_fatal_exception(cpu, frame, sys::kSigFpe); });
  vectors_.set(cpu::vector::kGeneralProtection,
               [this](cpu::Cpu& cpu, cpu::TrapFrame& frame) { on_fatal_exception(cpu, frame, sys::kSigSegv); });
  vectors_.set(cpu::vector::kInvalidOpcode,
               [this](cpu::Cpu& cpu, cpu::TrapFrame& frame) { on_fatal_exception(cpu, frame, sys::kSigIll); });
  vectors_.set(cpu::vector::kDoubleFault,
               [this](cpu::Cpu& cpu, cpu::TrapFrame& frame) { on_fatal_exception(cpu, frame, sys::kSigKill); });
  const auto interrupt = [this](cpu::Cpu& cpu, cpu::TrapFrame& frame) { on_interrupt(cpu, frame); };
  vectors_.set(Scheduler::kTimerVector, interrupt);
  vectors_.set(Scheduler::kRescheduleVector, interrupt);
  vectors_.set(TlbShootdown::kVector, interrupt);
  vectors_.set(kConsoleVector, interrupt);
  for (const auto& disk : disks_) vectors_.set(disk->vector(), interrupt);
}

void KernelCore::boot(user::Entry init_main) {
  if (booted_) throw std::logic_error("the kernel is already booted");
  booted_ = true;
  install_vectors();
  const sim::Tick now = engine().now();
  const sim::Tick tick_period = sim::kSecond / config_.hz;
  for (unsigned i = 0; i < machine_.cpu_count(); ++i) {
    cpu::Cpu& cpu = machine_.cpu(i);
    cpu.load_vector_table(&vectors_);
    auto idle = std::make_unique<Task>(*this, 0, fmt::format("swapper/{}", i), [this, i] { idle_loop(i); });
    idle->idle = true;
    scheduler_->init_idle(i, *idle, now);
    // The periodic tick, staggered across CPUs so that they do not all fire at once.
    dev::LocalTimer& timer = machine_.timer(i);
    timer.set_vector(Scheduler::kTimerVector);
    timer.set_masked(false);
    timer.arm_periodic(now + tick_period + (tick_period / machine_.cpu_count()) * i, tick_period);
    cpu.start(idle->ctx());
    idle_tasks_.push_back(std::move(idle));
  }
  machine_.interrupts().route(machine_.config().console_irq, kConsoleVector, 0);
  machine_.interrupts().unmask(machine_.config().console_irq);
  for (const auto& disk : disks_) {
    machine_.interrupts().route(disk->device().irq(), disk->vector(), 0);
    machine_.interrupts().unmask(disk->device().irq());
  }

  // init: pid 1, running /sbin/init, whose entry is the caller's followed by reaping.
  register_program(Program{.name = "init",
                           .main =
                               [entry = std::move(init_main)](user::Process& self) {
                                 const int status = entry ? entry(self) : 0;
                                 int ignored = 0;
                                 while (self.wait(&ignored) > 0) {
                                 }
                                 return status;
                               },
                           .text_bytes = 4096,
                           .data_bytes = 4096,
                           .bss_bytes = 4096},
                   "/sbin/init");
  Task* init = create_task("init");
  init_ = init;
  init->parent = nullptr;
  init->pgid = init->sid = init->tid;
  init->fs = std::make_shared<FsContext>(vfs_->initial_context());
  init->files = std::make_shared<FileTable>();
  init->sighand = std::make_shared<SignalHandlers>();
  init->se.sched_class = &scheduler_->fair_class();
  init->acct.arrival = now;
  // fds 0, 1, 2 on the console, inherited by everything init starts.
  for (int fd = 0; fd < 3; ++fd) {
    auto console = vfs_->open(*init->fs, init->fs->cwd, "/dev/console", sys::kOpenReadWrite, 0, now);
    (void)init->files->install(console.value());
  }
  // init starts by executing /sbin/init (what the kernel's kernel_init does).
  init->entry = [](user::Process& self) { return self.execve("/sbin/init", {"init"}); };
  // Until that execve, init runs on a bare address space with just a stack.
  init->mm = bare_address_space();
  init->user_stack_top = layout::kStackTop;
  scheduler_->wake_up_new(*init, now, nullptr);
  for (SpawnRequest& request : early_spawns_) spawn(std::move(request));
  early_spawns_.clear();
}

std::shared_ptr<AddressSpace> KernelCore::bare_address_space() {
  std::shared_ptr<AddressSpace> mm = AddressSpace::create(*this).value();
  (void)mm->insert_vma(Vma{.start = layout::kStackTop - config_.stack_bytes, .end = layout::kStackTop,
                           .prot = sys::kProtRead | sys::kProtWrite, .kind = VmaKind::kStack});
  return mm;
}

void KernelCore::power_off() {
  halted_ = true;
  // The simulation is over: the engine's run() returns once this event is done, and
  // whatever is still pending is not run.
  engine().stop();
  power_off_time_ = now(running_cpu());
  for (unsigned i = 0; i < machine_.cpu_count(); ++i) machine_.timer(i).disarm();
  for (unsigned i = 0; i < scheduler_->cpu_count(); ++i) {
    RunQueue& rq = scheduler_->rq(i);
    rq.hrtick_task = nullptr;
    if (rq.hrtick->scheduled()) engine().cancel(*rq.hrtick);
  }
}

void KernelCore::idle_loop(unsigned cpu_index) {
  Task& idle = *idle_tasks_[cpu_index];
  RunQueue& rq = scheduler_->rq(cpu_index);
  {
    // CPU bring-up: paging on the kernel's page table, with PCIDs if configured.
    cpu::Cpu& cpu = idle.ctx().cpu();
    cpu.write_cr3(kernel_root());
    std::uint64_t cr4 = cpu.control().cr4 | cpu::cr4::kGlobalPages;
    if (config_.pcid) cr4 |= cpu::cr4::kPcid;
    cpu.write_cr4(cr4);
    cpu.write_cr0(cpu.control().cr0 | cpu::cr0::kPaging | cpu::cr0::kWriteProtect);
  }
  for (;;) {
    cpu::Cpu& cpu = idle.ctx().cpu();
    cpu.disable_interrupts();
    if (idle.need_resched || rq.nr_running > 0) {
      scheduler_->schedule(idle);
      continue;
    }
    // STI; HLT: an interrupt that made work since the check wakes it at once.
    cpu.safe_halt();
  }
}

// ---- Tasks ------------------------------------------------------------------------------------

Task* KernelCore::find_task(pid_t tid) {
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

Task* KernelCore::start_kernel_thread(std::string name, std::function<void(Task&)> body, const cpu::Cpu* from) {
  Task* thread = create_task(std::move(name), [this, body = std::move(body)](Task& self) {
    scheduler_->finish_first_switch(self);
    self.mode_since = self.ctx().cpu().now();
    self.in_user = false;
    body(self);
  });
  if (thread == nullptr) return nullptr;
  const sim::Tick now = this->now(from);
  thread->parent = nullptr;
  thread->se.sched_class = &scheduler_->fair_class();
  thread->acct.arrival = now;
  scheduler_->wake_up_new(*thread, now, from);
  return thread;
}

Task* KernelCore::create_task(std::string name, std::function<void(Task&)> kernel_body) {
  // Linux's pid allocation: the next free pid after the last one, wrapping at pid_max
  // to 300 (low pids are for early daemons).
  const pid_t limit = static_cast<pid_t>(config_.pid_max);
  pid_t pid = last_pid_;
  for (pid_t tries = 0; tries < limit; ++tries) {
    pid = pid + 1 >= limit ? (last_pid_ == 0 ? 1 : 300) : pid + 1;
    if (tasks_.count(pid) == 0) {
      last_pid_ = pid;
      std::function<void()> body;
      if (kernel_body) body = [this, pid, kernel_body = std::move(kernel_body)] { kernel_body(*find_task(pid)); };
      auto task = std::make_unique<Task>(*this, pid, std::move(name), std::move(body));
      Task* raw = task.get();
      tasks_.emplace(pid, std::move(task));
      reaped_.erase(pid);
      return raw;
    }
  }
  return nullptr;
}

TaskInfo KernelCore::info(const Task& task) const {
  TaskInfo info;
  info.tid = task.tid;
  info.tgid = task.tgid;
  info.ppid = task.parent != nullptr ? task.parent->tgid : 0;
  info.pgid = task.pgid;
  info.sid = task.sid;
  info.name = task.name;
  info.label = task.label;
  info.state = task.state;
  info.exit_status = task.exit_status;
  info.exited = task.state == TaskState::kZombie || task.state == TaskState::kDead;
  info.accounting = task.acct;
  info.accounting.minor_faults = task.acct.minor_faults;
  // A task on a CPU now has TLB counts not yet charged to it.
  if (task.se.on_cpu && scheduler_->rq(task.se.cpu).curr == &task) {
    TlbUsage::of(machine_.cpu(task.se.cpu).mmu()).charge_since(task.tlb_at_switch_in, info.accounting);
  }
  return info;
}

void KernelCore::release_task(Task& task) {
  TaskInfo final_info = info(task);
  final_info.state = TaskState::kDead;
  if (task.sibling_hook.is_linked()) task.sibling_hook.unlink();
  if (task.thread_hook.is_linked()) task.thread_hook.unlink();
  task.state = TaskState::kDead;
  trace::task_reaped(*this, task, now(running_cpu()));
  const pid_t tid = task.tid;
  reaped_[tid] = std::move(final_info);
  tasks_.erase(tid);
}

// ---- Programs ---------------------------------------------------------------------------------

const Program* KernelCore::find_program(const std::string& name) const {
  auto it = programs_.find(name);
  return it == programs_.end() ? nullptr : &it->second;
}

// ---- Code handles -----------------------------------------------------------------------------

std::uint64_t KernelCore::register_entry(user::Entry entry) {
  const std::uint64_t handle = next_entry_handle_++;
  entries_.emplace(handle, std::move(entry));
  return handle;
}

std::optional<user::Entry> KernelCore::take_entry(std::uint64_t handle) {
  auto it = entries_.find(handle);
  if (it == entries_.end()) return std::nullopt;
  user::Entry entry = std::move(it->second);
  entries_.erase(it);
  return entry;
}

// ---- PCIDs ------------------------------------------------------------------------------------

std::uint16_t KernelCore::allocate_pcid() {
  if (!config_.pcid) return 0;
  if (!free_pcids_.empty()) {
    const std::uint16_t pcid = free_pcids_.back();
    free_pcids_.pop_back();
    return pcid;
  }
  if (next_pcid_ < 4096) return next_pcid_++;
  return 0;  // all 4095 in use: share PCID 0, whose entries are flushed on every switch
}

void KernelCore::release_pcid(std::uint16_t pcid) {
  if (pcid == 0) return;
  tlb_shootdown_->forget_pcid(pcid);
  free_pcids_.push_back(pcid);
}

// ---- Blocking ---------------------------------------------------------------------------------

void KernelCore::wake_up_all(WaitQueue& queue, sim::Tick now, const cpu::Cpu* from) {
  if (tearing_down_) return;
  queue.for_each([&](Task& task) { scheduler_->wake_up(task, now, from); });
}

}  // namespace ossim::kernel
