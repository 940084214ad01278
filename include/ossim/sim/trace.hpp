#pragma once

/// @file
/// The trace recorder. Components record what happens during a run into one Trace:
/// slices (a task ran on a CPU from t0 to t1; a task was Runnable from t0 to t1), instants
/// (a syscall, a page fault, an IRQ), counters (run-queue length, free frames) and flows
/// (a wakeup from the waker to the wakee). Writers serialize the records at the end of the
/// run (chrome_trace_writer.hpp, jsonl_trace_writer.hpp).
///
/// Recording costs nothing when a category is off: callers test the category first, so
/// no argument is evaluated and nothing is formatted.
///
///     if (trace.enabled(TraceCategory::kSyscall))
///       trace.instant(TraceCategory::kSyscall, task_track, now, "read",
///                     {{"fd", fd}, {"count", count}, {"result", result}});
///
/// Records are small fixed-size structs in one vector; names are TraceName handles to
/// strings that outlive the Trace (literals, or strings interned in the Trace), so a
/// record costs no allocation of its own.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "ossim/sim/tick.hpp"

namespace ossim::sim {

/// What a record is about. A bitmask: a Trace records the categories whose bits are set.
enum class TraceCategory : std::uint32_t {
  kNone = 0,
  kSched = 1u << 0,    ///< CPU run slices: which task ran on which CPU, and when
  kTask = 1u << 1,     ///< task state slices: Running, Runnable, Sleeping...
  kSyscall = 1u << 2,  ///< one instant per system call, with its arguments and result
  kFault = 1u << 3,    ///< page faults and other exceptions
  kIrq = 1u << 4,      ///< interrupts
  kMemory = 1u << 5,   ///< memory-management events (allocation, reclaim, TLB shootdown)
  kCounter = 1u << 6,  ///< counters: run-queue lengths, free frames, hit rates
  kFlow = 1u << 7,     ///< flows between tracks: wakeups
  kAll = (1u << 8) - 1,
};

constexpr TraceCategory operator|(TraceCategory a, TraceCategory b) {
  return static_cast<TraceCategory>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr TraceCategory operator&(TraceCategory a, TraceCategory b) {
  return static_cast<TraceCategory>(static_cast<std::uint32_t>(a) & static_cast<std::uint32_t>(b));
}

/// The name of a single category ("sched", "syscall"...); "none" for kNone and "mixed" for
/// a value with several bits set.
std::string_view trace_category_name(TraceCategory category);

/// Parses a comma-separated list of category names: "sched,syscall", "all", "none", or ""
/// (none). "wakeup" is another name for "flow". Spaces around names are ignored. Throws
/// std::invalid_argument naming the unknown category and listing the known ones.
TraceCategory parse_trace_categories(std::string_view text);

/// A handle to a NUL-terminated string that outlives the Trace it is recorded into: a
/// string literal (checked at compile time), a string with static storage
/// (from_static), or a string interned in the Trace (Trace::intern). Copying one is
/// copying a pointer; writers print the characters, never the pointer.
class TraceName {
 public:
  /// From a string literal or another array with static storage.
  template <std::size_t N>
  consteval TraceName(const char (&text)[N]) : text_(text) {}  // NOLINT: implicit by design

  /// From a NUL-terminated string with static storage duration (e.g. an entry of a
  /// constexpr table of names indexed at run time). The caller vouches for the lifetime.
  static constexpr TraceName from_static(const char* text) { return TraceName(text, 0); }

  constexpr const char* c_str() const { return text_; }
  constexpr std::string_view view() const { return text_; }

 private:
  friend class Trace;
  constexpr TraceName(const char* text, int /*unchecked*/) : text_(text) {}
  const char* text_;
};

/// A small typed argument of an instant or slice: a key and an integer, boolean, address
/// (written in hexadecimal) or string value.
struct TraceArg {
  enum class Type : std::uint8_t { kInt, kUint, kHex, kBool, kString };

  template <class T>
    requires std::is_integral_v<T>
  constexpr TraceArg(TraceName arg_key, T value) : key(arg_key) {  // NOLINT: implicit by design
    if constexpr (std::is_same_v<T, bool>) {
      type = Type::kBool;
      u = value ? 1 : 0;
    } else if constexpr (std::is_signed_v<T>) {
      type = Type::kInt;
      i = value;
    } else {
      type = Type::kUint;
      u = value;
    }
  }
  constexpr TraceArg(TraceName arg_key, TraceName value) : key(arg_key), type(Type::kString), s(value.c_str()) {}

  /// An unsigned value written as a "0x..." string: addresses, error codes, flags.
  static constexpr TraceArg hex(TraceName arg_key, std::uint64_t value) {
    TraceArg arg(arg_key, value);
    arg.type = Type::kHex;
    return arg;
  }

  TraceName key;
  Type type;
  union {
    std::int64_t i;
    std::uint64_t u;
    const char* s;
  };
};

/// A track: one timeline in the output (a CPU, a task, or a counter).
using TrackId = std::uint32_t;

/// The scheduling state of a task, shown as slices on its track. The names follow Linux
/// (ps/top): Sleeping is TASK_INTERRUPTIBLE, Blocked is TASK_UNINTERRUPTIBLE.
enum class TraceTaskState : std::uint8_t { kRunning, kRunnable, kSleeping, kBlocked, kStopped, kZombie };

/// "Running", "Runnable", "Sleeping", "Blocked", "Stopped", "Zombie".
TraceName trace_task_state_name(TraceTaskState state);

class Trace {
 public:
  enum class TrackKind : std::uint8_t { kCpu, kTask, kCounter };

  struct Track {
    TrackKind kind;
    unsigned cpu = 0;  ///< kCpu
    int tgid = 0;      ///< kTask: thread-group (process) id
    int tid = 0;       ///< kTask: task (thread) id
    TraceName name = "";  ///< the latest name ("CPU 0", the task's comm, the counter's name)
    // The slice left open by cpu_run() or task_state(), closed by the next change.
    bool open = false;
    TraceCategory open_category = TraceCategory::kNone;
    TraceName open_name = "";
    Tick open_since = 0;
    TrackId open_task = 0;  ///< on a CPU track: the task running
  };

  enum class RecordKind : std::uint8_t { kSlice, kBegin, kEnd, kInstant, kCounter, kFlow };

  /// One record. Field use by kind:
  /// - kSlice: time = start, end = end time, args.
  /// - kBegin / kEnd: time, args (kEnd: none, name unused).
  /// - kInstant: time, args.
  /// - kCounter: time, value in int_value or double_value (is_double).
  /// - kFlow: time on `track`, end = arrival time on `to_track`.
  struct Record {
    Tick time;
    union {
      Tick end;
      std::int64_t int_value;
      double double_value;
    };
    const char* name;
    TrackId track;
    union {
      std::uint32_t first_arg;  ///< index into args()
      TrackId to_track;         ///< kFlow (which has no arguments)
    };
    RecordKind kind;
    TraceCategory category;
    std::uint8_t arg_count;
    bool is_double;
  };

  /// A trace recording the given categories (nothing by default).
  explicit Trace(TraceCategory categories = TraceCategory::kNone) : enabled_(static_cast<std::uint32_t>(categories)) {}
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  /// True if records of `category` are kept. One load and one test: callers check this
  /// before computing arguments. The recording functions check it as well.
  bool enabled(TraceCategory category) const { return (enabled_ & static_cast<std::uint32_t>(category)) != 0; }
  TraceCategory categories() const { return static_cast<TraceCategory>(enabled_); }
  void set_categories(TraceCategory categories) { enabled_ = static_cast<std::uint32_t>(categories); }

  /// A copy of `text` owned by the Trace, valid for its lifetime. Equal texts share one copy.
  TraceName intern(std::string_view text);

  // --- Tracks -------------------------------------------------------------------------
  // Tracks are created on first use, even when every category is off, so that track ids
  // do not depend on the categories.

  /// The track of CPU `cpu`, named "CPU <cpu>".
  TrackId cpu_track(unsigned cpu);
  /// The track of task `tid` in thread group `tgid`. The first call creates it with
  /// `name`; later calls with the same (tgid, tid) return it unchanged.
  TrackId task_track(int tgid, int tid, std::string_view name);
  /// Renames a task's track (e.g. after exec). Slices recorded before keep the old name.
  void rename_task(TrackId task, std::string_view name);
  /// The counter track called `name` (e.g. "CPU 0 run queue", "free frames").
  TrackId counter_track(std::string_view name);

  // --- Records ------------------------------------------------------------------------
  // Every recording function does nothing if `category` is off. At most 255 arguments.

  /// A slice from `begin` to `end` on `track`.
  void slice(TraceCategory category, TrackId track, Tick begin, Tick end, TraceName name,
             std::initializer_list<TraceArg> args = {});
  /// The start of a slice that a later end_slice() on the same track closes. Begin/end
  /// pairs nest like brackets.
  void begin_slice(TraceCategory category, TrackId track, Tick time, TraceName name,
                   std::initializer_list<TraceArg> args = {});
  void end_slice(TraceCategory category, TrackId track, Tick time);
  /// A point event on `track`.
  void instant(TraceCategory category, TrackId track, Tick time, TraceName name,
               std::initializer_list<TraceArg> args = {});
  /// A counter's new value from `time` on.
  void counter(TraceCategory category, TrackId track, Tick time, std::int64_t value);
  void counter(TraceCategory category, TrackId track, Tick time, double value);
  /// An arrow from `from` at `time` to `to` at `to_time` (e.g. a wakeup, from the waker's
  /// track to the wakee's). Viewers attach each end to the slice enclosing it.
  void flow(TraceCategory category, TrackId from, Tick time, TrackId to, Tick to_time, TraceName name);

  // --- Open slices ----------------------------------------------------------------------
  // Run and state slices as the kernel sees them: as changes. Each change closes the
  // slice left open on the track (recording it) and opens the next.

  /// From `time` on, CPU track `cpu` runs the task of track `task` (category kSched).
  void cpu_run(TrackId cpu, TrackId task, Tick time);
  /// From `time` on, task track `task` is in `state` (category kTask).
  void task_state(TrackId task, TraceTaskState state, Tick time);
  /// Closes the slice open on `track`, if any: a CPU goes idle, a task is reaped.
  void close_open_slice(TrackId track, Tick time);
  /// Closes every open slice at `time`: call once at the end of the run.
  void close_open_slices(Tick time);

  // --- Reading (for writers) --------------------------------------------------------------

  std::span<const Track> tracks() const { return tracks_; }
  std::span<const Record> records() const { return records_; }
  std::span<const TraceArg> args(const Record& record) const {
    if (record.arg_count == 0) return {};
    return {args_.data() + record.first_arg, record.arg_count};
  }
  /// Reserves room for `records` records, to avoid regrowth in long runs.
  void reserve(std::size_t records) { records_.reserve(records); }
  /// Drops every record (e.g. those of a warm-up phase). Tracks, their open slices and
  /// interned names stay.
  void clear_records() {
    records_.clear();
    args_.clear();
  }

 private:
  TrackId add_track(Track track);
  Record& push(RecordKind kind, TraceCategory category, TrackId track, Tick time, TraceName name,
               std::initializer_list<TraceArg> args);
  void open_slice(TrackId track, TraceCategory category, TraceName name, Tick time, TrackId task);

  static constexpr TrackId kNoTrack = ~TrackId{0};

  std::uint32_t enabled_;
  std::vector<Track> tracks_;
  std::vector<Record> records_;
  std::vector<TraceArg> args_;
  // Interned strings. A deque never moves its elements, so c_str() pointers stay valid.
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, const char*> string_index_;  // lookups only
  std::vector<TrackId> cpu_tracks_;                                 // by CPU number; kNoTrack if none
  std::map<int, TrackId> task_tracks_;                              // by tid
  std::map<std::string, TrackId, std::less<>> counter_tracks_;
};

}  // namespace ossim::sim
