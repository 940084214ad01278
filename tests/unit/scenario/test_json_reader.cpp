// JsonReader: strict reading of scenario objects, with messages naming the key path.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/json_reader.hpp"

namespace {

using namespace ossim;
using scenario::JsonReader;
using scenario::ScenarioError;
using nlohmann::json;

// The message of the ScenarioError that `action` throws ("" if it throws none).
template <class F>
std::string error_of(F&& action) {
  try {
    action();
  } catch (const ScenarioError& error) {
    return error.what();
  }
  return "";
}

enum class Policy { kFifo, kRoundRobin, kCfs };

}  // namespace

TEST_CASE("getters return the value when present and the default when absent or null", "[scenario][json_reader]") {
  const json document = json::parse(R"({"cpus": 4, "name": "demo", "trace": true, "ratio": 0.25, "gone": null})");
  JsonReader reader(document);
  CHECK(reader.get<std::uint64_t>("cpus", 1) == 4);
  CHECK(reader.get<std::string>("name", "x") == "demo");
  CHECK(reader.get("trace", false) == true);
  CHECK(reader.get("ratio", 1.0) == 0.25);
  CHECK(reader.get("gone", 7) == 7);
  CHECK(reader.get("absent", -3) == -3);
  CHECK_NOTHROW(reader.finish());
}

TEST_CASE("required keys must be present", "[scenario][json_reader]") {
  const json document = json::parse(R"({"machine": {"cpus": 2, "memory": null}})");
  JsonReader root(document);
  JsonReader machine = root.object("machine");
  CHECK(machine.require<int>("cpus") == 2);
  CHECK(error_of([&] { machine.require<int>("memory"); }) == "machine.memory: required key is missing");
  CHECK(error_of([&] { machine.require<std::string>("model"); }) == "machine.model: required key is missing");
  CHECK(error_of([&] { root.require_object("run"); }) == "run: required key is missing");
}

TEST_CASE("range-checked integers name the range and what was found", "[scenario][json_reader]") {
  const json document = json::parse(R"({"machine": {"a": "two", "b": 0, "c": 257, "d": 2.5, "e": 8, "f": 3.0}})");
  JsonReader machine = JsonReader(document).object("machine");
  CHECK(error_of([&] { machine.get_in_range("a", 1, 256, 2); }) ==
        R"(machine.a: expected an integer from 1 to 256, got "two")");
  CHECK(error_of([&] { machine.get_in_range("b", 1, 256, 2); }) == "machine.b: expected an integer from 1 to 256, got 0");
  CHECK(error_of([&] { machine.get_in_range("c", 1, 256, 2); }) ==
        "machine.c: expected an integer from 1 to 256, got 257");
  CHECK(error_of([&] { machine.get_in_range("d", 1, 256, 2); }) ==
        "machine.d: expected an integer from 1 to 256, got 2.5");
  CHECK(machine.get_in_range("e", 1, 256, 2) == 8);
  CHECK(machine.get_in_range<unsigned>("f", 1, 256, 2) == 3);  // a whole double is an integer
  CHECK(machine.require_in_range<int>("e", 8, 8) == 8);
}

