#include "ossim/scenario/scenario.hpp"

#include <algorithm>
#include <fstream>
#include <span>
#include <sstream>

#include <fmt/format.h>

#include "scenario/json_override.hpp"
#include "scenario/json_reader.hpp"
#include "ossim/kernel/page_replacement.hpp"
#include "ossim/workloads/task_set.hpp"
#include "workloads/workload_registry.hpp"

namespace ossim::scenario {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kDefaultScenario = R"json({
  "schema_version": 1,
  "description": "The built-in default: two CPUs running a mix of every canned workload.",
  "machine": {"cpus": 2, "memory": "256MiB", "cpu_frequency_hz": 3000000000, "sync_quantum": "1us"},
  "kernel": {"hz": 1000, "scheduler": {"policy": "rr", "quantum_ms": 10}, "pcid": true, "costs": "default"},
  "workloads": [
    {"name": "cpu_hog", "count": 2, "arrival_ms": 0, "params": {"duration": "800ms"}},
    {"name": "interactive", "count": 2, "arrival_ms": 0, "params": {"bursts": 150, "burst_us": 500, "sleep_us": 10000}},
    {"name": "sleep_loop", "count": 2, "arrival_ms": 5, "params": {"iterations": 60, "max_sleep_us": 40000}},
    {"name": "fork_tree", "count": 1, "arrival_ms": 100, "params": {"depth": 4, "fanout": 2}},
    {"name": "shell_pipeline", "count": 1, "arrival_ms": 200, "params": {"lines": 500}},
    {"name": "memory_toucher", "count": 2, "arrival_ms": 300,
     "params": {"pages": 2048, "pattern": "random", "passes": 4}},
    {"name": "cpu_hog", "count": 1, "arrival_ms": 1500, "params": {"duration": "300ms"}}
  ],
  "run": {"seed": 1, "end": "30s"},
  "outputs": {"trace": true, "categories": "all"}
})json";

constexpr unsigned kDefaultCpus = 2;
constexpr std::uint64_t kDefaultMemory = std::uint64_t{256} << 20;
constexpr std::uint64_t kPageBytes = 4096;
/// Swap the scenario machine gets unless kernel.memory.swap says otherwise.
constexpr std::uint64_t kDefaultSwap = std::uint64_t{512} << 20;
/// The disk kernel.memory.executables_on_disk adds.
constexpr std::uint64_t kExecutablesDiskBytes = std::uint64_t{256} << 20;
// How far a CPU may run ahead of the others before syncing. Zero interleaves CPUs exactly,
// but two CPUs that both compute then advance a cycle per engine event; 1us keeps
// cross-CPU timing well inside a context switch's cost at a small fraction of the events.
constexpr sim::Tick kDefaultSyncQuantum = sim::kMicrosecond;

std::string_view replacement_name(mmu::TlbReplacement replacement) {
  switch (replacement) {
    case mmu::TlbReplacement::kLru: return "lru";
    case mmu::TlbReplacement::kFifo: return "fifo";
    case mmu::TlbReplacement::kRandom: return "random";
  }
  return "lru";
}

bool is_power_of_two(std::uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

mmu::TlbConfig read_tlb(JsonReader tlb, mmu::TlbConfig config) {
  config.entries = tlb.get_in_range<unsigned>("entries", 1, 1u << 20, config.entries);
  config.ways = tlb.get_in_range<unsigned>("ways", 1, 1u << 10, config.ways);
  config.replacement = tlb.get_enum("replacement",
                                    {{"lru", mmu::TlbReplacement::kLru},
                                     {"fifo", mmu::TlbReplacement::kFifo},
                                     {"random", mmu::TlbReplacement::kRandom}},
                                    config.replacement);
  if (config.entries % config.ways != 0 || !is_power_of_two(config.entries / config.ways)) {
    tlb.fail("ways", fmt::format("entries / ways must be a power of two (the number of sets), got {} / {}",
                                    config.entries, config.ways));
  }
  tlb.finish();
  return config;
}

/// machine.disks: data disks, each a block device file /dev/<name> in the simulation.
void read_disks(JsonReader& machine, MachineConfig& config) {
  std::vector<JsonReader> disks = machine.objects("disks");
  if (disks.size() > 8) machine.fail("disks", fmt::format("at most 8 disks, got {}", disks.size()));
  for (std::size_t i = 0; i < disks.size(); ++i) {
    JsonReader& disk = disks[i];
    dev::BlockDeviceConfig device;
    device.name = disk.get<std::string>("name", fmt::format("sd{}", static_cast<char>('b' + i)));
    if (device.name.empty() || device.name.size() > 32 ||
        !std::all_of(device.name.begin(), device.name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); })) {
      disk.fail("name", fmt::format("expected 1 to 32 lower-case letters and digits, got \"{}\"", device.name));
    }
    for (const dev::BlockDeviceConfig& other : config.disks) {
      if (other.name == device.name) disk.fail("name", fmt::format("\"{}\" names two disks", device.name));
    }
    device.kind = disk.get_enum("kind", {{"ssd", dev::DiskKind::kSsd}, {"hdd", dev::DiskKind::kHdd}}, dev::DiskKind::kSsd);
    const std::uint64_t bytes = disk.get_bytes("size", std::uint64_t{1} << 30);
    if (bytes == 0 || bytes % kPageBytes != 0 || bytes > (std::uint64_t{1} << 40)) {
      disk.fail("size", fmt::format("expected a positive whole number of 4 KiB pages up to 1TiB, got {}", format_bytes(bytes)));
    }
    device.sectors = bytes / dev::kSectorBytes;
    disk.finish();
    config.disks.push_back(std::move(device));
  }
}

