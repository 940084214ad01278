#include "scenario/metrics.hpp"

#include <algorithm>

#include "ossim/kernel/task_info.hpp"
#include "ossim/sys/flags.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::scenario {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kInitPid = 1;

std::uint64_t to_ns(sim::Tick t) { return t / sim::kNanosecond; }

/// A time in nanoseconds, or null for kTickNever ("did not happen").
Json time_json(sim::Tick t) { return t == sim::kTickNever ? Json(nullptr) : Json(to_ns(t)); }

/// `later - earlier` in nanoseconds, or null when either did not happen.
Json span_json(sim::Tick earlier, sim::Tick later) {
  if (earlier == sim::kTickNever || later == sim::kTickNever || later < earlier) return nullptr;
  return to_ns(later - earlier);
}

/// The wait status decoded: {"exited": code} or {"signaled": signal}; null if running.
Json exit_json(const kernel::TaskInfo& task) {
  if (!task.exited) return nullptr;
  if (sys::killed_by_signal(task.exit_status)) return {{"signaled", sys::terminating_signal(task.exit_status)}};
  return {{"exited", sys::exit_code(task.exit_status)}};
}

Json latency_json(const kernel::LatencyHistogram& latency) {
  if (latency.count() == 0) return {{"count", 0}, {"buckets", Json::array()}};
  Json buckets = Json::array();
  latency.for_each_bucket([&](sim::Tick upper, std::uint64_t count) { buckets.push_back({to_ns(upper), count}); });
  return {{"count", latency.count()},
          {"buckets", std::move(buckets)},
          {"mean_ns", to_ns(latency.mean())},
          {"p50_ns", to_ns(latency.percentile(0.50))},
          {"p95_ns", to_ns(latency.percentile(0.95))},
          {"p99_ns", to_ns(latency.percentile(0.99))},
          {"max_ns", to_ns(latency.max())}};
}

/// A lateness in nanoseconds (negative: early), rounded toward zero.
std::int64_t lateness_ns(std::int64_t lateness) { return lateness / static_cast<std::int64_t>(sim::kNanosecond); }

/// The time a task spent in the system: from arrival to completion, or to the run's end.
sim::Tick lifetime(const kernel::TaskInfo& task, sim::Tick end) {
  const sim::Tick until = task.accounting.completion == sim::kTickNever ? end : task.accounting.completion;
  return until > task.accounting.arrival ? until - task.accounting.arrival : 0;
}

/// A task's share of the TLB counters of the CPUs it ran on.
void add_task_tlb(Json& item, const kernel::TaskAccounting& a) {
  item["tlb_hits"] = a.tlb_hits;
  item["tlb_misses"] = a.tlb_misses;
  item["page_walks"] = a.page_walks;
}

Json workload_task_json(const kernel::TaskInfo& task) {
  const kernel::TaskAccounting& a = task.accounting;
  Json item = {{"name", task.label},
               {"pid", task.tid},
               {"comm", task.name},
               {"state", kernel::task_state_name(task.state)},
               {"exit", exit_json(task)},
               {"arrival_ns", to_ns(a.arrival)},
               {"first_run_ns", time_json(a.first_run)},
               {"completion_ns", time_json(a.completion)},
               {"response_ns", span_json(a.arrival, a.first_run)},
               {"turnaround_ns", span_json(a.arrival, a.completion)},
               {"waiting_ns", to_ns(a.wait_time)},
               {"cpu_ns", to_ns(a.user_time + a.system_time)},
               {"user_ns", to_ns(a.user_time)},
               {"system_ns", to_ns(a.system_time)},
               {"slices", a.slices},
               {"preemptions", a.preemptions},
               {"voluntary_switches", a.voluntary_switches},
               {"involuntary_switches", a.involuntary_switches},
               {"migrations", a.migrations},
               {"wakeup_latency", latency_json(a.wakeup_latency)},
               {"jobs", a.jobs},
               {"deadline_misses", a.deadline_misses}};
  const bool lateness = a.max_lateness != kernel::TaskAccounting::kNoLateness;
  item["max_lateness_ns"] = lateness ? Json(lateness_ns(a.max_lateness)) : Json(nullptr);
  item["mean_lateness_ns"] =
      lateness && a.jobs > 0 ? Json(lateness_ns(a.total_lateness / static_cast<std::int64_t>(a.jobs))) : Json(nullptr);
  item["minor_faults"] = a.minor_faults;
  item["major_faults"] = a.major_faults;
  item["page_hits"] = a.page_hits;
  item["page_misses"] = a.page_misses;
  item["syscalls"] = a.syscalls;
  add_task_tlb(item, a);
  return item;
}