TEST_CASE("integers are checked against their type: sign, width and 64-bit overflow", "[scenario][json_reader]") {
  const json document = json::parse(R"({
    "negative": -5, "big": 5000000000, "huge": 18446744073709551615, "beyond": 18446744073709551616,
    "text": "12", "flag": true, "float": 1e300, "min": -9223372036854775808
  })");
  JsonReader reader(document);
  CHECK(error_of([&] { reader.get<std::uint64_t>("negative", 0); }) == "negative: expected an integer >= 0, got -5");
  CHECK(error_of([&] { reader.get<unsigned>("negative", 0); }) ==
        "negative: expected an integer from 0 to 4294967295, got -5");
  CHECK(reader.get<std::int64_t>("negative", 0) == -5);
  CHECK(error_of([&] { reader.get<std::uint32_t>("big", 0); }) ==
        "big: expected an integer from 0 to 4294967295, got 5000000000");
  CHECK(error_of([&] { reader.get<int>("big", 0); }) ==
        "big: expected an integer from -2147483648 to 2147483647, got 5000000000");
  CHECK(reader.get<std::uint64_t>("huge", 0) == 18446744073709551615ull);
  CHECK(error_of([&] { reader.get<std::int64_t>("huge", 0); }) ==
        "huge: expected an integer, got 18446744073709551615");
  CHECK(error_of([&] { reader.get<std::uint64_t>("beyond", 0); }).starts_with("beyond: expected an integer >= 0, got "));
  CHECK(error_of([&] { reader.get<int>("text", 0); }) ==
        R"(text: expected an integer from -2147483648 to 2147483647, got "12")");
  CHECK(error_of([&] { reader.get<std::int64_t>("flag", 0); }) == "flag: expected an integer, got true");
  CHECK(error_of([&] { reader.get<std::int64_t>("float", 0); }) == "float: expected an integer, got 1e+300");
  CHECK(reader.get<std::int64_t>("min", 0) == std::numeric_limits<std::int64_t>::min());
  CHECK(error_of([&] { reader.get_in_range<std::int64_t>("negative", 0, std::numeric_limits<std::int64_t>::max(), 1); }) ==
        "negative: expected an integer >= 0, got -5");
  CHECK(error_of([&] { reader.get_in_range<std::int64_t>("big", std::numeric_limits<std::int64_t>::min(), 10, 1); }) ==
        "big: expected an integer <= 10, got 5000000000");
}

TEST_CASE("numbers, booleans and strings reject the wrong JSON type", "[scenario][json_reader]") {
  const json document = json::parse(R"({"workloads": [{}, {"arrival_ms": -5, "name": 3, "on": "yes", "rate": "fast"}]})");
  JsonReader root(document);
  auto workloads = root.objects("workloads");
  REQUIRE(workloads.size() == 2);
  JsonReader& second = workloads[1];
  CHECK(error_of([&] { second.get_in_range("arrival_ms", 0.0, std::numeric_limits<double>::infinity(), 0.0); }) ==
        "workloads[1].arrival_ms: expected a number >= 0, got -5");
  CHECK(error_of([&] { second.get<std::string>("name", ""); }) == "workloads[1].name: expected a string, got 3");
  CHECK(error_of([&] { second.get("on", false); }) == R"(workloads[1].on: expected true or false, got "yes")");
  CHECK(error_of([&] { second.get("rate", 1.0); }) == R"(workloads[1].rate: expected a number, got "fast")");
  CHECK(error_of([&] { second.get_in_range("arrival_ms", 0.0, 1.0, 0.0); }) ==
        "workloads[1].arrival_ms: expected a number from 0 to 1, got -5");
  CHECK(error_of([&] { second.get_in_range("arrival_ms", -std::numeric_limits<double>::infinity(), -10.0, 0.0); }) ==
        "workloads[1].arrival_ms: expected a number <= -10, got -5");
}

TEST_CASE("long values are shortened in messages", "[scenario][json_reader]") {
  const json document = {{"name", std::string(200, 'x')}};
  JsonReader reader(document);
  const std::string message = error_of([&] { reader.get("name", 0); });
  CHECK(message.size() < 140);
  CHECK(message.ends_with("..."));
}

TEST_CASE("enumerations accept only the listed names", "[scenario][json_reader]") {
  const json document = json::parse(R"({"kernel": {"scheduler": "fcfs", "policy": "rr", "other": 3}})");
  JsonReader kernel = JsonReader(document).object("kernel");
  CHECK(error_of([&] { kernel.get_choice("scheduler", {"fifo", "rr", "cfs"}, "cfs"); }) ==
        R"(kernel.scheduler: expected one of "fifo", "rr", "cfs", got "fcfs")");
  CHECK(kernel.get_enum("policy", {{"fifo", Policy::kFifo}, {"rr", Policy::kRoundRobin}, {"cfs", Policy::kCfs}},
                        Policy::kCfs) == Policy::kRoundRobin);
  CHECK(kernel.get_enum("absent", {{"fifo", Policy::kFifo}, {"cfs", Policy::kCfs}}, Policy::kCfs) == Policy::kCfs);
  CHECK(kernel.require_choice("policy", {"fifo", "rr"}) == "rr");
  CHECK(kernel.get_choice("absent", {"fifo", "rr"}, "fifo") == "fifo");
  CHECK(error_of([&] { kernel.require_enum<Policy>("other", {{"fifo", Policy::kFifo}}); }) ==
        R"(kernel.other: expected one of "fifo", got 3)");
}