void read_machine(JsonReader machine, MachineConfig& config, bool& ideal_timing, bool ideal_costs) {
  config.cpus = machine.get_in_range<unsigned>("cpus", 1, 256, kDefaultCpus);
  config.memory_bytes = machine.get_bytes("memory", kDefaultMemory);
  if (config.memory_bytes < (std::uint64_t{4} << 20) || config.memory_bytes > (std::uint64_t{64} << 30)) {
    machine.fail("memory", fmt::format("expected from 4MiB to 64GiB, got {}", format_bytes(config.memory_bytes)));
  }
  if (config.memory_bytes % kPageBytes != 0) machine.fail("memory", "must be a whole number of 4 KiB pages");
  config.cpu.frequency_hz =
      machine.get_in_range<std::uint64_t>("cpu_frequency_hz", 1'000'000, 100'000'000'000, config.cpu.frequency_hz);
  config.cpu.sync_quantum = machine.get_duration("sync_quantum", kDefaultSyncQuantum);
  JsonReader tlb = machine.object("tlb");
  mmu::MmuConfig& mmu = config.cpu.mmu;
  mmu.itlb = read_tlb(tlb.object("itlb"), mmu.itlb);
  mmu.dtlb = read_tlb(tlb.object("dtlb"), mmu.dtlb);
  if (const Json* stlb = tlb.raw("stlb"); stlb != nullptr && stlb->is_boolean()) {
    if (!stlb->get<bool>()) mmu.stlb.reset();
  } else if (mmu.stlb) {
    mmu.stlb = read_tlb(tlb.object("stlb"), *mmu.stlb);
  }
  tlb.finish();
  read_disks(machine, config);
  ideal_timing = machine.get_choice("timing", {"default", "ideal"}, ideal_costs ? "ideal" : "default") == "ideal";
  if (ideal_timing) {
    config = with_ideal_timing(config);
    // A sync quantum the scenario gives explicitly stays: it trades exactness for speed.
    if (machine.has("sync_quantum")) config.cpu.sync_quantum = machine.get_duration("sync_quantum", 0);
  }
  machine.finish();
}

struct CostField {
  std::string_view name;
  sim::Tick kernel::CostModel::*field;
};
constexpr CostField kCostFields[] = {
    {"syscall_entry", &kernel::CostModel::syscall_entry},
    {"context_switch", &kernel::CostModel::context_switch},
    {"interrupt_entry", &kernel::CostModel::interrupt_entry},
    {"page_fault", &kernel::CostModel::page_fault},
    {"fork", &kernel::CostModel::fork},
    {"exec", &kernel::CostModel::exec},
    {"migration", &kernel::CostModel::migration},
    {"ipi_send", &kernel::CostModel::ipi_send},
};

kernel::CostModel read_costs(JsonReader& kernel_section) {
  const Json* costs = kernel_section.raw("costs");
  if (costs == nullptr || *costs == "default") return kernel::CostModel{};
  if (*costs == "ideal") return kernel::CostModel::ideal();
  if (!costs->is_object()) {
    kernel_section.fail("costs", fmt::format("expected \"default\", \"ideal\" or an object of durations, got {}",
                                             costs->dump()));
  }
  JsonReader fields = kernel_section.object("costs");
  kernel::CostModel model;
  for (const CostField& field : kCostFields) model.*field.field = fields.get_duration(field.name, model.*field.field);
  fields.finish();
  return model;
}

/// Reads MLFQ's per-level lists: each has one value per level, or a single value for all.
std::vector<sim::Tick> read_levels(JsonReader& scheduler, std::string_view key, unsigned levels,
                                   std::vector<sim::Tick> fallback) {
  std::vector<sim::Tick> values = scheduler.get_durations(key, std::move(fallback), sim::kMillisecond);
  if (values.size() == 1) values.assign(levels, values.front());
  if (values.size() != levels) {
    scheduler.fail(key, fmt::format("expected {} values (one per level, highest priority first), got {}", levels,
                                    values.size()));
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] == 0) scheduler.fail(key, fmt::format("level {}: must be positive", i));
  }
  return values;
}

