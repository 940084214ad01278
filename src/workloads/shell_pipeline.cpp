// shell_pipeline: what a shell does for `producer | consumer`. It creates a pipe, forks
// twice, and in each child dup2()s one end of the pipe onto standard output (producer)
// or standard input (consumer), closes both pipe fds and execs the program; then it
// closes its own copies of the pipe (so that the consumer sees end-of-file once the
// producer exits) and waits for both children.
//
// The producer writes `lines` lines ("line 1\n", "line 2\n"...); the consumer reads its
// standard input to end-of-file and writes one summary line to its standard output, the
// console: "consumer: <lines> lines, <bytes> bytes\n".

#include <array>
#include <string>

#include <fmt/format.h>

#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr ParamDoc kParams[] = {
    {"lines", "lines the producer writes into the pipe"},
    {"line_cycles", "cycles the producer computes per line written and the consumer per line read"},
    {"read_bytes", "bytes the consumer asks for per read()"},
};

/// Forks a child that puts `pipe_end` on `target_fd`, closes both pipe fds and execs
/// `path`. Returns the child's pid or -errno.
sys::pid_t spawn_with(user::Process& self, const int (&fds)[2], int pipe_end, int target_fd, const std::string& path) {
  const int read_end = fds[0];
  const int write_end = fds[1];
  return self.fork([=](user::Process& child) {
    if (child.dup2(pipe_end, target_fd) < 0) return 126;
    child.close(read_end);
    child.close(write_end);
    return child.execve(path, {path.substr(path.rfind('/') + 1)}) < 0 ? 127 : 0;
  });
}

int shell(user::Process& self, const std::string& producer, const std::string& consumer) {
  int fds[2] = {-1, -1};
  if (self.pipe(fds) < 0) return 1;
  const sys::pid_t writer = spawn_with(self, fds, fds[1], 1, producer);
  const sys::pid_t reader = spawn_with(self, fds, fds[0], 0, consumer);
  self.close(fds[0]);
  self.close(fds[1]);
  int result = writer < 0 || reader < 0 ? 1 : 0;
  for (const sys::pid_t pid : {writer, reader}) {
    int status = 0;
    if (pid < 0) continue;
    if (self.waitpid(pid, &status) != pid || !sys::exited_normally(status) || sys::exit_code(status) != 0) result = 1;
  }
  return result;
}

int produce(user::Process& self, std::uint64_t lines, std::uint64_t line_cycles) {
  for (std::uint64_t i = 1; i <= lines; ++i) {
    self.compute(line_cycles);
    const std::string line = fmt::format("line {}\n", i);
    if (self.write(1, line) != static_cast<std::int64_t>(line.size())) return 1;
  }
  return 0;
}

int consume(user::Process& self, std::uint64_t line_cycles, std::size_t read_bytes) {
  std::array<char, 4096> buffer;
  std::uint64_t lines = 0, bytes = 0;
  while (true) {
    const std::int64_t got = self.read(0, std::span<char>(buffer.data(), read_bytes));
    if (got < 0) return 1;
    if (got == 0) break;
    bytes += static_cast<std::uint64_t>(got);
    for (std::int64_t i = 0; i < got; ++i) {
      if (buffer[static_cast<std::size_t>(i)] != '\n') continue;
      ++lines;
      self.compute(line_cycles);
    }
  }
  const std::string summary = fmt::format("consumer: {} lines, {} bytes\n", lines, bytes);
  return self.write(1, summary) == static_cast<std::int64_t>(summary.size()) ? 0 : 1;
}

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  const auto lines = params.get_in_range<std::uint64_t>("lines", 0, 100'000'000, 200);
  const auto line_cycles = params.get_in_range<std::uint64_t>("line_cycles", 0, std::uint64_t{1} << 40, 20'000);
  const auto read_bytes = params.get_in_range<std::size_t>("read_bytes", 1, 4096, 512);
  nlohmann::json effective = {{"lines", lines}, {"line_cycles", line_cycles}, {"read_bytes", read_bytes}};

  const std::string shell_name = "shell_pipeline" + options.program_suffix;
  const std::string producer = "producer" + options.program_suffix;
  const std::string consumer = "consumer" + options.program_suffix;
  std::vector<kernel::Program> programs;
  programs.push_back({.name = shell_name, .main = [producer, consumer](user::Process& self) {
                        return shell(self, "/bin/" + producer, "/bin/" + consumer);
                      }});
  programs.push_back(
      {.name = producer, .main = [lines, line_cycles](user::Process& self) { return produce(self, lines, line_cycles); }});
  programs.push_back({.name = consumer, .main = [line_cycles, read_bytes](user::Process& self) {
                        return consume(self, line_cycles, read_bytes);
                      }});
  return {std::move(programs), "/bin/" + shell_name, {shell_name}, std::move(effective)};
}

}  // namespace

const CannedWorkload& shell_pipeline_workload() {
  static const CannedWorkload workload{
      "shell_pipeline", "a shell running `producer | consumer` through pipe, fork, dup2 and exec", kParams, make};
  return workload;
}

}  // namespace ossim::workloads
