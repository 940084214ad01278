// job: the textbook job of scheduling chapters (OSTEP 7-9): it arrives, needs `cpu_ms` of
// CPU time in total, and, if `io_every_ms` is set, blocks on an I/O of `io_ms` after
// every `io_every_ms` of CPU (but not after its last burst). Its CPU time is exact
// (compute_for), so with ideal costs its turnaround is the textbook's. The runner declares
// `cpu_ms` as the job's expected length (sched_attr's ossim field), which SJF and STCF
// order by.

#include <algorithm>

#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr ParamDoc kParams[] = {
    {"cpu_ms", "CPU time the job needs in total, milliseconds (or a duration string)"},
    {"io_every_ms", "CPU time between I/Os, milliseconds; 0: the job does no I/O"},
    {"io_ms", "how long each I/O blocks the job, milliseconds"},
};

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  const sim::Tick cpu = params.get_duration("cpu_ms", 10 * sim::kMillisecond, sim::kMillisecond);
  if (cpu == 0) params.fail("cpu_ms", "must be positive");
  const sim::Tick io_every = params.get_duration("io_every_ms", 0, sim::kMillisecond);
  const sim::Tick io = params.get_duration("io_ms", 0, sim::kMillisecond);
  if (io_every != 0 && io == 0) params.fail("io_ms", "must be positive when io_every_ms is set");
  if (io_every == 0 && io != 0) params.fail("io_every_ms", "must be set (positive) when io_ms is");
  nlohmann::json effective = {{"cpu_ms", duration_json(cpu, sim::kMillisecond)},
                              {"io_every_ms", duration_json(io_every, sim::kMillisecond)},
                              {"io_ms", duration_json(io, sim::kMillisecond)}};

  const std::string name = "job" + options.program_suffix;
  kernel::Program program{.name = name, .main = [cpu, io_every, io, label = options.label](user::Process& self) {
                            if (!label.empty()) self.set_name(label);
                            for (sim::Tick left = cpu; left > 0;) {
                              const sim::Tick burst = io_every == 0 ? left : std::min(io_every, left);
                              self.compute_for(burst);
                              left -= burst;
                              if (left > 0 && io_every != 0 && self.nanosleep(io) != 0) return 1;
                            }
                            return 0;
                          }};
  return {{std::move(program)}, "/bin/" + name, {name}, std::move(effective)};
}

}  // namespace

const CannedWorkload& job_workload() {
  static const CannedWorkload workload{
      "job", "the textbook job: a CPU length, optionally an I/O of io_ms after every io_every_ms of CPU", kParams,
      make};
  return workload;
}

}  // namespace ossim::workloads