/// kernel.scheduler: a policy name, or an object with the policy and its tunables.
void read_scheduler(JsonReader& kernel_section, kernel::SchedulerConfig& config) {
  const std::vector<std::string_view> policies = kernel::scheduling_policy_names();
  const Json* value = kernel_section.raw("scheduler");
  if (value == nullptr) return;
  if (value->is_string()) {
    config.policy = kernel_section.get_choice("scheduler", policies, config.policy);
    return;
  }
  JsonReader scheduler = kernel_section.object("scheduler");
  config.policy = scheduler.get_choice("policy", policies, config.policy);
  std::vector<std::string_view> fair_policies;
  for (std::string_view name : policies) {
    if (kernel::is_fair_slot_policy(name)) fair_policies.push_back(name);
  }
  config.fair = scheduler.get_choice("fair", fair_policies, config.fair);

  // quantum_ms: one quantum (round robin, SCHED_RR, lottery, stride, and every MLFQ
  // level), or MLFQ's per-level list (whose first, top-level, value is then the quantum
  // of the others).
  const Json* quantum = scheduler.raw("quantum_ms");
  kernel::MlfqConfig mlfq = config.mlfq;
  mlfq.levels = scheduler.get_in_range<unsigned>("levels", 1, 64, mlfq.levels);
  if (quantum != nullptr && !quantum->is_array()) {
    config.quantum = scheduler.get_duration("quantum_ms", config.quantum, sim::kMillisecond);
    if (config.quantum == 0) scheduler.fail("quantum_ms", "must be positive");
    mlfq.quantum.assign(mlfq.levels, config.quantum);
  } else if (quantum == nullptr && mlfq.quantum.size() != mlfq.levels) {
    mlfq.quantum.assign(mlfq.levels, config.quantum);
  }
  mlfq.quantum = read_levels(scheduler, "quantum_ms", mlfq.levels, mlfq.quantum);
  config.quantum = mlfq.quantum.front();
  if (mlfq.allotment.size() != mlfq.levels) mlfq.allotment = mlfq.quantum;
  mlfq.allotment = read_levels(scheduler, "allotment_ms", mlfq.levels, mlfq.allotment);
  mlfq.boost = scheduler.get_duration("boost_ms", mlfq.boost, sim::kMillisecond);
  config.mlfq = std::move(mlfq);

  JsonReader cfs = scheduler.object("cfs");
  config.cfs.sched_latency = cfs.get_duration("sched_latency_ms", config.cfs.sched_latency, sim::kMillisecond);
  config.cfs.min_granularity = cfs.get_duration("min_granularity_ms", config.cfs.min_granularity, sim::kMillisecond);
  config.cfs.wakeup_granularity =
      cfs.get_duration("wakeup_granularity_ms", config.cfs.wakeup_granularity, sim::kMillisecond);
  if (config.cfs.sched_latency == 0) cfs.fail("sched_latency_ms", "must be positive");
  if (config.cfs.min_granularity == 0) cfs.fail("min_granularity_ms", "must be positive");
  cfs.finish();
  config.deadline_bandwidth = scheduler.get_in_range<double>("deadline_bandwidth", 0.01, 1.0, config.deadline_bandwidth);
  config.balance_interval = scheduler.get_duration("balance_ms", config.balance_interval, sim::kMillisecond);
  if (config.balance_interval == 0) scheduler.fail("balance_ms", "must be positive");
  scheduler.finish();
}