TEST_CASE("durations with units convert to ticks exactly", "[scenario][json_reader]") {
  using namespace ossim::sim;
  const auto parse = [](std::string_view text) { return scenario::parse_duration(text, "run.end"); };
  CHECK(parse("10ms") == 10 * kMillisecond);
  CHECK(parse("2us") == 2 * kMicrosecond);
  CHECK(parse("2\xC2\xB5s") == 2 * kMicrosecond);
  CHECK(parse("1.5s") == 1'500 * kMillisecond);
  CHECK(parse("500ns") == 500 * kNanosecond);
  CHECK(parse("250ps") == 250);
  CHECK(parse("10 ms") == 10 * kMillisecond);
  CHECK(parse("0.1s") == 100'000'000'000ull);  // no floating-point drift
  CHECK(parse("0.000000000001s") == 1);
  CHECK(parse(".5us") == 500 * kNanosecond);
  CHECK(parse("0s") == 0);
  CHECK(parse("007ms") == 7 * kMillisecond);
  CHECK(parse("1e3ms") == kSecond);
  CHECK(parse("18446744.073709551615s") == kTickNever);
  CHECK(error_of([&] { parse("10 parsecs"); }) == R"(run.end: bad duration "10 parsecs" (use ps, ns, us, ms or s))");
  CHECK(error_of([&] { parse("10"); }) == R"(run.end: bad duration "10" (use ps, ns, us, ms or s))");
  CHECK(error_of([&] { parse("ms"); }) == R"(run.end: bad duration "ms" (use ps, ns, us, ms or s))");
  CHECK(error_of([&] { parse(""); }) == R"(run.end: bad duration "" (use ps, ns, us, ms or s))");
  CHECK(error_of([&] { parse("1.2.3s"); }) == R"(run.end: bad duration "1.2.3s" (use ps, ns, us, ms or s))");
  CHECK(error_of([&] { parse("-5ms"); }) == R"(run.end: bad duration "-5ms" (must not be negative))");
  CHECK(error_of([&] { parse("0.5ps"); }) == R"(run.end: bad duration "0.5ps" (not a whole number of picoseconds))");
  CHECK(error_of([&] { parse("18446744.073709551616s"); }) ==
        R"(run.end: bad duration "18446744.073709551616s" (more than 2^64-1 ps, about 213 days))");
  CHECK(error_of([&] { parse("300days"); }).starts_with("run.end: bad duration"));
}

TEST_CASE("duration keys take strings with units or numbers in the documented unit", "[scenario][json_reader]") {
  using namespace ossim::sim;
  const json document = json::parse(
      R"({"run": {"end": "10ms", "slice": 3, "tick": 1.5, "half": 0.5, "bad": "10 parsecs", "neg": -5,
                  "obj": {}, "tiny": 0.0001}})");
  JsonReader run = JsonReader(document).object("run");
  CHECK(run.get_duration("end", 0) == 10 * kMillisecond);
  CHECK(run.get_duration("slice", 0) == 3 * kNanosecond);
  CHECK(run.get_duration("slice", 0, kMillisecond) == 3 * kMillisecond);
  CHECK(run.get_duration("tick", 0, kMicrosecond) == 1'500 * kNanosecond);
  CHECK(run.get_duration("half", 0) == 500);
  CHECK(run.get_duration("absent", 42) == 42);
  CHECK(run.require_duration("end") == 10 * kMillisecond);
  CHECK(error_of([&] { run.get_duration("bad", 0); }) == R"(run.bad: bad duration "10 parsecs" (use ps, ns, us, ms or s))");
  CHECK(error_of([&] { run.get_duration("neg", 0); }) == "run.neg: expected a duration >= 0, got -5");
  CHECK(error_of([&] { run.get_duration("obj", 0); }) ==
        R"(run.obj: expected a duration (a string such as "10ms", or a number of ns), got {})");
  CHECK(error_of([&] { run.get_duration("tiny", 0); }) ==
        "run.tiny: bad duration 0.0001 ns (not a whole number of picoseconds)");
  CHECK(error_of([&] { run.require_duration("missing"); }) == "run.missing: required key is missing");
}

TEST_CASE("byte sizes take binary units or a number of bytes", "[scenario][json_reader]") {
  const auto parse = [](std::string_view text) { return scenario::parse_bytes(text, "machine.memory"); };
  CHECK(parse("256MiB") == 256ull << 20);
  CHECK(parse("4KiB") == 4096);
  CHECK(parse("1GiB") == 1ull << 30);
  CHECK(parse("2TiB") == 2ull << 40);
  CHECK(parse("512B") == 512);
  CHECK(parse("4096") == 4096);
  CHECK(parse("1.5GiB") == 3ull << 29);
  CHECK(parse("18446744073709551615B") == 18446744073709551615ull);
  CHECK(error_of([&] { parse("4KB"); }) == R"(machine.memory: bad size "4KB" (use B, KiB, MiB, GiB or TiB))");
  CHECK(error_of([&] { parse("0.1KiB"); }) == R"(machine.memory: bad size "0.1KiB" (not a whole number of bytes))");
  CHECK(error_of([&] { parse("-1MiB"); }) == R"(machine.memory: bad size "-1MiB" (must not be negative))");
  CHECK(error_of([&] { parse("16777216TiB"); }) ==
        R"(machine.memory: bad size "16777216TiB" (more than 2^64-1 bytes))");

  const json document = json::parse(R"({"memory": "64MiB", "bytes": 4096, "neg": -1, "half": 0.5, "flag": false})");
  JsonReader reader(document);
  CHECK(reader.get_bytes("memory", 0) == 64ull << 20);
  CHECK(reader.require_bytes("bytes") == 4096);
  CHECK(reader.get_bytes("absent", 7) == 7);
  CHECK(error_of([&] { reader.get_bytes("neg", 0); }) == "neg: expected a size >= 0, got -1");
  CHECK(error_of([&] { reader.get_bytes("half", 0); }) == "half: expected a whole number of bytes, got 0.5");
  CHECK(error_of([&] { reader.get_bytes("flag", 0); }) ==
        R"(flag: expected a size (a string such as "256MiB", or a number of bytes), got false)");
}

TEST_CASE("finish() rejects keys that no getter named, listing the known ones", "[scenario][json_reader]") {
  const json document = json::parse(R"({"machine": {"cpus": 2, "cpuz": 4, "memory": "1GiB"}})");
  JsonReader root(document);
  JsonReader machine = root.object("machine");
  machine.get("cpus", 1);
  machine.get_bytes("memory", 0);
  machine.get("numa", false);  // known though absent
  CHECK(error_of([&] { machine.finish(); }) == "unknown key 'machine.cpuz' (known keys: cpus, memory, numa)");
  CHECK_NOTHROW(root.finish());

  const json top = json::parse(R"({"machin": {}})");
  JsonReader top_reader(top);
  top_reader.object("machine");
  top_reader.has("run");
  CHECK(error_of([&] { top_reader.finish(); }) == "unknown key 'machin' (known keys: machine, run)");

  const json empty_rules = json::parse(R"({"x": 1})");
  CHECK(error_of([&] { JsonReader(empty_rules).finish(); }) == "unknown key 'x' (this object takes no keys)");
}

TEST_CASE("ignore() and raw() make a key known", "[scenario][json_reader]") {
  const json document = json::parse(R"({"comment": "hi", "categories": ["sched"], "version": 1})");
  JsonReader reader(document);
  reader.ignore("comment");
  const json* categories = reader.raw("categories");
  REQUIRE(categories != nullptr);
  CHECK(categories->is_array());
  CHECK(reader.raw("absent") == nullptr);
  CHECK(reader.has("version"));
  CHECK_FALSE(reader.has("absent"));
  CHECK_NOTHROW(reader.finish());
}

TEST_CASE("nested objects and arrays of objects carry their paths", "[scenario][json_reader]") {
  const json document = json::parse(R"({
    "workloads": [{"count": 1}, {"count": 2}, {"count": "many", "extra": 1}],
    "run": {"outputs": {"trace": 5}},
    "bad_list": {"a": 1},
    "bad_item": [{}, 3]
  })");
  JsonReader root(document);
  std::vector<std::uint64_t> counts;
  auto workloads = root.objects("workloads");
  REQUIRE(workloads.size() == 3);
  CHECK(workloads[2].path() == "workloads[2]");
  for (std::size_t i = 0; i < 2; ++i) counts.push_back(workloads[i].get<std::uint64_t>("count", 0));
  CHECK(counts == std::vector<std::uint64_t>{1, 2});
  CHECK(error_of([&] { workloads[2].get<std::uint64_t>("count", 0); }) ==
        R"(workloads[2].count: expected an integer >= 0, got "many")");
  CHECK(error_of([&] { workloads[2].finish(); }) == "unknown key 'workloads[2].extra' (known keys: count)");

  JsonReader outputs = root.object("run").object("outputs");
  CHECK(outputs.path() == "run.outputs");
  CHECK(error_of([&] { outputs.get("trace", false); }) == "run.outputs.trace: expected true or false, got 5");

  CHECK(error_of([&] { root.objects("bad_list"); }) == R"(bad_list: expected an array of objects, got {"a":1})");
  CHECK(error_of([&] { root.objects("bad_item"); }) == "bad_item[1]: expected an object, got 3");
  CHECK(root.objects("absent").empty());
  CHECK_NOTHROW(root.object("absent").finish());
  CHECK(error_of([&] { root.object("workloads"); }).starts_with("workloads: expected an object, got [{"));
}

