#include "ossim/sim/trace.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace ossim::sim {

namespace {

struct CategoryName {
  std::string_view name;
  TraceCategory category;
};

// The single-bit categories in bit order: the order names are listed in messages.
constexpr std::array<CategoryName, 8> kCategoryNames{{
    {"sched", TraceCategory::kSched},
    {"task", TraceCategory::kTask},
    {"syscall", TraceCategory::kSyscall},
    {"fault", TraceCategory::kFault},
    {"irq", TraceCategory::kIrq},
    {"memory", TraceCategory::kMemory},
    {"counter", TraceCategory::kCounter},
    {"flow", TraceCategory::kFlow},
}};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string_view trace_category_name(TraceCategory category) {
  for (const auto& entry : kCategoryNames) {
    if (entry.category == category) return entry.name;
  }
  return category == TraceCategory::kNone ? "none" : "mixed";
}

TraceCategory parse_trace_categories(std::string_view text) {
  TraceCategory result = TraceCategory::kNone;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    if (item == "all") {
      result = result | TraceCategory::kAll;
    } else if (item == "wakeup") {
      result = result | TraceCategory::kFlow;
    } else if (!item.empty() && item != "none") {
      const auto* found = std::find_if(kCategoryNames.begin(), kCategoryNames.end(),
                                       [&](const CategoryName& entry) { return entry.name == item; });
      if (found == kCategoryNames.end()) {
        std::string known;
        for (const auto& entry : kCategoryNames) known += fmt::format("{}, ", entry.name);
        throw std::invalid_argument(
            fmt::format("unknown trace category '{}' (known: {}wakeup, all, none)", item, known));
      }
      result = result | found->category;
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return result;
}

TraceName trace_task_state_name(TraceTaskState state) {
  switch (state) {
    case TraceTaskState::kRunning: return "Running";
    case TraceTaskState::kRunnable: return "Runnable";
    case TraceTaskState::kSleeping: return "Sleeping";
    case TraceTaskState::kBlocked: return "Blocked";
    case TraceTaskState::kStopped: return "Stopped";
    case TraceTaskState::kZombie: return "Zombie";
  }
  return "Unknown";
}

TraceName Trace::intern(std::string_view text) {
  if (auto found = string_index_.find(text); found != string_index_.end()) return TraceName(found->second, 0);
  const std::string& stored = strings_.emplace_back(text);
  string_index_.emplace(stored, stored.c_str());
  return TraceName(stored.c_str(), 0);
}

TrackId Trace::add_track(Track track) {
  tracks_.push_back(track);
  return static_cast<TrackId>(tracks_.size() - 1);
}

TrackId Trace::cpu_track(unsigned cpu) {
  if (cpu >= cpu_tracks_.size()) cpu_tracks_.resize(cpu + 1, kNoTrack);
  if (cpu_tracks_[cpu] == kNoTrack) {
    cpu_tracks_[cpu] = add_track({.kind = TrackKind::kCpu, .cpu = cpu, .name = intern(fmt::format("CPU {}", cpu))});
  }
  return cpu_tracks_[cpu];
}

TrackId Trace::task_track(int tgid, int tid, std::string_view name) {
  // A tid seen again in another thread group is a new task (the old one was reaped and
  // its id reused): it gets a new track.
  if (auto found = task_tracks_.find(tid); found != task_tracks_.end() && tracks_[found->second].tgid == tgid) {
    return found->second;
  }
  const TrackId track = add_track({.kind = TrackKind::kTask, .tgid = tgid, .tid = tid, .name = intern(name)});
  task_tracks_[tid] = track;
  return track;
}

void Trace::rename_task(TrackId task, std::string_view name) {
  assert(task < tracks_.size() && tracks_[task].kind == TrackKind::kTask);
  tracks_[task].name = intern(name);
}

TrackId Trace::counter_track(std::string_view name) {
  if (auto found = counter_tracks_.find(name); found != counter_tracks_.end()) return found->second;
  const TrackId track = add_track({.kind = TrackKind::kCounter, .name = intern(name)});
  counter_tracks_.emplace(std::string(name), track);
  return track;
}

Trace::Record& Trace::push(RecordKind kind, TraceCategory category, TrackId track, Tick time, TraceName name,
                           std::initializer_list<TraceArg> args) {
  assert(args.size() <= 255);
  const std::size_t count = std::min<std::size_t>(args.size(), 255);
  Record& record = records_.emplace_back();
  record.time = time;
  record.end = time;
  record.name = name.c_str();
  record.track = track;
  record.first_arg = static_cast<std::uint32_t>(args_.size());
  record.kind = kind;
  record.category = category;
  record.arg_count = static_cast<std::uint8_t>(count);
  record.is_double = false;
  args_.insert(args_.end(), args.begin(), args.begin() + count);
  return record;
}

void Trace::slice(TraceCategory category, TrackId track, Tick begin, Tick end, TraceName name,
                  std::initializer_list<TraceArg> args) {
  if (!enabled(category)) return;
  push(RecordKind::kSlice, category, track, begin, name, args).end = std::max(begin, end);
}

void Trace::begin_slice(TraceCategory category, TrackId track, Tick time, TraceName name,
                        std::initializer_list<TraceArg> args) {
  if (!enabled(category)) return;
  push(RecordKind::kBegin, category, track, time, name, args);
}

void Trace::end_slice(TraceCategory category, TrackId track, Tick time) {
  if (!enabled(category)) return;
  push(RecordKind::kEnd, category, track, time, "", {});
}

void Trace::instant(TraceCategory category, TrackId track, Tick time, TraceName name,
                    std::initializer_list<TraceArg> args) {
  if (!enabled(category)) return;
  push(RecordKind::kInstant, category, track, time, name, args);
}

void Trace::counter(TraceCategory category, TrackId track, Tick time, std::int64_t value) {
  if (!enabled(category)) return;
  push(RecordKind::kCounter, category, track, time, tracks_[track].name, {}).int_value = value;
}

void Trace::counter(TraceCategory category, TrackId track, Tick time, double value) {
  if (!enabled(category)) return;
  Record& record = push(RecordKind::kCounter, category, track, time, tracks_[track].name, {});
  record.double_value = value;
  record.is_double = true;
}

void Trace::flow(TraceCategory category, TrackId from, Tick time, TrackId to, Tick to_time, TraceName name) {
  if (!enabled(category)) return;
  Record& record = push(RecordKind::kFlow, category, from, time, name, {});
  record.end = std::max(time, to_time);
  record.to_track = to;
}

void Trace::open_slice(TrackId track, TraceCategory category, TraceName name, Tick time, TrackId task) {
  close_open_slice(track, time);
  Track& t = tracks_[track];
  t.open = true;
  t.open_category = category;
  t.open_name = name;
  t.open_since = time;
  t.open_task = task;
}

void Trace::cpu_run(TrackId cpu, TrackId task, Tick time) {
  if (!enabled(TraceCategory::kSched)) return;
  assert(tracks_[cpu].kind == TrackKind::kCpu && tracks_[task].kind == TrackKind::kTask);
  open_slice(cpu, TraceCategory::kSched, tracks_[task].name, time, task);
}

void Trace::task_state(TrackId task, TraceTaskState state, Tick time) {
  if (!enabled(TraceCategory::kTask)) return;
  assert(tracks_[task].kind == TrackKind::kTask);
  open_slice(task, TraceCategory::kTask, trace_task_state_name(state), time, task);
}

void Trace::close_open_slice(TrackId track, Tick time) {
  Track& t = tracks_[track];
  if (!t.open) return;
  t.open = false;
  if (t.kind == TrackKind::kCpu) {
    const Track& task = tracks_[t.open_task];
    slice(t.open_category, track, t.open_since, time, t.open_name, {{"pid", task.tgid}, {"tid", task.tid}});
  } else {
    slice(t.open_category, track, t.open_since, time, t.open_name);
  }
}

void Trace::close_open_slices(Tick time) {
  for (TrackId track = 0; track < tracks_.size(); ++track) close_open_slice(track, time);
}

}  // namespace ossim::sim
