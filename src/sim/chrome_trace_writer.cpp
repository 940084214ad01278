#include "ossim/sim/chrome_trace_writer.hpp"

#include <map>

#include "json_output.hpp"

namespace ossim::sim {

namespace {

using Track = Trace::Track;
using TrackKind = Trace::TrackKind;

struct ChromeThread {
  int pid;
  int tid;
};

ChromeThread chrome_thread(const Track& track) {
  switch (track.kind) {
    case TrackKind::kCpu: return {kChromeCpuProcessId, kChromeCpuProcessId + static_cast<int>(track.cpu)};
    case TrackKind::kTask: return {track.tgid, track.tid};
    case TrackKind::kCounter: return {kChromeCounterProcessId, kChromeCounterProcessId};
  }
  return {0, 0};
}

class ChromeWriter {
 public:
  ChromeWriter(const Trace& trace, std::ostream& out) : trace_(trace), out_(out) {}

  void write(const ChromeTraceOptions& options) {
    out_.raw("{\"traceEvents\":[");
    write_metadata();
    for (const Trace::Record& record : trace_.records()) {
      write_record(record);
      out_.flush_if_full();
    }
    out_.raw("\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{");
    bool first = true;
    for (const auto& [key, value] : options.other_data) {
      if (!first) out_.raw(',');
      first = false;
      out_.string(key);
      out_.raw(':');
      out_.string(value);
    }
    out_.raw("}}\n");
    out_.flush();
  }

 private:
  // Starts an event: the separator, then the members every event has.
  void open_event(std::string_view name, std::string_view category, char phase) {
    out_.raw(first_event_ ? "\n{" : ",\n{");
    first_event_ = false;
    out_.raw("\"name\":");
    out_.string(name);
    if (!category.empty()) {
      out_.raw(",\"cat\":");
      out_.string(category);
    }
    out_.raw(",\"ph\":\"");
    out_.raw(phase);
    out_.raw('"');
  }

  void thread_members(ChromeThread thread) {
    out_.raw(",\"pid\":");
    out_.number(thread.pid);
    out_.raw(",\"tid\":");
    out_.number(thread.tid);
  }

  void time_member(std::string_view key, Tick time) {
    out_.raw(",\"");
    out_.raw(key);
    out_.raw("\":");
    out_.microseconds(time);
  }

  void metadata(std::string_view name, ChromeThread thread, std::string_view arg_key, std::string_view text) {
    open_event(name, "", 'M');
    thread_members(thread);
    out_.raw(",\"args\":{");
    out_.string(arg_key);
    out_.raw(':');
    out_.string(text);
    out_.raw("}}");
  }

  void sort_index(std::string_view name, ChromeThread thread, int index) {
    open_event(name, "", 'M');
    thread_members(thread);
    out_.raw(",\"args\":{\"sort_index\":");
    out_.number(index);
    out_.raw("}}");
  }

  void write_metadata() {
    const auto tracks = trace_.tracks();
    bool any_cpu = false;
    bool any_counter = false;
    // Thread groups by tgid (ordered), named after their leader (tid == tgid) if it has a
    // track, else after their first track.
    std::map<int, const Track*> groups;
    for (const Track& track : tracks) {
      any_cpu |= track.kind == TrackKind::kCpu;
      any_counter |= track.kind == TrackKind::kCounter;
      if (track.kind != TrackKind::kTask) continue;
      auto [it, inserted] = groups.emplace(track.tgid, &track);
      if (!inserted && track.tid == track.tgid && it->second->tid != it->second->tgid) it->second = &track;
    }
    if (any_cpu) {
      const ChromeThread process{kChromeCpuProcessId, kChromeCpuProcessId};
      metadata("process_name", process, "name", "CPUs");
      sort_index("process_sort_index", process, -2);
    }
    if (any_counter) {
      const ChromeThread process{kChromeCounterProcessId, kChromeCounterProcessId};
      metadata("process_name", process, "name", "Counters");
      sort_index("process_sort_index", process, -1);
    }
    for (const auto& [tgid, track] : groups) metadata("process_name", {tgid, tgid}, "name", track->name.view());
    for (const Track& track : tracks) {
      if (track.kind == TrackKind::kCounter) continue;
      const ChromeThread thread = chrome_thread(track);
      metadata("thread_name", thread, "name", track.name.view());
      if (track.kind == TrackKind::kCpu) sort_index("thread_sort_index", thread, static_cast<int>(track.cpu));
    }
  }

