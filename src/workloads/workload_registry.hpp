#pragma once

// The registry of canned workloads. A canned workload is one file in src/workloads/ that
// defines `const CannedWorkload& <name>_workload()`, plus one line in the list in
// workload_registry.cpp. Its factory reads the parameters strictly with a JsonReader and
// returns the programs to register, the path and argv to exec, and the parameters with
// their defaults filled in (for the effective configuration).

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ossim/sim/tick.hpp"
#include "ossim/workloads/canned_workload.hpp"
#include "scenario/json_reader.hpp"

namespace ossim::workloads {

/// A parameter's documentation; its default comes from the factory run on no parameters.
struct ParamDoc {
  std::string_view name;
  std::string_view description;
};

/// Reads `params` and builds the image; the caller then rejects the keys it did not read.
using WorkloadFactory = WorkloadImage (*)(scenario::JsonReader& params, const WorkloadOptions& options);

struct CannedWorkload {
  std::string_view name;
  std::string_view summary;
  std::span<const ParamDoc> params;
  WorkloadFactory make;
};

/// Every registered workload, in catalogue order.
std::span<const CannedWorkload* const> registered_workloads();
/// The workload called `name`, or nullptr.
const CannedWorkload* find_canned_workload(std::string_view name);

// ---- Helpers for workload files ------------------------------------------------------

/// The image of a workload that is one program, `kind` with the options' suffix, exec'd
/// with no arguments but its seed: what most canned workloads are.
WorkloadImage single_program(std::string_view kind, const WorkloadOptions& options, user::Entry main,
                             nlohmann::json effective);
/// mmap of `bytes` of fresh anonymous private read-write memory: its address, or nullopt
/// if the call failed.
std::optional<user::VirtAddr> map_anonymous(user::Process& self, std::uint64_t bytes);
/// Cycles of `duration` at `frequency_hz`, rounded down.
std::uint64_t cycles_for(sim::Tick duration, std::uint64_t frequency_hz);
/// A duration for the effective parameters: a whole number of `unit` as a JSON integer
/// (as keys named *_us or *_ms take it), otherwise a string with a unit.
nlohmann::json duration_json(sim::Tick duration, sim::Tick unit);

}  // namespace ossim::workloads
