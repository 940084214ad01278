// interactive: an I/O-bound process, the editor or shell of scheduling experiments. It
// alternates short bursts of computation with sleeps, so it is mostly asleep and wants
// the CPU quickly when it wakes (its response time is what a scheduler is judged on).

#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr ParamDoc kParams[] = {
    {"bursts", "number of compute bursts"},
    {"burst_us", "CPU time of each burst (microseconds, or a duration string)"},
    {"sleep_us", "sleep after each burst (microseconds, or a duration string)"},
};

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  const auto bursts = params.get_in_range<std::uint32_t>("bursts", 1, 10'000'000, 20);
  const sim::Tick burst = params.get_duration("burst_us", 500 * sim::kMicrosecond, sim::kMicrosecond);
  const sim::Tick sleep = params.get_duration("sleep_us", 10 * sim::kMillisecond, sim::kMicrosecond);
  const std::uint64_t burst_cycles = cycles_for(burst, options.cpu_frequency_hz);
  nlohmann::json effective = {{"bursts", bursts},
                              {"burst_us", duration_json(burst, sim::kMicrosecond)},
                              {"sleep_us", duration_json(sleep, sim::kMicrosecond)}};

  const std::string name = "interactive" + options.program_suffix;
  kernel::Program program{.name = name, .main = [bursts, burst_cycles, sleep](user::Process& self) {
                            for (std::uint32_t i = 0; i < bursts; ++i) {
                              self.compute(burst_cycles);
                              if (const int slept = self.nanosleep(sleep); slept != 0) return 1;
                            }
                            return 0;
                          }};
  return {{std::move(program)}, "/bin/" + name, {name}, std::move(effective)};
}

}  // namespace

const CannedWorkload& interactive_workload() {
  static const CannedWorkload workload{"interactive", "short bursts of computation, each followed by a sleep",
                                       kParams, make};
  return workload;
}

}  // namespace ossim::workloads
