#include "ossim/kernel/kernel.hpp"

#include "kernel/block/disk_driver.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/page_cache.hpp"
#include "kernel/mm/reclaim.hpp"
#include "kernel/mm/swap_area.hpp"

namespace ossim::kernel {

Kernel::Kernel(Machine& machine, const KernelConfig& config, sim::Trace* trace)
    : core_(std::make_unique<KernelCore>(machine, config, trace)) {}

Kernel::~Kernel() = default;

void Kernel::register_program(Program program) { core_->register_program(std::move(program)); }
void Kernel::boot(user::Entry init_main) { core_->boot(std::move(init_main)); }
void Kernel::spawn(SpawnRequest request) { core_->spawn(std::move(request)); }
bool Kernel::halted() const { return core_->halted(); }
int Kernel::init_status() const { return core_->init_status(); }
sim::Tick Kernel::power_off_time() const { return core_->power_off_time(); }
std::uint64_t Kernel::context_switches(unsigned cpu) const { return core_->scheduler().rq(cpu).switches; }
std::uint64_t Kernel::tlb_shootdowns_received(unsigned cpu) const { return core_->tlb_shootdown().received(cpu); }
KernelStats Kernel::stats() const { return core_->stats(); }

MemoryStats Kernel::memory_stats() const {
  KernelCore& core = *core_;
  MemoryStats stats;
  stats.total_frames = core.machine().frames().managed_frames();
  stats.free_frames = core.machine().frames().free_frames();
  stats.cached_pages = core.page_cache_pool().cached_pages;
  if (const SwapArea* swap = core.swap_area()) {
    stats.swap_slots = swap->slots();
    stats.swap_used = swap->used();
    stats.pages_swapped_out = swap->stats().pages_out;
    stats.pages_swapped_in = swap->stats().pages_in;
    const DiskDriverStats& disk = core.disk(*core.config().memory.swap_disk).stats();
    stats.disk_reads = disk.reads;
    stats.disk_writes = disk.writes;
  }
  const ReclaimStats& reclaim = core.reclaimer().stats();
  stats.pages_scanned = reclaim.scanned;
  stats.pages_reclaimed = reclaim.reclaimed;
  stats.kswapd_wakeups = reclaim.kswapd_wakeups;
  stats.kswapd_reclaimed = reclaim.kswapd_reclaimed;
  stats.direct_reclaims = reclaim.direct_reclaims;
  stats.direct_reclaimed = reclaim.direct_reclaimed;
  stats.oom_kills = reclaim.oom_kills;
  return stats;
}
const KernelConfig& Kernel::config() const { return core_->config(); }
Machine& Kernel::machine() { return core_->machine(); }

std::vector<TaskInfo> Kernel::tasks() const {
  std::map<int, TaskInfo> all(core_->exited_tasks().begin(), core_->exited_tasks().end());
  for (const auto& [tid, task] : core_->task_table()) all[tid] = core_->info(*task);
  std::vector<TaskInfo> result;
  result.reserve(all.size());
  for (auto& [tid, info] : all) result.push_back(std::move(info));
  return result;
}

std::optional<TaskInfo> Kernel::task(int tid) const {
  if (const auto& live = core_->task_table(); live.count(tid) != 0) return core_->info(*live.at(tid));
  if (const auto& gone = core_->exited_tasks(); gone.count(tid) != 0) return gone.at(tid);
  return std::nullopt;
}

sim::Tick Kernel::idle_time(unsigned cpu) const {
  const RunQueue& rq = core_->scheduler().rq(cpu);
  sim::Tick total = rq.idle_time;
  // The current idle stint counts up to the CPU's clock.
  if (rq.curr == rq.idle) {
    const sim::Tick now = std::max(core_->machine().engine().now(), core_->machine().cpu(cpu).now());
    if (now > rq.idle_since) total += now - rq.idle_since;
  }
  return total;
}

}  // namespace ossim::kernel
