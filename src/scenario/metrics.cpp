#include "scenario/metrics.hpp"

#include <algorithm>

#include "ossim/kernel/task_info.hpp"
#include "ossim/sys/flags.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::scenario {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kInitPid = 1;

/// A time, or null for kTickNever ("did not happen").
Json time_json(sim::Tick t) { return t == sim::kTickNever ? Json(nullptr) : Json(t); }

/// `later - earlier`, or null when either did not happen.
Json span_json(sim::Tick earlier, sim::Tick later) {
  if (earlier == sim::kTickNever || later == sim::kTickNever || later < earlier) return nullptr;
  return later - earlier;
}

/// The wait status decoded: {"exited": code} or {"signaled": signal}; null if running.
Json exit_json(const kernel::TaskInfo& task) {
  if (!task.exited) return nullptr;
  if (sys::killed_by_signal(task.exit_status)) return {{"signaled", sys::terminating_signal(task.exit_status)}};
  return {{"exited", sys::exit_code(task.exit_status)}};
}

Json task_json(const kernel::TaskInfo& task) {
  const kernel::TaskAccounting& a = task.accounting;
  return {{"tid", task.tid},
          {"tgid", task.tgid},
          {"ppid", task.ppid},
          {"name", task.name},
          {"state", kernel::task_state_name(task.state)},
          {"exit", exit_json(task)},
          {"arrival", a.arrival},
          {"first_run", time_json(a.first_run)},
          {"completion", time_json(a.completion)},
          {"turnaround", span_json(a.arrival, a.completion)},
          {"response", span_json(a.arrival, a.first_run)},
          {"waiting", a.wait_time},
          {"cpu_time", a.user_time + a.system_time},
          {"user_time", a.user_time},
          {"system_time", a.system_time},
          {"voluntary_switches", a.voluntary_switches},
          {"involuntary_switches", a.involuntary_switches},
          {"slices", a.slices},
          {"minor_faults", a.minor_faults},
          {"major_faults", a.major_faults},
          {"syscalls", a.syscalls}};
}

Json tlb_json(const mmu::Tlb& tlb) {
  const mmu::TlbStats& stats = tlb.stats();
  const std::uint64_t lookups = stats.hits + stats.misses;
  return {{"hits", stats.hits},
          {"misses", stats.misses},
          {"hit_rate", lookups == 0 ? Json(nullptr) : Json(static_cast<double>(stats.hits) / static_cast<double>(lookups))}};
}

Json cpu_json(kernel::Kernel& kernel, unsigned index, sim::Tick elapsed) {
  cpu::Cpu& cpu = kernel.machine().cpu(index);
  const sim::Tick idle = std::min(kernel.idle_time(index), elapsed);
  mmu::Mmu& mmu = cpu.mmu();
  Json tlb = {{"itlb", tlb_json(mmu.itlb())}, {"dtlb", tlb_json(mmu.dtlb())}};
  tlb["stlb"] = mmu.stlb() != nullptr ? tlb_json(*mmu.stlb()) : Json(nullptr);
  tlb["walks"] = mmu.stats().walks;
  tlb["walk_entries_read"] = mmu.stats().walk_entries_read;
  return {{"cpu", index},
          {"utilisation", elapsed == 0 ? 0.0 : 1.0 - static_cast<double>(idle) / static_cast<double>(elapsed)},
          {"busy_time", elapsed - idle},
          {"idle_time", idle},
          {"context_switches", kernel.context_switches(index)},
          {"interrupts", cpu.stats().interrupts},
          {"exceptions", cpu.stats().exceptions},
          {"page_faults", cpu.stats().page_faults},
          {"syscalls", cpu.stats().syscalls},
          {"tlb", std::move(tlb)}};
}

}  // namespace

nlohmann::ordered_json collect_metrics(kernel::Kernel& kernel, const RunEnd& end) {
  const std::vector<kernel::TaskInfo> tasks = kernel.tasks();
  Json task_list = Json::array();
  std::uint64_t completed = 0;
  sim::Tick turnaround = 0, response = 0, waiting = 0;
  for (const kernel::TaskInfo& task : tasks) {
    task_list.push_back(task_json(task));
    const kernel::TaskAccounting& a = task.accounting;
    if (task.tid == kInitPid || !task.exited || a.completion == sim::kTickNever) continue;
    ++completed;
    turnaround += a.completion - a.arrival;
    response += a.first_run == sim::kTickNever ? 0 : a.first_run - a.arrival;
    waiting += a.wait_time;
  }

  Json cpus = Json::array();
  for (unsigned i = 0; i < kernel.machine().cpu_count(); ++i) cpus.push_back(cpu_json(kernel, i, end.end_time));

  const kernel::KernelStats stats = kernel.stats();
  const auto mean = [completed](sim::Tick total) { return completed == 0 ? Json(nullptr) : Json(total / completed); };
  const double seconds = static_cast<double>(end.end_time) / static_cast<double>(sim::kSecond);
  Json totals = {{"tasks", tasks.size()},
                 {"completed_tasks", completed},
                 {"throughput_per_second", seconds == 0 ? 0.0 : static_cast<double>(completed) / seconds},
                 {"mean_turnaround", mean(turnaround)},
                 {"mean_response", mean(response)},
                 {"mean_waiting", mean(waiting)},
                 {"syscalls", stats.syscalls},
                 {"context_switches", stats.context_switches},
                 {"forks", stats.forks},
                 {"execs", stats.execs},
                 {"exits", stats.exits},
                 {"page_faults", stats.page_faults},
                 {"cow_faults", stats.cow_faults},
                 {"segfaults", stats.segfaults},
                 {"interrupts", stats.interrupts},
                 {"timer_ticks", stats.timer_ticks}};

  Json init_exit = nullptr;
  if (kernel.halted()) {
    const int status = kernel.init_status();
    init_exit = sys::killed_by_signal(status) ? Json{{"signaled", sys::terminating_signal(status)}}
                                              : Json{{"exited", sys::exit_code(status)}};
  }
  Json document;
  document["schema_version"] = 1;
  document["time_unit"] = "ps";
  document["run"] = {{"seed", end.seed},
                     {"ended_by", end.halted ? "power_off" : "time_limit"},
                     {"end_time", end.end_time},
                     {"events_fired", kernel.machine().engine().events_fired()},
                     {"init_exit", std::move(init_exit)}};
  document["totals"] = std::move(totals);
  document["cpus"] = std::move(cpus);
  document["tasks"] = std::move(task_list);
  return document;
}

}  // namespace ossim::scenario
