#pragma once

/// @file
/// The one exception a scenario load throws: the file (or an override) is broken. The
/// message names the key path and the problem, e.g.
/// `machine.cpus: expected an integer from 1 to 256, got "two"`.

#include <stdexcept>

namespace ossim::scenario {

/// A scenario that cannot be loaded. The message names the key path and the problem.
class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ossim::scenario
