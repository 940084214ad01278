// Trace: categories, tracks, records, and the Chrome and JSON Lines writers.

#include <catch2/catch.hpp>

#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/json_output.hpp"
#include "ossim/sim/chrome_trace_writer.hpp"
#include "ossim/sim/jsonl_trace_writer.hpp"
#include "ossim/sim/trace.hpp"

namespace {

using namespace ossim::sim;
using nlohmann::json;

constexpr TraceCategory kSched = TraceCategory::kSched;
constexpr TraceCategory kTask = TraceCategory::kTask;
constexpr TraceCategory kSyscall = TraceCategory::kSyscall;
constexpr TraceCategory kCounter = TraceCategory::kCounter;
constexpr TraceCategory kFlow = TraceCategory::kFlow;

std::string chrome_text(const Trace& trace, const ChromeTraceOptions& options = {}) {
  std::ostringstream out;
  write_chrome_trace(trace, out, options);
  return out.str();
}

std::string jsonl_text(const Trace& trace) {
  std::ostringstream out;
  write_jsonl_trace(trace, out);
  return out.str();
}

std::vector<json> jsonl_lines(const Trace& trace) {
  std::vector<json> lines;
  std::istringstream in(jsonl_text(trace));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

// The Chrome events other than metadata.
std::vector<json> chrome_events(const Trace& trace) {
  const json document = json::parse(chrome_text(trace));
  std::vector<json> events;
  for (const json& event : document.at("traceEvents")) {
    if (event.at("ph") != "M") events.push_back(event);
  }
  return events;
}

std::string microseconds(Tick ps) {
  std::ostringstream out;
  {
    JsonOutput output(out);
    output.microseconds(ps);
  }
  return out.str();
}

std::string escaped(std::string_view text) {
  std::ostringstream out;
  {
    JsonOutput output(out);
    output.string(text);
  }
  return out.str();
}

// A small run: two CPUs, a process with two threads, a syscall, a wakeup, counters.
void record_sample(Trace& trace) {
  const TrackId cpu0 = trace.cpu_track(0);
  const TrackId cpu1 = trace.cpu_track(1);
  const TrackId shell = trace.task_track(1, 1, "sh");
  const TrackId worker = trace.task_track(1, 2, "sh");
  const TrackId runqueue = trace.counter_track("CPU 0 run queue");
  trace.task_state(shell, TraceTaskState::kRunning, 0);
  trace.cpu_run(cpu0, shell, 0);
  trace.task_state(worker, TraceTaskState::kSleeping, 0);
  trace.counter(kCounter, runqueue, 0, std::int64_t{1});
  trace.instant(kSyscall, shell, 1'500'000, "write", {{"fd", 1}, {"count", 12u}, {"result", 12}});
  trace.flow(kFlow, shell, 2'000'000, worker, 2'000'000, "wakeup");
  trace.task_state(worker, TraceTaskState::kRunnable, 2'000'000);
  trace.counter(kCounter, runqueue, 2'000'000, std::int64_t{2});
  trace.task_state(worker, TraceTaskState::kRunning, 3'000'000);
  trace.cpu_run(cpu1, worker, 3'000'000);
  trace.rename_task(worker, "cat");
  trace.close_open_slices(5'000'000);
}

}  // namespace

TEST_CASE("a default-constructed trace has every category off and records nothing", "[sim][trace]") {
  Trace trace;
  for (auto category : {kSched, kTask, kSyscall, TraceCategory::kFault, TraceCategory::kIrq,
                        TraceCategory::kMemory, kCounter, kFlow}) {
    CHECK_FALSE(trace.enabled(category));
  }
  record_sample(trace);
  CHECK(trace.records().empty());
  // The tracks exist all the same, so track ids do not depend on the categories.
  CHECK(trace.tracks().size() == 5);
}

TEST_CASE("disabled categories record nothing while enabled ones record", "[sim][trace]") {
  Trace trace(kSyscall | kCounter);
  CHECK(trace.enabled(kSyscall));
  CHECK_FALSE(trace.enabled(kSched));
  record_sample(trace);
  std::map<std::string, int> by_category;
  for (const auto& record : trace.records()) ++by_category[std::string(trace_category_name(record.category))];
  CHECK(by_category == std::map<std::string, int>{{"syscall", 1}, {"counter", 2}});
}

TEST_CASE("category lists parse from names, and unknown names are rejected with the known ones",
          "[sim][trace]") {
  CHECK(parse_trace_categories("sched,syscall") == (kSched | kSyscall));
  CHECK(parse_trace_categories(" sched , wakeup ") == (kSched | kFlow));
  CHECK(parse_trace_categories("all") == TraceCategory::kAll);
  CHECK(parse_trace_categories("none") == TraceCategory::kNone);
  CHECK(parse_trace_categories("") == TraceCategory::kNone);
  CHECK(parse_trace_categories("fault,irq,memory,counter,task,flow") ==
        (TraceCategory::kFault | TraceCategory::kIrq | TraceCategory::kMemory | kCounter | kTask | kFlow));
  CHECK_THROWS_WITH(parse_trace_categories("sched,sycall"),
                    Catch::Contains("unknown trace category 'sycall'") && Catch::Contains("syscall"));
  CHECK_THROWS_AS(parse_trace_categories("everything"), std::invalid_argument);
}

TEST_CASE("category names round-trip through parsing", "[sim][trace]") {
  for (std::uint32_t bit = 1; bit < static_cast<std::uint32_t>(TraceCategory::kAll); bit <<= 1) {
    const auto category = static_cast<TraceCategory>(bit);
    CHECK(parse_trace_categories(trace_category_name(category)) == category);
  }
}

TEST_CASE("tracks are created once per CPU, task and counter", "[sim][trace]") {
  Trace trace;
  const TrackId cpu = trace.cpu_track(3);
  CHECK(trace.cpu_track(3) == cpu);
  CHECK(trace.tracks()[cpu].name.view() == "CPU 3");
  const TrackId task = trace.task_track(7, 8, "worker");
  CHECK(trace.task_track(7, 8, "ignored") == task);
  CHECK(trace.tracks()[task].name.view() == "worker");
  trace.rename_task(task, "ls");
  CHECK(trace.tracks()[task].name.view() == "ls");
  // The same tid in another thread group is a new task (the id was reused).
  CHECK(trace.task_track(9, 8, "other") != task);
  const TrackId frames = trace.counter_track("free frames");
  CHECK(trace.counter_track("free frames") == frames);
}

TEST_CASE("interned names are shared and outlive the text they were made from", "[sim][trace]") {
  Trace trace;
  std::string text = "kworker/0:1";
  const TraceName name = trace.intern(text);
  text = "changed";
  CHECK(name.view() == "kworker/0:1");
  CHECK(trace.intern("kworker/0:1").c_str() == name.c_str());
}

TEST_CASE("run and state slices close when the next change comes, keeping the name they had",
          "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  const TrackId cpu = trace.cpu_track(0);
  const TrackId task = trace.task_track(4, 4, "sh");
  trace.cpu_run(cpu, task, 10);
  trace.task_state(task, TraceTaskState::kRunning, 10);
  trace.rename_task(task, "ls");  // exec
  trace.task_state(task, TraceTaskState::kBlocked, 50);
  trace.close_open_slice(cpu, 50);  // idle
  trace.close_open_slice(cpu, 60);  // nothing open: no record
  trace.close_open_slices(80);

  const auto records = trace.records();
  REQUIRE(records.size() == 3);
  CHECK(records[0].track == task);
  CHECK(std::string_view(records[0].name) == "Running");
  CHECK(records[0].time == 10);
  CHECK(records[0].end == 50);
  CHECK(records[1].track == cpu);
  CHECK(std::string_view(records[1].name) == "sh");
  CHECK(records[1].end == 50);
  const auto args = trace.args(records[1]);
  REQUIRE(args.size() == 2);
  CHECK(args[0].key.view() == "pid");
  CHECK(args[0].i == 4);
  CHECK(std::string_view(records[2].name) == "Blocked");
  CHECK(records[2].time == 50);
  CHECK(records[2].end == 80);
}

TEST_CASE("microseconds print with three decimals by integer arithmetic", "[sim][trace]") {
  CHECK(microseconds(0) == "0.000");
  CHECK(microseconds(1) == "0.000");
  CHECK(microseconds(999) == "0.000");
  CHECK(microseconds(1'000) == "0.001");
  CHECK(microseconds(1'234'567) == "1.234");
  CHECK(microseconds(kSecond) == "1000000.000");
  CHECK(microseconds(kTickNever) == "18446744073709.551");
}

TEST_CASE("strings are JSON-escaped, and bytes that are not UTF-8 are replaced", "[sim][trace]") {
  CHECK(escaped("plain") == "\"plain\"");
  CHECK(escaped("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(escaped("line\nnext\ttab\r") == "\"line\\nnext\\ttab\\r\"");
  CHECK(escaped(std::string_view("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
  CHECK(escaped(std::string_view("nul\0!", 5)) == "\"nul\\u0000!\"");
  CHECK(escaped("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  CHECK(escaped("bad\xFF") == "\"bad\\ufffd\"");
  CHECK(escaped("cut\xE2\x82") == "\"cut\\ufffd\\ufffd\"");
  CHECK(escaped("\xC0\xAF") == "\"\\ufffd\\ufffd\"");       // overlong '/'
  CHECK(escaped("\xED\xA0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // a surrogate
  for (const char* text : {"a\"b", "\xFF\xFE", "x\x7f\x01", "\xF4\x90\x80\x80"}) {
    CHECK_NOTHROW(json::parse(escaped(text)));
  }
}

TEST_CASE("a Chrome trace parses as JSON and carries the process and thread metadata", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  record_sample(trace);
  const json document = json::parse(chrome_text(trace, {.other_data = {{"version", "0.1.0"}, {"seed", "42"}}}));
  CHECK(document.at("displayTimeUnit") == "ns");
  CHECK(document.at("otherData") == json({{"version", "0.1.0"}, {"seed", "42"}}));

  std::map<std::string, json> names;  // "process_name pid" / "thread_name pid/tid" -> args
  for (const json& event : document.at("traceEvents")) {
    if (event.at("ph") != "M") continue;
    const std::string key = fmt::format("{} {}/{}", event.at("name").get<std::string>(), event.at("pid").get<int>(),
                                         event.at("tid").get<int>());
    names[key] = event.at("args");
  }
  const int cpus = kChromeCpuProcessId;
  CHECK(names.at(fmt::format("process_name {}/{}", cpus, cpus)).at("name") == "CPUs");
  CHECK(names.at(fmt::format("process_sort_index {}/{}", cpus, cpus)).at("sort_index") == -2);
  CHECK(names.at(fmt::format("thread_name {}/{}", cpus, cpus + 1)).at("name") == "CPU 1");
  CHECK(names.at(fmt::format("thread_sort_index {}/{}", cpus, cpus + 1)).at("sort_index") == 1);
  CHECK(names.at(fmt::format("process_name {}/{}", kChromeCounterProcessId, kChromeCounterProcessId)).at("name") ==
        "Counters");
  CHECK(names.at("process_name 1/1").at("name") == "sh");
  CHECK(names.at("thread_name 1/2").at("name") == "cat");  // the latest name
}

TEST_CASE("Chrome events have the fields the Trace Event Format asks for", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  record_sample(trace);
  std::map<std::string, std::vector<json>> by_phase;
  for (const json& event : chrome_events(trace)) by_phase[event.at("ph").get<std::string>()].push_back(event);

  // The syscall: a thread-scoped instant with its arguments.
  REQUIRE(by_phase["i"].size() == 1);
  const json& write = by_phase["i"][0];
  CHECK(write.at("name") == "write");
  CHECK(write.at("cat") == "syscall");
  CHECK(write.at("s") == "t");
  CHECK(write.at("ts") == 1.5);
  CHECK(write.at("pid") == 1);
  CHECK(write.at("tid") == 1);
  CHECK(write.at("args") == json({{"fd", 1}, {"count", 12}, {"result", 12}}));

  // Run slices on the CPU tracks, closed at the end of the run.
  std::map<int, json> runs;  // by CPU
  for (const json& slice : by_phase["X"]) {
    if (slice.at("cat") == "sched") runs[slice.at("tid").get<int>() - kChromeCpuProcessId] = slice;
  }
  REQUIRE(runs.size() == 2);
  CHECK(runs.at(0).at("pid") == kChromeCpuProcessId);
  CHECK(runs.at(0).at("name") == "sh");
  CHECK(runs.at(0).at("ts") == 0.0);
  CHECK(runs.at(0).at("dur") == 5.0);
  CHECK(runs.at(0).at("args") == json({{"pid", 1}, {"tid", 1}}));
  CHECK(runs.at(1).at("name") == "sh");  // renamed "cat" only after it started running
  CHECK(runs.at(1).at("ts") == 3.0);
  CHECK(runs.at(1).at("dur") == 2.0);
  CHECK(runs.at(1).at("args") == json({{"pid", 1}, {"tid", 2}}));

  // State slices on the worker's track: Sleeping, Runnable, Running.
  std::vector<std::string> states;
  for (const json& slice : by_phase["X"]) {
    if (slice.at("cat") == "task" && slice.at("tid") == 2) states.push_back(slice.at("name"));
  }
  CHECK(states == std::vector<std::string>{"Sleeping", "Runnable", "Running"});

  // Counters carry their value, on the Counters process.
  REQUIRE(by_phase["C"].size() == 2);
  CHECK(by_phase["C"][1].at("name") == "CPU 0 run queue");
  CHECK(by_phase["C"][1].at("pid") == kChromeCounterProcessId);
  CHECK(by_phase["C"][1].at("args") == json({{"value", 2}}));
}

TEST_CASE("each Chrome flow is an s/f pair sharing an id, bound to the enclosing slice", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  const TrackId a = trace.task_track(1, 1, "a");
  const TrackId b = trace.task_track(2, 2, "b");
  trace.flow(kFlow, a, 1'000, b, 3'000, "wakeup");
  trace.flow(kFlow, b, 4'000, a, 4'000, "wakeup");
  std::vector<json> starts;
  std::vector<json> finishes;
  for (const json& event : chrome_events(trace)) {
    if (event.at("ph") == "s") starts.push_back(event);
    if (event.at("ph") == "f") finishes.push_back(event);
  }
  REQUIRE(starts.size() == 2);
  REQUIRE(finishes.size() == 2);
  CHECK(starts[0].at("id") != starts[1].at("id"));
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(starts[i].at("id") == finishes[i].at("id"));
    CHECK(starts[i].at("name") == finishes[i].at("name"));
    CHECK(starts[i].at("cat") == finishes[i].at("cat"));
    CHECK(finishes[i].at("bp") == "e");
  }
  CHECK(starts[0].at("tid") == 1);
  CHECK(starts[0].at("ts") == 0.001);
  CHECK(finishes[0].at("tid") == 2);
  CHECK(finishes[0].at("ts") == 0.003);
}

TEST_CASE("a Chrome slice's duration is the difference of its printed end points", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  const TrackId task = trace.task_track(1, 1, "a");
  trace.slice(kTask, task, 1'999, 3'001, "x");  // 1.999 ns to 3.001 ns
  const std::string text = chrome_text(trace);
  CHECK(text.find("\"ts\":0.001,\"dur\":0.002") != std::string::npos);
}

TEST_CASE("begin and end slices come out as B and E events", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  const TrackId task = trace.task_track(1, 1, "a");
  trace.begin_slice(kSyscall, task, 1'000'000, "read", {{"fd", 0}});
  trace.end_slice(kSyscall, task, 2'000'000);
  const auto events = chrome_events(trace);
  REQUIRE(events.size() == 2);
  CHECK(events[0].at("ph") == "B");
  CHECK(events[0].at("args").at("fd") == 0);
  CHECK(events[1].at("ph") == "E");
  CHECK(events[1].at("ts") == 2.0);
}

TEST_CASE("argument types print as JSON integers, booleans, strings and hex addresses", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  const TrackId task = trace.task_track(1, 1, "a");
  trace.instant(TraceCategory::kFault, task, 0, "page fault",
                {TraceArg::hex("address", 0x7fff'0000'1000), {"error", std::int64_t{-14}}, {"major", true},
                 {"kind", "minor"}, {"big", ~std::uint64_t{0}}, {"name", trace.intern("we\"ird")}});
  const json args = chrome_events(trace).at(0).at("args");
  CHECK(args.at("address") == "0x7fff00001000");
  CHECK(args.at("error") == -14);
  CHECK(args.at("major") == true);
  CHECK(args.at("kind") == "minor");
  CHECK(args.at("big") == ~std::uint64_t{0});
  CHECK(args.at("name") == "we\"ird");
}

TEST_CASE("double counters print exactly, and non-finite values as null", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  const TrackId rate = trace.counter_track("TLB hit rate");
  trace.counter(kCounter, rate, 0, 0.1);
  trace.counter(kCounter, rate, 1, 1.0 / 3.0);
  trace.counter(kCounter, rate, 2, std::numeric_limits<double>::infinity());
  const auto lines = jsonl_lines(trace);
  REQUIRE(lines.size() == 4);
  CHECK(lines[1].at("value").get<double>() == 0.1);
  CHECK(lines[2].at("value").get<double>() == 1.0 / 3.0);
  CHECK(lines[3].at("value").is_null());
  CHECK(json::parse(chrome_text(trace)).at("traceEvents").size() > 0);
}

TEST_CASE("JSON Lines: tracks first, then one record per line with keys in a fixed order", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  record_sample(trace);
  const std::string text = jsonl_text(trace);
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 5 + trace.records().size());
  CHECK(lines[0] == R"({"t_ps":0,"type":"track","track":0,"kind":"cpu","name":"CPU 0","cpu":0})");
  CHECK(lines[2] == R"({"t_ps":0,"type":"track","track":2,"kind":"task","name":"sh","pid":1,"tid":1})");
  CHECK(lines[3] == R"({"t_ps":0,"type":"track","track":3,"kind":"task","name":"cat","pid":1,"tid":2})");
  CHECK(lines[4] == R"({"t_ps":0,"type":"track","track":4,"kind":"counter","name":"CPU 0 run queue"})");
  CHECK(text.find(R"({"t_ps":1500000,"type":"instant","cat":"syscall","name":"write","track":2,"fd":1,"count":12,"result":12})") !=
        std::string::npos);
  CHECK(text.find(R"({"t_ps":2000000,"type":"flow","cat":"flow","name":"wakeup","track":2,"to_track":3,"to_t_ps":2000000,"id":1})") !=
        std::string::npos);
  CHECK(text.find(R"({"t_ps":0,"type":"slice","cat":"sched","name":"sh","track":0,"dur_ps":5000000,"pid":1,"tid":1})") !=
        std::string::npos);
  CHECK(text.find(R"({"t_ps":2000000,"type":"counter","cat":"counter","name":"CPU 0 run queue","track":4,"value":2})") !=
        std::string::npos);
  for (const std::string& line : lines) CHECK_NOTHROW(json::parse(line));
}

TEST_CASE("JSON Lines renames arguments that would clash with a record's own keys", "[sim][trace]") {
  Trace trace(TraceCategory::kAll);
  const TrackId task = trace.task_track(1, 1, "a");
  trace.instant(kSyscall, task, 5, "open", {{"name", "/etc/passwd"}, {"track", 3}, {"flags", 0}});
  const json line = jsonl_lines(trace).back();
  CHECK(line.at("name") == "open");
  CHECK(line.at("track") == task);
  CHECK(line.at("arg_name") == "/etc/passwd");
  CHECK(line.at("arg_track") == 3);
  CHECK(line.at("flags") == 0);
}

TEST_CASE("two identical recordings give byte-identical output from both writers", "[sim][trace]") {
  const auto record = [](Trace& trace) {
    record_sample(trace);
    const TrackId frames = trace.counter_track("free frames");
    for (int i = 0; i < 10'000; ++i) {  // enough to pass several output blocks
      trace.counter(kCounter, frames, static_cast<Tick>(i) * 1'234'567, std::int64_t{100'000 - i});
      trace.instant(kSyscall, trace.task_track(1, 1, "sh"), static_cast<Tick>(i) * 999, "getpid",
                    {{"result", 1}});
    }
  };
  Trace first(TraceCategory::kAll);
  Trace second(TraceCategory::kAll);
  record(first);
  record(second);
  const std::string chrome = chrome_text(first);
  CHECK(chrome == chrome_text(second));
  CHECK(jsonl_text(first) == jsonl_text(second));
  CHECK(json::parse(chrome).at("traceEvents").size() > 20'000);
}
