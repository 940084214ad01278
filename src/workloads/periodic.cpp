// periodic: a periodic real-time task (Liu and Layland's model, rt-app's periodic phase).
// Job k is released at arrival + k x period and needs `wcet_ms` of CPU time by its
// relative deadline (`deadline_ms`, the period by default). The task sleeps until each
// release (clock_nanosleep, TIMER_ABSTIME), computes for exactly the WCET, then reports
// the job with sched_job_complete, which counts deadline misses and lateness. A job that
// completes after the next release delays that job (it starts at once, late); no release
// is skipped. With `jobs` 0 the task releases jobs until the run ends.

#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr ParamDoc kParams[] = {
    {"period_ms", "time between releases, milliseconds"},
    {"wcet_ms", "CPU time of each job, milliseconds"},
    {"deadline_ms", "relative deadline of each job, milliseconds; 0: the period (implicit deadline)"},
    {"jobs", "jobs to release; 0: until the run ends"},
};

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  const sim::Tick period = params.get_duration("period_ms", 10 * sim::kMillisecond, sim::kMillisecond);
  if (period == 0) params.fail("period_ms", "must be positive");
  const sim::Tick wcet = params.get_duration("wcet_ms", 1 * sim::kMillisecond, sim::kMillisecond);
  if (wcet == 0) params.fail("wcet_ms", "must be positive");
  if (wcet > period) params.fail("wcet_ms", "must not exceed period_ms");
  sim::Tick deadline = params.get_duration("deadline_ms", 0, sim::kMillisecond);
  if (deadline == 0) deadline = period;
  if (deadline < wcet) params.fail("deadline_ms", "must be at least wcet_ms");
  if (deadline > period) params.fail("deadline_ms", "must not exceed period_ms (constrained deadlines)");
  const auto jobs = params.get_in_range<std::uint64_t>("jobs", 0, std::uint64_t{1} << 40, 0);
  nlohmann::json effective = {{"period_ms", duration_json(period, sim::kMillisecond)},
                              {"wcet_ms", duration_json(wcet, sim::kMillisecond)},
                              {"deadline_ms", duration_json(deadline, sim::kMillisecond)},
                              {"jobs", jobs}};

  const std::string name = "periodic" + options.program_suffix;
  const sim::Tick first_release = options.arrival;
  kernel::Program program{
      .name = name, .main = [=, label = options.label](user::Process& self) {
        if (!label.empty()) self.set_name(label);
        for (std::uint64_t k = 0; jobs == 0 || k < jobs; ++k) {
          const sim::Tick release = first_release + k * period;
          if (self.now() < release && self.sleep_until(release) != 0) return 1;
          self.compute_for(wcet);
          self.job_complete(release, release + deadline);
        }
        return 0;
      }};
  return {{std::move(program)}, "/bin/" + name, {name}, std::move(effective)};
}

}  // namespace

const CannedWorkload& periodic_workload() {
  static const CannedWorkload workload{
      "periodic", "a periodic real-time task: wcet_ms of CPU every period_ms, by deadline_ms", kParams, make};
  return workload;
}

}  // namespace ossim::workloads
