// sleep_loop: a process that sleeps for random times, the timer workload. Each iteration
// computes a little and then sleeps a uniformly random time from 0 to max_sleep_us. The
// random numbers come from the instance seed the runner passes in argv, so a run is
// fixed by (scenario seed, workload entry, instance) and changes with the seed.

#include "ossim/sim/random.hpp"
#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr ParamDoc kParams[] = {
    {"iterations", "sleeps to take"},
    {"max_sleep_us", "longest sleep: each is uniform from 0 to this, in whole nanoseconds (microseconds, or a "
                     "duration string)"},
    {"work_cycles", "cycles computed before each sleep"},
};

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  const auto iterations = params.get_in_range<std::uint32_t>("iterations", 0, 10'000'000, 50);
  const sim::Tick max_sleep = params.get_duration("max_sleep_us", 20 * sim::kMillisecond, sim::kMicrosecond);
  const auto work = params.get_in_range<std::uint64_t>("work_cycles", 0, std::uint64_t{1} << 40, 10'000);
  nlohmann::json effective = {
      {"iterations", iterations}, {"max_sleep_us", duration_json(max_sleep, sim::kMicrosecond)}, {"work_cycles", work}};

  const std::string name = "sleep_loop" + options.program_suffix;
  const std::uint64_t max_sleep_ns = max_sleep / sim::kNanosecond;
  kernel::Program program{.name = name, .main = [iterations, max_sleep_ns, work](user::Process& self) {
                            sim::RandomStream random(instance_seed(self.argv()));
                            for (std::uint32_t i = 0; i < iterations; ++i) {
                              self.compute(work);
                              const sim::Tick sleep = random.uniform_between(0, max_sleep_ns) * sim::kNanosecond;
                              if (self.nanosleep(sleep) != 0) return 1;
                            }
                            return 0;
                          }};
  return {{std::move(program)}, "/bin/" + name, {name}, std::move(effective)};
}

}  // namespace

const CannedWorkload& sleep_loop_workload() {
  static const CannedWorkload workload{
      "sleep_loop", "computes a little, then sleeps a uniformly random time, in a loop", kParams, make};
  return workload;
}

}  // namespace ossim::workloads