TEST_CASE("the top level must be an object", "[scenario][json_reader]") {
  const json document = json::parse("[1, 2]");
  CHECK(error_of([&] { JsonReader reader(document); }) == "top level: expected an object, got [1,2]");
  const json named = 3;
  CHECK(error_of([&] { JsonReader reader(named, "scenario.json"); }) == "scenario.json: expected an object, got 3");
}

TEST_CASE("fail() throws at a key's path", "[scenario][json_reader]") {
  const json document = json::parse(R"({"outputs": {"categories": "sched,bogus"}})");
  JsonReader outputs = JsonReader(document).object("outputs");
  CHECK(error_of([&] { outputs.fail("categories", "unknown trace category 'bogus'"); }) ==
        "outputs.categories: unknown trace category 'bogus'");
  CHECK(outputs.key_path("x") == "outputs.x");
}

TEST_CASE("format_duration and format_bytes write the largest whole unit, and parse back exactly",
          "[scenario][json_reader]") {
  using scenario::format_bytes;
  using scenario::format_duration;
  CHECK(format_duration(0) == "0ms");
  CHECK(format_duration(10 * sim::kMillisecond) == "10ms");
  CHECK(format_duration(1500 * sim::kMicrosecond) == "1500us");
  CHECK(format_duration(2 * sim::kSecond) == "2s");
  CHECK(format_duration(1234567) == "1234567ps");
  CHECK(format_bytes(std::uint64_t{256} << 20) == "256MiB");
  CHECK(format_bytes(4097) == "4097B");
  CHECK(format_bytes(0) == "0B");
  for (const sim::Tick t : {sim::Tick{0}, sim::Tick{1}, 999 * sim::kNanosecond, 3 * sim::kSecond + 1, sim::kTickNever}) {
    CHECK(scenario::parse_duration(format_duration(t), "t") == t);
  }
  for (const std::uint64_t b : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{3} << 30, ~std::uint64_t{0}}) {
    CHECK(scenario::parse_bytes(format_bytes(b), "b") == b);
  }
}