  void write_args(const Trace::Record& record) {
    const auto args = trace_.args(record);
    if (args.empty()) return;
    out_.raw(",\"args\":{");
    bool first = true;
    for (const TraceArg& arg : args) {
      if (!first) out_.raw(',');
      first = false;
      out_.string(arg.key.view());
      out_.raw(':');
      switch (arg.type) {
        case TraceArg::Type::kInt: out_.number(arg.i); break;
        case TraceArg::Type::kUint: out_.number(arg.u); break;
        case TraceArg::Type::kHex: out_.hex_string(arg.u); break;
        case TraceArg::Type::kBool: out_.raw(arg.u != 0 ? "true" : "false"); break;
        case TraceArg::Type::kString: out_.string(arg.s); break;
      }
    }
    out_.raw('}');
  }

  void write_record(const Trace::Record& record) {
    const auto tracks = trace_.tracks();
    const ChromeThread thread = chrome_thread(tracks[record.track]);
    const std::string_view category = trace_category_name(record.category);
    switch (record.kind) {
      case Trace::RecordKind::kSlice: {
        open_event(record.name, category, 'X');
        time_member("ts", record.time);
        // The difference of the printed end points, in whole nanoseconds.
        time_member("dur", (record.end / 1'000 - record.time / 1'000) * 1'000);
        thread_members(thread);
        write_args(record);
        out_.raw('}');
        break;
      }
      case Trace::RecordKind::kBegin:
        open_event(record.name, category, 'B');
        time_member("ts", record.time);
        thread_members(thread);
        write_args(record);
        out_.raw('}');
        break;
      case Trace::RecordKind::kEnd:
        open_event(record.name, category, 'E');
        time_member("ts", record.time);
        thread_members(thread);
        out_.raw('}');
        break;
      case Trace::RecordKind::kInstant:
        open_event(record.name, category, 'i');
        time_member("ts", record.time);
        thread_members(thread);
        out_.raw(",\"s\":\"t\"");
        write_args(record);
        out_.raw('}');
        break;
      case Trace::RecordKind::kCounter:
        open_event(record.name, category, 'C');
        time_member("ts", record.time);
        thread_members(thread);
        out_.raw(",\"args\":{\"value\":");
        if (record.is_double) {
          out_.number(record.double_value);
        } else {
          out_.number(record.int_value);
        }
        out_.raw("}}");
        break;
      case Trace::RecordKind::kFlow: {
        ++flows_;
        open_event(record.name, category, 's');
        out_.raw(",\"id\":");
        out_.number(flows_);
        time_member("ts", record.time);
        thread_members(thread);
        out_.raw('}');
        open_event(record.name, category, 'f');
        out_.raw(",\"bp\":\"e\",\"id\":");
        out_.number(flows_);
        time_member("ts", record.end);
        thread_members(chrome_thread(tracks[record.to_track]));
        out_.raw('}');
        break;
      }
    }
  }

  const Trace& trace_;
  JsonOutput out_;
  bool first_event_ = true;
  std::uint64_t flows_ = 0;  // flow ids are 1, 2, ... in record order
};

}  // namespace

void write_chrome_trace(const Trace& trace, std::ostream& out, const ChromeTraceOptions& options) {
  ChromeWriter(trace, out).write(options);
}

}  // namespace ossim::sim