OrderedJson scheduler_json(const kernel::SchedulerConfig& config) {
  const auto ms_list = [](const std::vector<sim::Tick>& values) {
    OrderedJson list = OrderedJson::array();
    for (sim::Tick value : values) list.push_back(OrderedJson(workloads::duration_json(value, sim::kMillisecond)));
    return list;
  };
  const bool one_quantum = std::all_of(config.mlfq.quantum.begin(), config.mlfq.quantum.end(),
                                      [&](sim::Tick quantum) { return quantum == config.quantum; });
  return {{"policy", config.policy},
          {"fair", config.fair},
          {"quantum_ms", one_quantum ? OrderedJson(workloads::duration_json(config.quantum, sim::kMillisecond))
                                     : ms_list(config.mlfq.quantum)},
          {"levels", config.mlfq.levels},
          {"allotment_ms", ms_list(config.mlfq.allotment)},
          {"boost_ms", OrderedJson(workloads::duration_json(config.mlfq.boost, sim::kMillisecond))},
          {"cfs",
           {{"sched_latency_ms", OrderedJson(workloads::duration_json(config.cfs.sched_latency, sim::kMillisecond))},
            {"min_granularity_ms", OrderedJson(workloads::duration_json(config.cfs.min_granularity, sim::kMillisecond))},
            {"wakeup_granularity_ms",
             OrderedJson(workloads::duration_json(config.cfs.wakeup_granularity, sim::kMillisecond))}}},
          {"deadline_bandwidth", config.deadline_bandwidth},
          {"balance_ms", OrderedJson(workloads::duration_json(config.balance_interval, sim::kMillisecond))}};
}

/// kernel.memory: transparent huge pages, the replacement policy, the watermarks, and the
/// swap area, which gets a disk of its own on the machine ("swap0", an SSD unless `device`
/// says "hdd").
void read_memory(JsonReader memory, kernel::MemoryConfig& config, MachineConfig& machine) {
  config.transparent_hugepages = memory.get_enum<kernel::TransparentHugepages>(
      "transparent_hugepages",
      {{"never", kernel::TransparentHugepages::kNever},
       {"madvise", kernel::TransparentHugepages::kMadvise},
       {"always", kernel::TransparentHugepages::kAlways}},
      config.transparent_hugepages);
  const std::vector<std::string> names = kernel::replacement_policy_names();
  config.replacement = memory.get_choice("replacement", std::vector<std::string_view>(names.begin(), names.end()),
                                         config.replacement);
  config.min_free_kbytes = memory.get_in_range<std::uint64_t>("min_free_kbytes", 0, std::uint64_t{1} << 26, 0);
  JsonReader swap = memory.object("swap");
  const std::uint64_t bytes = swap.get_bytes("size", kDefaultSwap);
  if (bytes % kPageBytes != 0) swap.fail("size", "must be a whole number of 4 KiB pages");
  if (bytes > (std::uint64_t{1} << 40)) swap.fail("size", fmt::format("at most 1TiB, got {}", format_bytes(bytes)));
  const dev::DiskKind kind =
      swap.get_enum("device", {{"ssd", dev::DiskKind::kSsd}, {"hdd", dev::DiskKind::kHdd}}, dev::DiskKind::kSsd);
  swap.finish();
  const std::string executables = memory.get_choice("executables_on_disk", {"none", "ssd", "hdd"}, "none");
  memory.finish();
  if (bytes > 0) {
    config.swap_disk = static_cast<unsigned>(machine.disks.size());
    machine.disks.push_back(dev::BlockDeviceConfig{.name = "swap0", .kind = kind, .sectors = bytes / dev::kSectorBytes});
  }
  if (executables != "none") {
    // The executables' own disk, "sda", large enough for any scenario's programs.
    config.executables_disk = static_cast<unsigned>(machine.disks.size());
    machine.disks.push_back(dev::BlockDeviceConfig{.name = "sda",
                                                   .kind = executables == "ssd" ? dev::DiskKind::kSsd : dev::DiskKind::kHdd,
                                                   .sectors = kExecutablesDiskBytes / dev::kSectorBytes});
  }
}

OrderedJson memory_json(const kernel::MemoryConfig& config, const MachineConfig& machine) {
  OrderedJson swap = {{"size", "0B"}};
  if (config.swap_disk) {
    const dev::BlockDeviceConfig& disk = machine.disks.at(*config.swap_disk);
    swap = {{"size", format_bytes(disk.sectors * dev::kSectorBytes)},
            {"device", disk.kind == dev::DiskKind::kSsd ? "ssd" : "hdd"}};
  }
  std::string executables = "none";
  if (config.executables_disk) {
    executables = machine.disks.at(*config.executables_disk).kind == dev::DiskKind::kSsd ? "ssd" : "hdd";
  }
  return {{"transparent_hugepages", kernel::transparent_hugepages_name(config.transparent_hugepages)},
          {"replacement", config.replacement},
          {"min_free_kbytes", config.min_free_kbytes},
          {"swap", std::move(swap)},
          {"executables_on_disk", executables}};
}

