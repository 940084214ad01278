#pragma once

// Command-line overrides of a scenario document: `--set key.path=value` edits the JSON
// before it is validated, so an override is checked exactly like the file it changes.
//
//     --set machine.cpus=4                  a number
//     --set run.end=10ms                    not JSON, so the string "10ms"
//     --set 'kernel.scheduler="rr"'         a JSON string
//     --set workloads.0.count=8             element 0 of an array (also workloads[0].count)
//     --set 'outputs={"trace":true}'        a whole object

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ossim::scenario {

// Applies one "key.path=value" to `document`. The path's segments are separated by '.';
// an array element is `name.3` or `name[3]`. The value is parsed as JSON if it parses
// (numbers, true/false/null, quoted strings, arrays, objects) and taken as a string
// otherwise. Missing objects on the way are created (`name[0]` on a missing key creates
// an array); an index equal to an array's size appends. Throws ScenarioError naming the
// path when it passes through something that is not an object or array, or when an
// index is past the end.
void apply_override(nlohmann::json& document, std::string_view assignment);

// Applies each assignment in order.
void apply_overrides(nlohmann::json& document, std::span<const std::string> assignments);

}  // namespace ossim::scenario