Json any_task_json(const kernel::TaskInfo& task) {
  const kernel::TaskAccounting& a = task.accounting;
  Json item = {{"tid", task.tid},
               {"tgid", task.tgid},
               {"ppid", task.ppid},
               {"name", task.name}};
  item["label"] = task.label.empty() ? Json(nullptr) : Json(task.label);
  item["state"] = kernel::task_state_name(task.state);
  item["exit"] = exit_json(task);
  item["arrival_ns"] = to_ns(a.arrival);
  item["completion_ns"] = time_json(a.completion);
  item["cpu_ns"] = to_ns(a.user_time + a.system_time);
  item["voluntary_switches"] = a.voluntary_switches;
  item["involuntary_switches"] = a.involuntary_switches;
  item["minor_faults"] = a.minor_faults;
  item["major_faults"] = a.major_faults;
  add_task_tlb(item, a);
  return item;
}

/// The memory system's counters, in pages (/proc/meminfo and /proc/vmstat's figures).
Json memory_json(const kernel::MemoryStats& memory) {
  return {{"total_pages", memory.total_frames},
          {"free_pages_at_end", memory.free_frames},
          {"cached_pages_at_end", memory.cached_pages},
          {"swap_pages", memory.swap_slots},
          {"swap_used_pages_at_end", memory.swap_used},
          {"pages_swapped_out", memory.pages_swapped_out},
          {"pages_swapped_in", memory.pages_swapped_in},
          {"pages_scanned", memory.pages_scanned},
          {"pages_reclaimed", memory.pages_reclaimed},
          {"kswapd_wakeups", memory.kswapd_wakeups},
          {"kswapd_reclaimed", memory.kswapd_reclaimed},
          {"direct_reclaims", memory.direct_reclaims},
          {"direct_reclaimed", memory.direct_reclaimed},
          {"oom_kills", memory.oom_kills},
          {"swap_disk_reads", memory.disk_reads},
          {"swap_disk_writes", memory.disk_writes}};
}

Json tlb_json(const mmu::TlbStats& stats) {
  const std::uint64_t lookups = stats.hits + stats.misses;
  return {{"hits", stats.hits},
          {"misses", stats.misses},
          {"hit_rate", lookups == 0 ? Json(nullptr) : Json(static_cast<double>(stats.hits) / static_cast<double>(lookups))},
          {"fills", stats.fills},
          {"evictions", stats.evictions},
          {"invalidations", stats.invalidations},
          {"flushes", stats.flushes}};
}

void add_tlb_stats(mmu::TlbStats& sum, const mmu::TlbStats& more) {
  sum.hits += more.hits;
  sum.misses += more.misses;
  sum.fills += more.fills;
  sum.evictions += more.evictions;
  sum.invalidations += more.invalidations;
  sum.flushes += more.flushes;
}

/// The machine's TLB counters summed over the CPUs, with the kernel's shootdown counts.
struct TlbTotals {
  mmu::TlbStats itlb, dtlb, stlb;
  std::uint64_t walks = 0, walk_entries_read = 0, shootdowns_received = 0;

  void add(kernel::Kernel& kernel, unsigned index) {
    mmu::Mmu& mmu = kernel.machine().cpu(index).mmu();
    add_tlb_stats(itlb, mmu.itlb().stats());
    add_tlb_stats(dtlb, mmu.dtlb().stats());
    if (mmu.stlb() != nullptr) add_tlb_stats(stlb, mmu.stlb()->stats());
    walks += mmu.stats().walks;
    walk_entries_read += mmu.stats().walk_entries_read;
    shootdowns_received += kernel.tlb_shootdowns_received(index);
  }
  Json json(kernel::Kernel& kernel, const kernel::KernelStats& stats) const {
    Json tlb = {{"itlb", tlb_json(itlb)}, {"dtlb", tlb_json(dtlb)}};
    tlb["stlb"] = kernel.machine().cpu(0).mmu().stlb() != nullptr ? tlb_json(stlb) : Json(nullptr);
    tlb["walks"] = walks;
    tlb["walk_entries_read"] = walk_entries_read;
    tlb["shootdowns"] = stats.tlb_shootdowns;
    tlb["shootdown_ipis"] = stats.tlb_shootdown_ipis;
    tlb["shootdowns_received"] = shootdowns_received;
    tlb["lazy_invalidations"] = stats.tlb_lazy_invalidations;
    return tlb;
  }
};

Json cpu_json(kernel::Kernel& kernel, unsigned index, sim::Tick elapsed) {
  cpu::Cpu& cpu = kernel.machine().cpu(index);
  const sim::Tick idle = std::min(kernel.idle_time(index), elapsed);
  mmu::Mmu& mmu = cpu.mmu();
  Json tlb = {{"itlb", tlb_json(mmu.itlb().stats())}, {"dtlb", tlb_json(mmu.dtlb().stats())}};
  tlb["stlb"] = mmu.stlb() != nullptr ? tlb_json(mmu.stlb()->stats()) : Json(nullptr);
  tlb["walks"] = mmu.stats().walks;
  tlb["walk_entries_read"] = mmu.stats().walk_entries_read;
  tlb["shootdowns_received"] = kernel.tlb_shootdowns_received(index);
  return {{"cpu", index},
          {"utilisation", elapsed == 0 ? 0.0 : 1.0 - static_cast<double>(idle) / static_cast<double>(elapsed)},
          {"busy_ns", to_ns(elapsed - idle)},
          {"idle_ns", to_ns(idle)},
          {"context_switches", kernel.context_switches(index)},
          {"interrupts", cpu.stats().interrupts},
          {"exceptions", cpu.stats().exceptions},
          {"page_faults", cpu.stats().page_faults},
          {"syscalls", cpu.stats().syscalls},
          {"tlb", std::move(tlb)}};
}

