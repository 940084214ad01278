#include "ossim/sim/jsonl_trace_writer.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "json_output.hpp"

namespace ossim::sim {

namespace {

// The members a record line has of its own; arguments with these keys are renamed.
constexpr std::array<std::string_view, 10> kReservedKeys{"t_ps", "type",     "cat",     "name", "track",
                                                         "dur_ps", "value", "to_track", "to_t_ps", "id"};

void write_track(JsonOutput& out, TrackId id, const Trace::Track& track) {
  out.raw("{\"t_ps\":0,\"type\":\"track\",\"track\":");
  out.number(id);
  switch (track.kind) {
    case Trace::TrackKind::kCpu:
      out.raw(",\"kind\":\"cpu\",\"name\":");
      out.string(track.name.view());
      out.raw(",\"cpu\":");
      out.number(track.cpu);
      break;
    case Trace::TrackKind::kTask:
      out.raw(",\"kind\":\"task\",\"name\":");
      out.string(track.name.view());
      out.raw(",\"pid\":");
      out.number(track.tgid);
      out.raw(",\"tid\":");
      out.number(track.tid);
      break;
    case Trace::TrackKind::kCounter:
      out.raw(",\"kind\":\"counter\",\"name\":");
      out.string(track.name.view());
      break;
  }
  out.raw("}\n");
}

void write_args(JsonOutput& out, std::span<const TraceArg> args) {
  for (const TraceArg& arg : args) {
    const std::string_view key = arg.key.view();
    out.raw(',');
    if (std::find(kReservedKeys.begin(), kReservedKeys.end(), key) != kReservedKeys.end()) {
      out.raw("\"arg_");
      out.raw(key);  // a reserved key: plain ASCII, nothing to escape
      out.raw('"');
    } else {
      out.string(key);
    }
    out.raw(':');
    switch (arg.type) {
      case TraceArg::Type::kInt: out.number(arg.i); break;
      case TraceArg::Type::kUint: out.number(arg.u); break;
      case TraceArg::Type::kHex: out.hex_string(arg.u); break;
      case TraceArg::Type::kBool: out.raw(arg.u != 0 ? "true" : "false"); break;
      case TraceArg::Type::kString: out.string(arg.s); break;
    }
  }
}

std::string_view type_name(Trace::RecordKind kind) {
  switch (kind) {
    case Trace::RecordKind::kSlice: return "slice";
    case Trace::RecordKind::kBegin: return "begin";
    case Trace::RecordKind::kEnd: return "end";
    case Trace::RecordKind::kInstant: return "instant";
    case Trace::RecordKind::kCounter: return "counter";
    case Trace::RecordKind::kFlow: return "flow";
  }
  return "unknown";
}

}  // namespace

void write_jsonl_trace(const Trace& trace, std::ostream& out_stream) {
  JsonOutput out(out_stream);
  const auto tracks = trace.tracks();
  for (TrackId id = 0; id < tracks.size(); ++id) write_track(out, id, tracks[id]);

  std::uint64_t flows = 0;
  for (const Trace::Record& record : trace.records()) {
    out.raw("{\"t_ps\":");
    out.number(record.time);
    out.raw(",\"type\":\"");
    out.raw(type_name(record.kind));
    out.raw("\",\"cat\":\"");
    out.raw(trace_category_name(record.category));
    out.raw("\",\"name\":");
    out.string(record.name);
    out.raw(",\"track\":");
    out.number(record.track);
    switch (record.kind) {
      case Trace::RecordKind::kSlice:
        out.raw(",\"dur_ps\":");
        out.number(record.end - record.time);
        write_args(out, trace.args(record));
        break;
      case Trace::RecordKind::kBegin:
      case Trace::RecordKind::kInstant: write_args(out, trace.args(record)); break;
      case Trace::RecordKind::kEnd: break;
      case Trace::RecordKind::kCounter:
        out.raw(",\"value\":");
        if (record.is_double) {
          out.number(record.double_value);
        } else {
          out.number(record.int_value);
        }
        break;
      case Trace::RecordKind::kFlow:
        out.raw(",\"to_track\":");
        out.number(record.to_track);
        out.raw(",\"to_t_ps\":");
        out.number(record.end);
        out.raw(",\"id\":");
        out.number(++flows);
        break;
    }
    out.raw("}\n");
    out.flush_if_full();
  }
  out.flush();
}

}  // namespace ossim::sim
