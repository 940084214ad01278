#pragma once

/// @file
/// Writes a Trace as JSON Lines (`events.jsonl`): one JSON object per line, for pandas
/// (`pd.read_json(path, lines=True)`) and other scripts. Times are integer picoseconds.
///
/// First one line per track, in track-id order:
///
///     {"t_ps":0,"type":"track","track":0,"kind":"cpu","name":"CPU 0","cpu":0}
///     {"t_ps":0,"type":"track","track":1,"kind":"task","name":"init","pid":1,"tid":1}
///     {"t_ps":0,"type":"track","track":2,"kind":"counter","name":"free frames"}
///
/// then one line per record, in recording order, with the keys in this order:
///
///     {"t_ps":..,"type":"slice","cat":..,"name":..,"track":..,"dur_ps":..,<args>}
///     {"t_ps":..,"type":"begin","cat":..,"name":..,"track":..,<args>}
///     {"t_ps":..,"type":"end","cat":..,"name":"","track":..}
///     {"t_ps":..,"type":"instant","cat":..,"name":..,"track":..,<args>}
///     {"t_ps":..,"type":"counter","cat":..,"name":..,"track":..,"value":..}
///     {"t_ps":..,"type":"flow","cat":..,"name":..,"track":..,"to_track":..,"to_t_ps":..,"id":..}
///
/// A record's arguments follow as members of their own; one whose key is a member
/// listed above is written as "arg_<key>". Addresses are "0x..." strings. A slice left
/// open until close_open_slice() is written when it closes, so records are in the order
/// they were completed, not sorted by t_ps. Same records, same bytes.

#include <ostream>

#include "ossim/sim/trace.hpp"

namespace ossim::sim {

void write_jsonl_trace(const Trace& trace, std::ostream& out);

}  // namespace ossim::sim