void read_kernel(JsonReader kernel_section, kernel::KernelConfig& config, MachineConfig& machine) {
  config.hz = kernel_section.get_in_range<unsigned>("hz", 1, 100'000, config.hz);
  read_scheduler(kernel_section, config.scheduler);
  read_memory(kernel_section.object("memory"), config.memory, machine);
  config.pcid = kernel_section.get("pcid", config.pcid);
  config.costs = read_costs(kernel_section);
  kernel_section.finish();
}

/// The parameters a textbook kind takes inline, in the entry itself, rather than under
/// `params`.
std::span<const std::string_view> inline_params(std::string_view kind) {
  static constexpr std::string_view kJob[] = {"cpu_ms", "io_every_ms", "io_ms"};
  static constexpr std::string_view kPeriodic[] = {"period_ms", "wcet_ms", "deadline_ms", "jobs"};
  static constexpr std::string_view kRtApp[] = {"phases", "loop"};
  static constexpr std::string_view kPageRefs[] = {"pages", "resident_limit", "write"};
  if (kind == "job") return kJob;
  if (kind == "periodic") return kPeriodic;
  if (kind == "rtapp") return kRtApp;
  if (kind == "page_refs") return kPageRefs;
  return {};
}

constexpr std::string_view kTaskPolicies[] = {"other", "batch", "idle", "fifo", "rr", "deadline"};

/// The scheduling attributes every kind of entry takes: policy, nice, tickets, priority,
/// cpus.
void read_task_attributes(JsonReader& entry, const MachineConfig& machine, bool periodic, WorkloadEntry& workload) {
  std::vector<std::string> policies(std::begin(kTaskPolicies), std::end(kTaskPolicies));
  workload.policy = entry.get<std::string>("policy", "");
  if (!workload.policy.empty() &&
      std::find(policies.begin(), policies.end(), workload.policy) == policies.end()) {
    entry.fail("policy", fmt::format("expected one of other, batch, idle, fifo, rr, deadline, got \"{}\"",
                                     workload.policy));
  }
  if (workload.policy == "deadline" && !periodic) {
    entry.fail("policy", "\"deadline\" needs a periodic task (its runtime, deadline and period)");
  }
  workload.nice = entry.get_in_range<int>("nice", sys::kNiceMin, sys::kNiceMax, 0);
  workload.tickets = entry.get_in_range<std::uint32_t>("tickets", 1, 1'000'000'000, sys::kDefaultTickets);
  workload.priority = entry.get_in_range<int>("priority", sys::kRtPriorityMin, sys::kRtPriorityMax, 0);
  if (const Json* cpus = entry.raw("cpus"); cpus != nullptr) {
    if (!cpus->is_array() || cpus->empty()) entry.fail("cpus", "expected a non-empty list of CPU numbers, got " + cpus->dump());
    for (const Json& cpu : *cpus) {
      if (!cpu.is_number_unsigned() || cpu.get<std::uint64_t>() >= machine.cpus) {
        entry.fail("cpus", fmt::format("expected CPU numbers from 0 to {}, got {}", machine.cpus - 1, cpu.dump()));
      }
      workload.cpus.push_back(cpu.get<unsigned>());
    }
  }
}

workloads::WorkloadOptions options_for(const MachineConfig& machine, std::string where) {
  return {.program_suffix = {},
          .cpu_frequency_hz = machine.cpu.frequency_hz,
          .memory_bytes = machine.memory_bytes,
          .where = std::move(where),
          .label = {},
          .arrival = 0};
}

/// A `taskset` entry: a random periodic task set, expanded here into one periodic entry
/// per task, "<name>.0", "<name>.1", ... (effective_config.json lists those). Its random
/// stream is (seed, "taskset:<name>"), the seed being the entry's or the run's.
std::vector<WorkloadEntry> read_task_set(JsonReader entry, const MachineConfig& machine, std::uint64_t run_seed) {
  WorkloadEntry common;
  common.kind = "periodic";
  const std::string name = entry.get<std::string>("name", "taskset");
  if (name.empty()) entry.fail("name", "must not be empty");
  entry.get_choice("generator", {"uunifast"}, "uunifast");
  common.arrival = entry.get_duration("arrival_ms", 0, sim::kMillisecond);
  read_task_attributes(entry, machine, /*periodic=*/true, common);

  workloads::TaskSetRequest request;
  request.tasks = entry.get_in_range<unsigned>("tasks", 1, 10'000, request.tasks);
  request.utilisation = entry.get<double>("utilisation", request.utilisation);
  if (!(request.utilisation > 0) || request.utilisation > request.tasks) {
    entry.fail("utilisation", fmt::format("expected more than 0 and at most the number of tasks ({}), got {}",
                                          request.tasks, request.utilisation));
  }
  const std::vector<sim::Tick> periods =
      entry.get_durations("period_ms", {request.period_min, request.period_max}, sim::kMillisecond);
  if (periods.size() != 2 || periods[0] == 0 || periods[0] > periods[1]) {
    entry.fail("period_ms", "expected [shortest, longest] with 0 < shortest <= longest");
  }
  request.period_min = periods[0];
  request.period_max = periods[1];
  request.period_granularity =
      entry.get_duration("period_granularity_ms", std::min(request.period_granularity, periods[0]), sim::kMillisecond);
  if (request.period_granularity == 0 || request.period_granularity > request.period_min) {
    entry.fail("period_granularity_ms", "must be positive and at most the shortest period");
  }
  const auto seed = entry.get<std::uint64_t>("seed", run_seed);
  const auto jobs = entry.get_in_range<std::uint64_t>("jobs", 0, std::uint64_t{1} << 40, 0);
  entry.finish();

  sim::RandomStream random(seed, "taskset:" + name);
  std::vector<workloads::PeriodicTaskSpec> tasks;
  try {
    tasks = workloads::generate_task_set(request, random);
  } catch (const std::invalid_argument& error) {
    entry.fail("utilisation", error.what());
  }
  std::vector<WorkloadEntry> expanded;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    WorkloadEntry task = common;
    task.name = fmt::format("{}.{}", name, i);
    const Json params = {{"period_ms", workloads::duration_json(tasks[i].period, sim::kMillisecond)},
                         {"wcet_ms", workloads::duration_json(tasks[i].wcet, sim::kMillisecond)},
                         {"jobs", jobs}};
    task.params = workloads::make_canned_workload("periodic", params, options_for(machine, entry.path())).params;
    expanded.push_back(std::move(task));
  }
  return expanded;
}

WorkloadEntry read_workload(JsonReader entry, const MachineConfig& machine) {
  WorkloadEntry workload;
  std::string known;
  for (const workloads::CannedWorkload* candidate : workloads::registered_workloads()) {
    known += fmt::format("{}{}", known.empty() ? "" : ", ", candidate->name);
  }
  // `kind` names the workload; the older form names it with `name`.
  const std::string_view kind_key = entry.has("kind") ? "kind" : "name";
  workload.kind = entry.require<std::string>(kind_key);
  if (workloads::find_canned_workload(workload.kind) == nullptr) {
    entry.fail(kind_key, fmt::format("unknown workload \"{}\" (known: {}, taskset)", workload.kind, known));
  }
  workload.name = entry.get<std::string>("name", workload.kind);
  if (workload.name.empty()) entry.fail("name", "must not be empty");
  workload.count = entry.get_in_range<unsigned>("count", 0, 100'000, 1);
  workload.arrival = entry.get_duration("arrival_ms", 0, sim::kMillisecond);
  read_task_attributes(entry, machine, workload.kind == "periodic", workload);

  workloads::WorkloadOptions options = options_for(machine, entry.key_path("params"));
  Json params = Json::object();
  const std::span<const std::string_view> inline_keys = inline_params(workload.kind);
  if (!inline_keys.empty()) {
    // The textbook kinds' parameters sit in the entry: messages name them there.
    for (std::string_view key : inline_keys) {
      if (const Json* value = entry.raw(key)) params[std::string(key)] = *value;
    }
    options.where = entry.path();
  } else if (const Json* given = entry.raw("params")) {
    params = *given;
  }
  workload.params = workloads::make_canned_workload(workload.kind, params, options).params;
  entry.finish();
  return workload;
}

/// Whether a workloads entry is a `taskset` (a generator, not a canned workload).
bool is_task_set(JsonReader& entry) {
  const Json* kind = entry.raw("kind");
  return kind != nullptr && *kind == "taskset";
}

sim::TraceCategory read_categories(JsonReader& outputs) {
  const Json* value = outputs.raw("categories");
  if (value == nullptr) return sim::TraceCategory::kAll;
  std::string text;
  if (value->is_string()) {
    text = value->get<std::string>();
  } else if (value->is_array()) {
    for (const Json& name : *value) {
      if (!name.is_string()) outputs.fail("categories", "expected category names, got " + name.dump());
      if (!text.empty()) text += ',';
      text += name.get_ref<const std::string&>();
    }
  } else {
    outputs.fail("categories", "expected \"all\", a comma-separated string or a list of names, got " + value->dump());
  }
  try {
    return sim::parse_trace_categories(text);
  } catch (const std::invalid_argument& error) {
    outputs.fail("categories", error.what());
  }
}

Json categories_json(sim::TraceCategory categories) {
  if (categories == sim::TraceCategory::kAll) return "all";
  Json names = Json::array();
  for (std::uint32_t bit = 1; bit < static_cast<std::uint32_t>(sim::TraceCategory::kAll); bit <<= 1) {
    const auto category = static_cast<sim::TraceCategory>(bit);
    if ((categories & category) != sim::TraceCategory::kNone) names.push_back(sim::trace_category_name(category));
  }
  return names;
}

OrderedJson tlb_json(const mmu::TlbConfig& tlb) {
  return {{"entries", tlb.entries}, {"ways", tlb.ways}, {"replacement", replacement_name(tlb.replacement)}};
}

}  // namespace

const nlohmann::json& default_scenario_document() {
  static const Json document = Json::parse(kDefaultScenario);
  return document;
}

Scenario parse_scenario(const nlohmann::json& document) {
  JsonReader root(document);
  const auto version = root.require<std::int64_t>("schema_version");
  if (version != kSchemaVersion) {
    root.fail("schema_version", fmt::format("this ossim reads schema version {}, got {}", kSchemaVersion, version));
  }
  Scenario scenario;
  scenario.description = root.get<std::string>("description", "");
  // "costs": "ideal" makes the machine's timing ideal too, unless the machine says otherwise.
  const Json* kernel_section = document.is_object() && document.contains("kernel") ? &document["kernel"] : nullptr;
  const bool ideal_costs = kernel_section != nullptr && kernel_section->is_object() &&
                           kernel_section->contains("costs") && (*kernel_section)["costs"] == "ideal";
  read_machine(root.object("machine"), scenario.machine, scenario.ideal_timing, ideal_costs);
  read_kernel(root.object("kernel"), scenario.kernel, scenario.machine);

  // The run section first: task-set generators draw from the run's seed.
  JsonReader run = root.object("run");
  scenario.run.seed = run.get<std::uint64_t>("seed", scenario.run.seed);
  if (run.has("end") && run.has("end_ms")) run.fail("end_ms", "give end or end_ms, not both");
  const std::string_view end_key = run.has("end") ? "end" : "end_ms";
  scenario.run.end = run.get_duration(end_key, scenario.run.end, sim::kMillisecond);
  if (scenario.run.end == 0) run.fail(end_key, "must be positive");
  run.finish();

  for (JsonReader entry : root.objects("workloads")) {
    if (is_task_set(entry)) {
      for (WorkloadEntry& task : read_task_set(entry, scenario.machine, scenario.run.seed)) {
        scenario.workloads.push_back(std::move(task));
      }
    } else {
      scenario.workloads.push_back(read_workload(entry, scenario.machine));
    }
  }
  if (scenario.run.end == sim::kTickNever) {
    // Without an end, the run lasts until every workload task has finished: a periodic
    // task must then have a number of jobs, an rtapp task a number of loops.
    for (std::size_t i = 0; i < scenario.workloads.size(); ++i) {
      const WorkloadEntry& entry = scenario.workloads[i];
      if (entry.count == 0) continue;
      if (entry.kind == "periodic" && entry.params.value("jobs", std::uint64_t{0}) == 0) {
        throw ScenarioError(fmt::format("workloads[{}].jobs: a periodic task releasing jobs until the run ends "
                                        "needs run.end_ms",
                                        i));
      }
      if (entry.kind == "rtapp" && entry.params.value("loop", std::uint64_t{1}) == 0) {
        throw ScenarioError(
            fmt::format("workloads[{}].loop: a task looping until the run ends needs run.end_ms", i));
      }
    }
  }

  JsonReader outputs = root.object("outputs");
  scenario.outputs.trace = outputs.get("trace", scenario.outputs.trace);
  scenario.outputs.categories = read_categories(outputs);
  outputs.finish();
  root.finish();
  return scenario;
}

Scenario load_scenario_text(std::string_view text, std::string source, const std::vector<std::string>& overrides) {
  Json document = Json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/false);
  if (document.is_discarded()) {
    // Parse again for the message (line and column), which only the exception carries.
    try {
      const Json again = Json::parse(text);
    } catch (const Json::parse_error& error) {
      throw ScenarioError(fmt::format("{}: not valid JSON: {}", source, error.what()));
    }
    throw ScenarioError(fmt::format("{}: not valid JSON", source));
  }
  apply_overrides(document, overrides);
  Scenario scenario = parse_scenario(document);
  scenario.source = std::move(source);
  scenario.overrides.assign(overrides.begin(), overrides.end());
  return scenario;
}

Scenario load_scenario_file(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError(fmt::format("{}: cannot open the file", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ScenarioError(fmt::format("{}: cannot read the file", path.string()));
  return load_scenario_text(text.str(), path.string(), overrides);
}

Scenario load_default_scenario(const std::vector<std::string>& overrides) {
  Json document = default_scenario_document();
  apply_overrides(document, overrides);
  Scenario scenario = parse_scenario(document);
  scenario.source = "builtin:default";
  scenario.overrides.assign(overrides.begin(), overrides.end());
  return scenario;
}

nlohmann::ordered_json to_json(const Scenario& scenario) {
  const MachineConfig& machine = scenario.machine;
  OrderedJson tlb = {{"itlb", tlb_json(machine.cpu.mmu.itlb)}, {"dtlb", tlb_json(machine.cpu.mmu.dtlb)}};
  tlb["stlb"] = machine.cpu.mmu.stlb ? tlb_json(*machine.cpu.mmu.stlb) : OrderedJson(false);

  const kernel::KernelConfig& kernel = scenario.kernel;
  OrderedJson costs = OrderedJson::object();
  for (const CostField& field : kCostFields) costs[std::string(field.name)] = format_duration(kernel.costs.*field.field);

  OrderedJson workloads = OrderedJson::array();
  for (const WorkloadEntry& entry : scenario.workloads) {
    OrderedJson item = {{"kind", entry.kind},
                        {"name", entry.name},
                        {"count", entry.count},
                        {"arrival_ms", OrderedJson(workloads::duration_json(entry.arrival, sim::kMillisecond))}};
    if (inline_params(entry.kind).empty()) {
      item["params"] = OrderedJson(entry.params);
    } else {
      for (std::string_view key : inline_params(entry.kind)) item[std::string(key)] = OrderedJson(entry.params.at(std::string(key)));
    }
    if (!entry.policy.empty()) item["policy"] = entry.policy;
    item["nice"] = entry.nice;
    item["tickets"] = entry.tickets;
    if (entry.priority != 0) item["priority"] = entry.priority;
    if (!entry.cpus.empty()) item["cpus"] = entry.cpus;
    workloads.push_back(std::move(item));
  }

  OrderedJson document;
  document["schema_version"] = kSchemaVersion;
  if (!scenario.description.empty()) document["description"] = scenario.description;
  document["machine"] = {{"cpus", machine.cpus},
                         {"memory", format_bytes(machine.memory_bytes)},
                         {"cpu_frequency_hz", machine.cpu.frequency_hz},
                         {"sync_quantum", format_duration(machine.cpu.sync_quantum)},
                         {"timing", scenario.ideal_timing ? "ideal" : "default"},
                         {"tlb", std::move(tlb)}};
  OrderedJson disks = OrderedJson::array();
  for (unsigned i = 0; i < machine.disks.size(); ++i) {
    // kernel.memory's swap and executables_on_disk describe those.
    if (kernel.memory.swap_disk == i || kernel.memory.executables_disk == i) continue;
    const dev::BlockDeviceConfig& disk = machine.disks[i];
    disks.push_back({{"name", disk.name},
                     {"kind", disk.kind == dev::DiskKind::kSsd ? "ssd" : "hdd"},
                     {"size", format_bytes(disk.sectors * dev::kSectorBytes)}});
  }
  document["machine"]["disks"] = std::move(disks);
  document["kernel"] = {{"hz", kernel.hz},
                        {"scheduler", scheduler_json(kernel.scheduler)},
                        {"memory", memory_json(kernel.memory, machine)},
                        {"pcid", kernel.pcid},
                        {"costs", std::move(costs)}};
  document["workloads"] = std::move(workloads);
  document["run"] = {{"seed", scenario.run.seed}};
  if (scenario.run.end != sim::kTickNever) document["run"]["end"] = format_duration(scenario.run.end);
  document["outputs"] = {{"trace", scenario.outputs.trace},
                         {"categories", OrderedJson(categories_json(scenario.outputs.categories))}};
  return document;
}

}  // namespace ossim::scenario
