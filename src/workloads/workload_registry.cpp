#include "workloads/workload_registry.hpp"

#include <array>
#include <charconv>

#include <fmt/format.h>

namespace ossim::workloads {

// The catalogue: one line per canned workload, each defined in src/workloads/<name>.cpp.
// clang-format off
#define OSSIM_CANNED_WORKLOADS(X) \
  X(cpu_hog)                      \
  X(interactive)                  \
  X(fork_tree)                    \
  X(shell_pipeline)               \
  X(memory_toucher)               \
  X(tlb_reach)                    \
  X(sleep_loop)                   \
  X(job)                          \
  X(periodic)                     \
  X(rtapp)                        \
  X(page_refs)                    \
  X(thrash)                       \
  X(mmap_reader)
// clang-format on

#define OSSIM_DECLARE_WORKLOAD(name) const CannedWorkload& name##_workload();
OSSIM_CANNED_WORKLOADS(OSSIM_DECLARE_WORKLOAD)
#undef OSSIM_DECLARE_WORKLOAD

std::span<const CannedWorkload* const> registered_workloads() {
#define OSSIM_WORKLOAD_ENTRY(name) &name##_workload(),
  static const CannedWorkload* const kAll[] = {OSSIM_CANNED_WORKLOADS(OSSIM_WORKLOAD_ENTRY)};
#undef OSSIM_WORKLOAD_ENTRY
  return kAll;
}

const CannedWorkload* find_canned_workload(std::string_view name) {
  for (const CannedWorkload* workload : registered_workloads()) {
    if (workload->name == name) return workload;
  }
  return nullptr;
}

std::uint64_t cycles_for(sim::Tick duration, std::uint64_t frequency_hz) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(duration) * frequency_hz / sim::kSecond);
}

nlohmann::json duration_json(sim::Tick duration, sim::Tick unit) {
  if (duration % unit == 0) return duration / unit;
  return scenario::format_duration(duration);
}

// ---- The public face (ossim/workloads/canned_workload.hpp) ----------------------------

std::vector<WorkloadInfo> canned_workloads() {
  std::vector<WorkloadInfo> result;
  for (const CannedWorkload* workload : registered_workloads()) {
    const nlohmann::json none = nlohmann::json::object();
    scenario::JsonReader reader(none, "params");
    const nlohmann::json defaults = workload->make(reader, {}).params;
    WorkloadInfo info{std::string(workload->name), std::string(workload->summary), {}};
    for (const ParamDoc& param : workload->params) {
      const auto it = defaults.find(param.name);
      info.params.push_back({std::string(param.name), std::string(param.description),
                             it == defaults.end() ? nlohmann::json() : *it});
    }
    result.push_back(std::move(info));
  }
  return result;
}

WorkloadImage make_canned_workload(std::string_view name, const nlohmann::json& params,
                                   const WorkloadOptions& options) {
  const CannedWorkload* workload = find_canned_workload(name);
  if (workload == nullptr) {
    std::string known;
    for (const CannedWorkload* candidate : registered_workloads()) {
      known += fmt::format("{}{}", known.empty() ? "" : ", ", candidate->name);
    }
    throw scenario::ScenarioError(fmt::format("unknown workload \"{}\" (known: {})", name, known));
  }
  scenario::JsonReader reader(params, options.where);
  WorkloadImage image = workload->make(reader, options);
  reader.finish();
  return image;
}

std::vector<std::string> WorkloadImage::instance_argv(std::uint64_t seed) const {
  std::vector<std::string> result = argv;
  result.push_back(fmt::format("--seed={}", seed));
  return result;
}

std::optional<user::VirtAddr> map_anonymous(user::Process& self, std::uint64_t bytes) {
  const std::int64_t mapped =
      self.mmap(0, bytes, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous);
  if (mapped < 0) return std::nullopt;
  return static_cast<user::VirtAddr>(mapped);
}

WorkloadImage single_program(std::string_view kind, const WorkloadOptions& options, user::Entry main,
                             nlohmann::json effective) {
  const std::string name = std::string(kind) + options.program_suffix;
  kernel::Program program{.name = name, .main = std::move(main)};
  return {{std::move(program)}, "/bin/" + name, {name}, std::move(effective)};
}

std::uint64_t instance_seed(const std::vector<std::string>& argv) {
  constexpr std::string_view kPrefix = "--seed=";
  for (const std::string& arg : argv) {
    if (!arg.starts_with(kPrefix)) continue;
    std::uint64_t seed = 0;
    const char* first = arg.data() + kPrefix.size();
    const char* last = arg.data() + arg.size();
    if (const auto [end, error] = std::from_chars(first, last, seed); error == std::errc() && end == last) return seed;
  }
  return 0;
}

}  // namespace ossim::workloads
