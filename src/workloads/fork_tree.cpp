// fork_tree: process creation at scale. The root computes a little, forks `fanout`
// children and waits for them; each child does the same one level down, until `depth`
// levels below the root: fanout^depth leaves, (fanout^(depth+1) - 1) / (fanout - 1)
// processes in all. Exercises fork's copy-on-write address-space copies, exit, and wait.

#include <fmt/format.h>

#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr std::uint64_t kMaxProcesses = 4096;

constexpr ParamDoc kParams[] = {
    {"depth", "levels of children below the root"},
    {"fanout", "children each non-leaf process forks"},
    {"work_cycles", "cycles each process computes before forking"},
};

/// One process of the tree: computes, forks its children, reaps them. Returns 0 when
/// every fork succeeded and every descendant exited with 0.
int node(user::Process& self, unsigned depth, unsigned fanout, std::uint64_t work_cycles) {
  self.compute(work_cycles);
  if (depth == 0) return 0;
  int result = 0;
  unsigned children = 0;
  for (unsigned i = 0; i < fanout; ++i) {
    const sys::pid_t pid = self.fork([=](user::Process& child) { return node(child, depth - 1, fanout, work_cycles); });
    if (pid < 0) {
      result = 1;
    } else {
      ++children;
    }
  }
  for (unsigned i = 0; i < children; ++i) {
    int status = 0;
    if (self.wait(&status) < 0 || !sys::exited_normally(status) || sys::exit_code(status) != 0) result = 1;
  }
  return result;
}

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  const auto depth = params.get_in_range<unsigned>("depth", 0, 12, 3);
  const auto fanout = params.get_in_range<unsigned>("fanout", 1, 64, 2);
  const auto work = params.get_in_range<std::uint64_t>("work_cycles", 0, std::uint64_t{1} << 40, 100'000);
  std::uint64_t processes = 1, level = 1;
  for (unsigned d = 0; d < depth && processes <= kMaxProcesses; ++d) processes += level *= fanout;
  if (processes > kMaxProcesses) {
    params.fail("depth", fmt::format("a tree of depth {} and fanout {} has more than {} processes", depth, fanout,
                                     kMaxProcesses));
  }
  nlohmann::json effective = {{"depth", depth}, {"fanout", fanout}, {"work_cycles", work}};

  const std::string name = "fork_tree" + options.program_suffix;
  kernel::Program program{.name = name,
                          .main = [depth, fanout, work](user::Process& self) { return node(self, depth, fanout, work); }};
  return {{std::move(program)}, "/bin/" + name, {name}, std::move(effective)};
}

}  // namespace

const CannedWorkload& fork_tree_workload() {
  static const CannedWorkload workload{"fork_tree", "a tree of processes: each forks `fanout` children and waits",
                                       kParams, make};
  return workload;
}

}  // namespace ossim::workloads