/// Jain's fairness index (sum x)^2 / (n sum x^2) of `shares`: 1 when all are equal, 1/n
/// when one task has everything; null without tasks.
Json jain_index(const std::vector<double>& shares) {
  double sum = 0, squares = 0;
  for (double share : shares) {
    sum += share;
    squares += share * share;
  }
  if (shares.empty() || squares == 0) return nullptr;
  return sum * sum / (static_cast<double>(shares.size()) * squares);
}

}  // namespace

nlohmann::ordered_json collect_metrics(kernel::Kernel& kernel, const RunEnd& end) {
  const std::vector<kernel::TaskInfo> tasks = kernel.tasks();
  Json workload_tasks = Json::array();
  Json all_tasks = Json::array();
  std::uint64_t workload_count = 0, completed = 0, deadline_misses = 0, jobs = 0;
  sim::Tick turnaround = 0, response = 0, waiting = 0;
  std::vector<double> shares;
  for (const kernel::TaskInfo& task : tasks) {
    all_tasks.push_back(any_task_json(task));
    if (task.label.empty() || task.tid == kInitPid) continue;
    workload_tasks.push_back(workload_task_json(task));
    const kernel::TaskAccounting& a = task.accounting;
    ++workload_count;
    jobs += a.jobs;
    deadline_misses += a.deadline_misses;
    const sim::Tick life = lifetime(task, end.end_time);
    if (life > 0) shares.push_back(static_cast<double>(a.user_time + a.system_time) / static_cast<double>(life));
    if (!task.exited || a.completion == sim::kTickNever) continue;
    ++completed;
    turnaround += a.completion - a.arrival;
    response += a.first_run == sim::kTickNever ? 0 : a.first_run - a.arrival;
    waiting += a.wait_time;
  }

  Json cpus = Json::array();
  double utilisation = 0;
  TlbTotals tlb;
  for (unsigned i = 0; i < kernel.machine().cpu_count(); ++i) {
    tlb.add(kernel, i);
    cpus.push_back(cpu_json(kernel, i, end.end_time));
    utilisation += cpus.back()["utilisation"].get<double>();
  }

  const kernel::KernelStats stats = kernel.stats();
  const auto mean = [completed](sim::Tick total) { return completed == 0 ? Json(nullptr) : Json(to_ns(total / completed)); };
  const double seconds = static_cast<double>(end.end_time) / static_cast<double>(sim::kSecond);
  Json totals = {{"workload_tasks", workload_count},
                 {"completed_tasks", completed},
                 {"throughput_per_second", seconds == 0 ? 0.0 : static_cast<double>(completed) / seconds},
                 {"mean_turnaround_ns", mean(turnaround)},
                 {"mean_response_ns", mean(response)},
                 {"mean_waiting_ns", mean(waiting)},
                 {"mean_utilisation", utilisation / kernel.machine().cpu_count()},
                 {"jain_fairness", jain_index(shares)},
                 {"jobs", jobs},
                 {"deadline_misses", deadline_misses},
                 {"tasks", tasks.size()},
                 {"syscalls", stats.syscalls},
                 {"context_switches", stats.context_switches},
                 {"forks", stats.forks},
                 {"execs", stats.execs},
                 {"exits", stats.exits},
                 {"page_faults", stats.page_faults},
                 {"cow_faults", stats.cow_faults},
                 {"thp_fault_alloc", stats.thp_fault_alloc},
                 {"thp_fault_fallback", stats.thp_fault_fallback},
                 {"thp_split_pmd", stats.thp_split_pmd},
                 {"segfaults", stats.segfaults},
                 {"interrupts", stats.interrupts},
                 {"timer_ticks", stats.timer_ticks}};
  totals["tlb"] = tlb.json(kernel, stats);

  Json init_exit = nullptr;
  if (kernel.halted()) {
    const int status = kernel.init_status();
    init_exit = sys::killed_by_signal(status) ? Json{{"signaled", sys::terminating_signal(status)}}
                                              : Json{{"exited", sys::exit_code(status)}};
  }
  Json document;
  document["schema_version"] = 1;
  document["time_unit"] = "ns";
  document["run"] = {{"seed", end.seed},
                     {"ended_by", end.halted ? "power_off" : "time_limit"},
                     {"end_ns", to_ns(end.end_time)},
                     {"events_fired", kernel.machine().engine().events_fired()},
                     {"init_exit", std::move(init_exit)}};
  document["totals"] = std::move(totals);
  document["cpus"] = std::move(cpus);
  document["memory"] = memory_json(kernel.memory_stats());
  document["tasks"] = std::move(workload_tasks);
  document["all_tasks"] = std::move(all_tasks);
  return document;
}

}  // namespace ossim::scenario
