// rtapp: a task described by phases, in the spirit of rt-app (the Linux scheduler
// developers' workload generator). Its `phases` run in order, `loop` times (0: until the
// run ends); each phase does one thing:
//
//     {"run_ms": 2}          compute for 2 ms of CPU time (exact, compute_for)
//     {"run_cycles": 5000}   execute 5000 cycles (at the CPU's frequency)
//     {"sleep_ms": 3}        sleep 3 ms (nanosleep)
//     {"io_ms": 3}           block 3 ms on an I/O (modelled as the job kind's I/O: a sleep)
//     {"timer_ms": 10}       wait for this phase's periodic timer, which fires every 10 ms
//                            from the task's start; if the task is late it goes on at once
//                            and keeps the cadence (rt-app's absolute timer)
//     {"lock": "m"}          lock the named mutex m
//     {"unlock": "m"}        unlock it
//     {"yield": true}        sched_yield
//     {"loop": 3, "phases": [...]}   the inner phases 3 times
//
// A timer phase also ends a job, as in rt-app's periodic threads: the work since the
// timer's previous firing (or the task's start) is the job released then and due at the
// next firing; it is reported with sched_job_complete, so metrics count the task's
// deadline misses and lateness.
//
// Named mutexes are shared by every rtapp task in the run, across processes, as POSIX
// process-shared mutexes: mutex m is a user::Mutex on the first word of the file
// /tmp/rtapp-mutex.m, which each task maps MAP_SHARED (so the futex is keyed by the file,
// not by the address space). Locks and unlocks must pair up within each phase list; a
// task that ends holding nothing can never leave another blocked.

#include <algorithm>
#include <optional>
#include <variant>

#include <fmt/format.h>

#include "ossim/user/mutex.hpp"
#include "workloads/workload_registry.hpp"

namespace ossim::workloads {

namespace {

constexpr ParamDoc kParams[] = {
    {"phases", "the task's phases, in order: run_ms, run_cycles, sleep_ms, io_ms, timer_ms, lock, unlock, yield, "
               "or loop with phases"},
    {"loop", "how many times the phases run; 0: until the run ends"},
};

struct Compute {
  sim::Tick duration = 0;
};
struct ComputeCycles {
  std::uint64_t cycles = 0;
};
struct Sleep {
  sim::Tick duration = 0;
};
struct Timer {
  sim::Tick period = 0;
  std::size_t index = 0;  // which of the task's timers: each keeps its own cadence
};
struct Lock {
  std::size_t mutex = 0;  // index into the task's mutex names
};
struct Unlock {
  std::size_t mutex = 0;
};
struct Yield {};
struct Loop;
using Phase = std::variant<Compute, ComputeCycles, Sleep, Timer, Lock, Unlock, Yield, Loop>;
struct Loop {
  std::uint64_t count = 1;  // 0: forever
  std::vector<Phase> body;
};

/// What parsing collects besides the phases: the mutexes by name, the timers.
struct TaskShape {
  std::vector<std::string> mutexes;
  std::size_t timers = 0;

