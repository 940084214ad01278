// cpu_hog: a CPU-bound process, the long job of scheduling experiments. It computes a
// fixed amount of work in chunks (so that a trace shows its progress) and exits; it never
// blocks, so it leaves the CPU only when preempted.

#include <algorithm>

#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr sim::Tick kDefaultDuration = 200 * sim::kMillisecond;

constexpr ParamDoc kParams[] = {
    {"duration", "CPU time to compute, converted to cycles at the machine's frequency"},
    {"cycles", "cycles to compute, instead of duration"},
    {"chunk_cycles", "cycles per compute() call"},
};

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  nlohmann::json effective = nlohmann::json::object();
  std::uint64_t cycles = 0;
  if (params.has("cycles")) {
    if (params.has("duration")) params.fail("duration", "give cycles or duration, not both");
    cycles = params.require_in_range<std::uint64_t>("cycles", 1, std::uint64_t{1} << 50);
    effective["cycles"] = cycles;
  } else {
    const sim::Tick duration = params.get_duration("duration", kDefaultDuration);
    if (duration == 0) params.fail("duration", "must be positive");
    cycles = std::max<std::uint64_t>(1, cycles_for(duration, options.cpu_frequency_hz));
    effective["duration"] = scenario::format_duration(duration);
  }
  const auto chunk = params.get_in_range<std::uint64_t>("chunk_cycles", 1, std::uint64_t{1} << 50, 1'000'000);
  effective["chunk_cycles"] = chunk;

  const std::string name = "cpu_hog" + options.program_suffix;
  kernel::Program program{.name = name, .main = [cycles, chunk](user::Process& self) {
                            for (std::uint64_t done = 0; done < cycles; done += chunk) {
                              self.compute(std::min(chunk, cycles - done));
                            }
                            return 0;
                          }};
  return {{std::move(program)}, "/bin/" + name, {name}, std::move(effective)};
}

}  // namespace

const CannedWorkload& cpu_hog_workload() {
  static const CannedWorkload workload{"cpu_hog", "computes a fixed amount of work in chunks, then exits", kParams,
                                       make};
  return workload;
}

}  // namespace ossim::workloads