  std::size_t mutex_index(const std::string& name) {
    for (std::size_t i = 0; i < mutexes.size(); ++i) {
      if (mutexes[i] == name) return i;
    }
    mutexes.push_back(name);
    return mutexes.size() - 1;
  }
};

constexpr std::string_view kActions[] = {"run_ms", "run_cycles", "sleep_ms", "io_ms", "timer_ms",
                                         "lock",   "unlock",     "yield",    "loop"};

bool valid_mutex_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

/// Reads a phase list; `effective` receives it with every duration normalised. Locks and
/// unlocks must nest properly within the list (`held`: the mutexes the list holds).
std::vector<Phase> read_phases(scenario::JsonReader& owner, TaskShape& shape, nlohmann::json& effective) {
  std::vector<Phase> phases;
  std::vector<std::size_t> held;
  effective = nlohmann::json::array();
  std::vector<scenario::JsonReader> items = owner.objects("phases");
  if (items.empty()) owner.fail("phases", "expected a non-empty list of phases");
  for (scenario::JsonReader& item : items) {
    std::string_view action;
    for (std::string_view key : kActions) {
      if (!item.has(key)) continue;
      if (!action.empty()) item.fail(key, fmt::format("a phase does one thing; this one also has {}", action));
      action = key;
    }
    if (action.empty()) item.fail(kActions[0], "a phase needs one of run_ms, run_cycles, sleep_ms, io_ms, timer_ms, "
                                               "lock, unlock, yield, loop");
    nlohmann::json out;
    const std::string key(action);
    if (action == "run_ms" || action == "sleep_ms" || action == "io_ms" || action == "timer_ms") {
      const sim::Tick duration = item.get_duration(action, 0, sim::kMillisecond);
      if (duration == 0) item.fail(action, "must be positive");
      out[key] = duration_json(duration, sim::kMillisecond);
      if (action == "run_ms") phases.emplace_back(Compute{duration});
      if (action == "sleep_ms" || action == "io_ms") phases.emplace_back(Sleep{duration});
      if (action == "timer_ms") phases.emplace_back(Timer{duration, shape.timers++});
    } else if (action == "run_cycles") {
      const auto cycles = item.get_in_range<std::uint64_t>(action, 1, std::uint64_t{1} << 50, 1);
      out[key] = cycles;
      phases.emplace_back(ComputeCycles{cycles});
    } else if (action == "lock" || action == "unlock") {
      const auto name = item.get<std::string>(action, "");
      if (!valid_mutex_name(name)) item.fail(action, "expected a mutex name of 1-64 letters, digits, '_', '-', '.'");
      const std::size_t mutex = shape.mutex_index(name);
      out[key] = name;
      if (action == "lock") {
        if (std::find(held.begin(), held.end(), mutex) != held.end()) {
          item.fail(action, fmt::format("\"{}\" is already locked here (mutexes are not recursive)", name));
        }
        held.push_back(mutex);
        phases.emplace_back(Lock{mutex});
      } else {
        if (held.empty() || held.back() != mutex) {
          item.fail(action, fmt::format("\"{}\" is not the mutex this phase list locked last", name));
        }
        held.pop_back();
        phases.emplace_back(Unlock{mutex});
      }
    } else if (action == "yield") {
      if (!item.get<bool>(action, true)) item.fail(action, "expected true");
      out[key] = true;
      phases.emplace_back(Yield{});
    } else {
      Loop loop;
      loop.count = item.get_in_range<std::uint64_t>(action, 1, std::uint64_t{1} << 40, 1);
      nlohmann::json body;
      loop.body = read_phases(item, shape, body);
      out[key] = loop.count;
      out["phases"] = std::move(body);
      phases.emplace_back(std::move(loop));
    }
    item.finish();
    effective.push_back(std::move(out));
  }
  if (!held.empty()) {
    owner.fail("phases", fmt::format("\"{}\" is locked and never unlocked in this list", shape.mutexes[held.back()]));
  }
  return phases;
}

/// A running task's state: its mutexes (mapped), its timers' next firings.
class Interpreter {
 public:
  Interpreter(user::Process& self, std::vector<user::Mutex> mutexes, std::size_t timers)
      : self_(self), mutexes_(std::move(mutexes)), start_(self.now()), next_firing_(timers, sim::kTickNever) {}

  /// Runs `phases` once; false if a system call failed.
  bool run(const std::vector<Phase>& phases) {
    for (const Phase& phase : phases) {
      if (!std::visit([this](const auto& step) { return do_phase(step); }, phase)) return false;
    }
    return true;
  }

 private:
  bool do_phase(const Compute& step) {
    self_.compute_for(step.duration);
    return true;
  }
  bool do_phase(const ComputeCycles& step) {
    self_.compute(step.cycles);
    return true;
  }
  bool do_phase(const Sleep& step) { return self_.nanosleep(step.duration) == 0; }
  bool do_phase(const Timer& step) {
    sim::Tick& next = next_firing_[step.index];
    if (next == sim::kTickNever) next = start_ + step.period;
    self_.job_complete(next - step.period, next);
    if (self_.now() < next && self_.sleep_until(next) != 0) return false;
    next += step.period;
    return true;
  }
  bool do_phase(const Lock& step) {
    mutexes_[step.mutex].lock(self_);
    return true;
  }
  bool do_phase(const Unlock& step) {
    mutexes_[step.mutex].unlock(self_);
    return true;
  }
  bool do_phase(const Yield&) { return self_.sched_yield() == 0; }
  bool do_phase(const Loop& loop) {
    for (std::uint64_t i = 0; loop.count == 0 || i < loop.count; ++i) {
      if (!run(loop.body)) return false;
    }
    return true;
  }

  user::Process& self_;
  std::vector<user::Mutex> mutexes_;
  sim::Tick start_;
  std::vector<sim::Tick> next_firing_;
};

/// Maps the shared word of each named mutex; nullopt if a system call fails.
std::optional<std::vector<user::Mutex>> map_mutexes(user::Process& self, const std::vector<std::string>& names) {
  constexpr std::uint64_t kPage = 4096;
  std::vector<user::Mutex> mutexes;
  for (const std::string& name : names) {
    const int fd = self.open("/tmp/rtapp-mutex." + name, sys::kOpenCreate | sys::kOpenReadWrite, 0600);
    if (fd < 0) return std::nullopt;
    // Every user grows the file to a page; only the first sees it grow, the word stays 0.
    if (self.ftruncate(fd, kPage) != 0) return std::nullopt;
    const std::int64_t address = self.mmap(0, kPage, sys::kProtRead | sys::kProtWrite, sys::kMapShared, fd, 0);
    self.close(fd);
    if (address < 0) return std::nullopt;
    mutexes.emplace_back(static_cast<mmu::VirtAddr>(address), /*process_shared=*/true);
  }
  return mutexes;
}

WorkloadImage make(scenario::JsonReader& params, const WorkloadOptions& options) {
  TaskShape shape;
  nlohmann::json phases_json;
  Loop task;
  task.count = params.get_in_range<std::uint64_t>("loop", 0, std::uint64_t{1} << 40, 1);
  if (params.has("phases")) {
    task.body = read_phases(params, shape, phases_json);
  } else {
    // The default: a task that computes 1 ms and sleeps 1 ms.
    task.body = {Compute{sim::kMillisecond}, Sleep{sim::kMillisecond}};
    phases_json = nlohmann::json::array({{{"run_ms", 1}}, {{"sleep_ms", 1}}});
  }
  nlohmann::json effective = {{"phases", std::move(phases_json)}, {"loop", task.count}};

  const std::string name = "rtapp" + options.program_suffix;
  kernel::Program program{
      .name = name, .main = [task = std::move(task), shape, label = options.label](user::Process& self) {
        if (!label.empty()) self.set_name(label);
        std::optional<std::vector<user::Mutex>> mutexes = map_mutexes(self, shape.mutexes);
        if (!mutexes) return 1;
        Interpreter interpreter(self, std::move(*mutexes), shape.timers);
        return interpreter.run({task}) ? 0 : 1;
      }};
  return {{std::move(program)}, "/bin/" + name, {name}, std::move(effective)};
}

}  // namespace

const CannedWorkload& rtapp_workload() {
  static const CannedWorkload workload{"rtapp", "a task described by phases (run, sleep, timer, lock/unlock, I/O, "
                                                "yield, loops), in the spirit of rt-app",
                                       kParams, make};
  return workload;
}

}  // namespace ossim::workloads
