// Scenario loading: defaults, strict sections with messages naming the key path, --set
// overrides, cost presets, and the effective configuration written back.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ossim/scenario/scenario.hpp"

namespace {

using namespace ossim;
using scenario::Scenario;
using scenario::ScenarioError;
using nlohmann::json;

// Parses `text` (a scenario document) with the overrides.
Scenario load(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return scenario::load_scenario_text(text, "test.json", overrides);
}

// The message of the ScenarioError that loading throws ("" if it loads).
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    load(text, overrides);
  } catch (const ScenarioError& error) {
    return error.what();
  }
  return "";
}

constexpr const char* kMinimal = R"({"schema_version": 1})";

// `kMinimal` with one --set: the quickest way to put one bad value in one place.
std::string error_with(const std::string& assignment) { return error_of(kMinimal, {assignment}); }

}  // namespace

TEST_CASE("a document with only schema_version loads with every default", "[scenario]") {
  const Scenario s = load(kMinimal);
  CHECK(s.machine.cpus == 2);
  CHECK(s.machine.memory_bytes == std::uint64_t{256} << 20);
  CHECK(s.machine.cpu.frequency_hz == 3'000'000'000);
  CHECK(s.machine.cpu.sync_quantum == sim::kMicrosecond);
  CHECK(s.machine.cpu.mmu.stlb.has_value());
  CHECK(s.kernel.hz == 1000);
  CHECK(s.kernel.scheduler.policy == "rr");
  CHECK(s.kernel.scheduler.quantum == 10 * sim::kMillisecond);
  CHECK(s.kernel.pcid);
  CHECK(s.kernel.costs.context_switch == kernel::CostModel{}.context_switch);
  CHECK(s.workloads.empty());
  CHECK(s.run.seed == 1);
  CHECK(s.run.end == sim::kTickNever);  // until every workload task has finished
  CHECK(s.outputs.trace);
  CHECK(s.outputs.categories == sim::TraceCategory::kAll);
  CHECK(s.source == "test.json");
}

TEST_CASE("the built-in default scenario loads and uses every canned workload", "[scenario]") {
  const Scenario s = scenario::load_default_scenario();
  CHECK(s.source == "builtin:default");
  CHECK(s.machine.cpus == 2);
  std::vector<std::string> names;
  for (const auto& entry : s.workloads) names.push_back(entry.name);
  for (const char* name : {"cpu_hog", "interactive", "fork_tree", "shell_pipeline", "memory_toucher", "sleep_loop"}) {
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  }
}

TEST_CASE("schema_version is required and must be 1", "[scenario]") {
  CHECK(error_of("{}") == "schema_version: required key is missing");
  CHECK(error_of(R"({"schema_version": 2})") == "schema_version: this ossim reads schema version 1, got 2");
}

TEST_CASE("a file that is not JSON is rejected with its name and the position", "[scenario]") {
  const std::string message = error_of(R"({"schema_version": 1,)");
  CHECK(message.starts_with("test.json: not valid JSON"));
  CHECK(message.find("line 1") != std::string::npos);
}

TEST_CASE("unknown keys are rejected at every level, naming the path and the known keys", "[scenario]") {
  CHECK(error_with("machin={}").starts_with("unknown key 'machin' (known keys: schema_version, description,"));
  CHECK(error_with("machine.cpuz=4") ==
        "unknown key 'machine.cpuz' (known keys: cpus, memory, cpu_frequency_hz, sync_quantum, tlb, disks, timing)");
  CHECK(error_with("machine.tlb.l3={}").starts_with("unknown key 'machine.tlb.l3'"));
  CHECK(error_with("kernel.quantum=5").starts_with("unknown key 'kernel.quantum'"));
  CHECK(error_with("run.stop=5").starts_with("unknown key 'run.stop'"));
  CHECK(error_with("outputs.format=csv").starts_with("unknown key 'outputs.format'"));
  CHECK(error_with(R"(workloads=[{"name": "cpu_hog", "arival_ms": 3}])")
            .starts_with("unknown key 'workloads[0].arival_ms'"));
}

TEST_CASE("bad machine values name their key path", "[scenario][machine]") {
  CHECK(error_with("machine.cpus=two") == "machine.cpus: expected an integer from 1 to 256, got \"two\"");
  CHECK(error_with("machine.cpus=0") == "machine.cpus: expected an integer from 1 to 256, got 0");
  CHECK(error_with("machine.memory=1GB") == "machine.memory: bad size \"1GB\" (use B, KiB, MiB, GiB or TiB)");
  CHECK(error_with("machine.memory=1MiB") == "machine.memory: expected from 4MiB to 64GiB, got 1MiB");
  CHECK(error_with("machine.memory=4194305") == "machine.memory: must be a whole number of 4 KiB pages");
  CHECK(error_with("machine.cpu_frequency_hz=3GHz").starts_with("machine.cpu_frequency_hz: expected an integer"));
  CHECK(error_with("machine.sync_quantum=-1us").starts_with("machine.sync_quantum: bad duration"));
  CHECK(error_with("machine.tlb.dtlb.ways=3") ==
        "machine.tlb.dtlb.ways: entries / ways must be a power of two (the number of sets), got 64 / 3");
  CHECK(error_with("machine.tlb.itlb.replacement=plru") ==
        "machine.tlb.itlb.replacement: expected one of \"lru\", \"fifo\", \"random\", got \"plru\"");
}

TEST_CASE("machine values and TLB geometry are read, and the second-level TLB can be removed", "[scenario][machine]") {
  const Scenario s = load(kMinimal, {"machine.cpus=4", "machine.memory=1GiB", "machine.cpu_frequency_hz=2000000000",
                                     "machine.tlb.dtlb.entries=32", "machine.tlb.dtlb.ways=2",
                                     "machine.tlb.dtlb.replacement=fifo", "machine.tlb.stlb=false"});
  CHECK(s.machine.cpus == 4);
  CHECK(s.machine.memory_bytes == std::uint64_t{1} << 30);
  CHECK(s.machine.cpu.frequency_hz == 2'000'000'000);
  CHECK(s.machine.cpu.mmu.dtlb.entries == 32);
  CHECK(s.machine.cpu.mmu.dtlb.ways == 2);
  CHECK(s.machine.cpu.mmu.dtlb.replacement == mmu::TlbReplacement::kFifo);
  CHECK_FALSE(s.machine.cpu.mmu.stlb.has_value());
}

TEST_CASE("kernel.memory.transparent_hugepages is read, defaults to madvise, and a bad value names its key",
          "[scenario][kernel][thp]") {
  CHECK(load(kMinimal).kernel.memory.transparent_hugepages == kernel::TransparentHugepages::kMadvise);
  CHECK(load(kMinimal, {"kernel.memory.transparent_hugepages=always"}).kernel.memory.transparent_hugepages ==
        kernel::TransparentHugepages::kAlways);
  CHECK(load(kMinimal, {"kernel.memory.transparent_hugepages=never"}).kernel.memory.transparent_hugepages ==
        kernel::TransparentHugepages::kNever);
  CHECK(error_with("kernel.memory.transparent_hugepages=sometimes")
            .starts_with("kernel.memory.transparent_hugepages: expected one of"));
  CHECK(error_with("kernel.memory.transparent_hugepages=sometimes").ends_with("got \"sometimes\""));
  CHECK(error_with("kernel.memory.thp=always").starts_with("unknown key 'kernel.memory.thp'"));
}

TEST_CASE("bad kernel values name their key path", "[scenario][kernel]") {
  CHECK(error_with("kernel.hz=0") == "kernel.hz: expected an integer from 1 to 100000, got 0");
  CHECK(error_with("kernel.scheduler=bfs").starts_with("kernel.scheduler: expected one of \""));
  CHECK(error_with("kernel.scheduler=bfs").ends_with("got \"bfs\""));
  CHECK(error_with("kernel.scheduler.policy=bfs").starts_with("kernel.scheduler.policy: expected one of"));
  CHECK(error_with("kernel.scheduler.quantum_ms=10 parsecs") ==
        "kernel.scheduler.quantum_ms: bad duration \"10 parsecs\" (use ps, ns, us, ms or s)");
  CHECK(error_with("kernel.scheduler.quantum_ms=0") == "kernel.scheduler.quantum_ms: must be positive");
  CHECK(error_with("kernel.scheduler.fair=rt_fifo").starts_with("kernel.scheduler.fair: expected one of"));
  CHECK(error_with("kernel.scheduler.quanta=1").starts_with("unknown key 'kernel.scheduler.quanta'"));
  CHECK(error_with("kernel.pcid=yes") == "kernel.pcid: expected true or false, got \"yes\"");
  CHECK(error_with("kernel.costs=cheap") ==
        "kernel.costs: expected \"default\", \"ideal\" or an object of durations, got \"cheap\"");
  CHECK(error_with("kernel.costs.forks=1us").starts_with("unknown key 'kernel.costs.forks' (known keys: syscall_entry,"));
  CHECK(error_with("kernel.costs.fork=soon").starts_with("kernel.costs.fork: bad duration \"soon\""));
}

TEST_CASE("kernel.scheduler chooses the policy by name or in an object", "[scenario][kernel]") {
  CHECK(load(kMinimal, {"kernel.scheduler=rr"}).kernel.scheduler.policy == "rr");
  CHECK(load(kMinimal, {"kernel.scheduler=cfs"}).kernel.scheduler.policy == "cfs");
  const Scenario s = load(kMinimal, {"kernel.scheduler.policy=rr", "kernel.scheduler.quantum_ms=2.5"});
  CHECK(s.kernel.scheduler.policy == "rr");
  CHECK(s.kernel.scheduler.quantum == 2500 * sim::kMicrosecond);
}

TEST_CASE("MLFQ's per-level lists have one value per level", "[scenario][kernel]") {
  const Scenario s = load(kMinimal, {"kernel.scheduler.levels=3", "kernel.scheduler.quantum_ms=[1, 2, 4]",
                                     "kernel.scheduler.allotment_ms=[2, 4, 8]", "kernel.scheduler.boost_ms=50"});
  CHECK(s.kernel.scheduler.mlfq.levels == 3);
  CHECK(s.kernel.scheduler.mlfq.quantum ==
        std::vector<sim::Tick>{1 * sim::kMillisecond, 2 * sim::kMillisecond, 4 * sim::kMillisecond});
  CHECK(s.kernel.scheduler.mlfq.allotment ==
        std::vector<sim::Tick>{2 * sim::kMillisecond, 4 * sim::kMillisecond, 8 * sim::kMillisecond});
  CHECK(s.kernel.scheduler.mlfq.boost == 50 * sim::kMillisecond);
  // A single value is every level's.
  const Scenario one = load(kMinimal, {"kernel.scheduler.levels=2", "kernel.scheduler.quantum_ms=3"});
  CHECK(one.kernel.scheduler.mlfq.quantum == std::vector<sim::Tick>{3 * sim::kMillisecond, 3 * sim::kMillisecond});
  CHECK(error_with("kernel.scheduler.quantum_ms=[1, 2]") ==
        "kernel.scheduler.quantum_ms: expected 3 values (one per level, highest priority first), got 2");
  CHECK(error_with("kernel.scheduler.allotment_ms=[1, \"x\", 3]").starts_with("kernel.scheduler.allotment_ms[1]: bad duration"));
}

TEST_CASE("kernel costs: default, ideal, or an object whose missing fields keep the defaults", "[scenario][kernel]") {
  const kernel::CostModel defaults;
  const kernel::CostModel ideal = load(kMinimal, {"kernel.costs=ideal"}).kernel.costs;
  CHECK(ideal.syscall_entry == 0);
  CHECK(ideal.context_switch == 0);
  CHECK(ideal.fork == 0);
  const kernel::CostModel preset = load(kMinimal, {"kernel.costs=default"}).kernel.costs;
  CHECK(preset.context_switch == defaults.context_switch);
  CHECK(preset.exec == defaults.exec);
  const kernel::CostModel custom =
      load(kMinimal, {R"(kernel.costs={"context_switch": "5us", "page_fault": 1500})"}).kernel.costs;
  CHECK(custom.context_switch == 5 * sim::kMicrosecond);
  CHECK(custom.page_fault == 1500 * sim::kNanosecond);  // bare numbers are nanoseconds
  CHECK(custom.fork == defaults.fork);
  CHECK(custom.syscall_entry == defaults.syscall_entry);
}

TEST_CASE("workload entries: count, arrival_ms and params, defaults filled in", "[scenario][workloads]") {
  const Scenario s = load(R"({"schema_version": 1, "workloads": [
      {"name": "cpu_hog"},
      {"name": "fork_tree", "count": 3, "arrival_ms": 5, "params": {"depth": 2}},
      {"name": "interactive", "arrival_ms": "1.5ms"}]})");
  REQUIRE(s.workloads.size() == 3);
  CHECK(s.workloads[0].count == 1);
  CHECK(s.workloads[0].arrival == 0);
  CHECK(s.workloads[0].params == json({{"duration", "200ms"}, {"chunk_cycles", 1000000}}));
  CHECK(s.workloads[1].count == 3);
  CHECK(s.workloads[1].arrival == 5 * sim::kMillisecond);
  CHECK(s.workloads[1].params == json({{"depth", 2}, {"fanout", 2}, {"work_cycles", 100000}}));
  CHECK(s.workloads[2].arrival == 1500 * sim::kMicrosecond);
}

TEST_CASE("bad workload entries name their key path", "[scenario][workloads]") {
  CHECK(error_with(R"(workloads=[{"count": 1}])") == "workloads[0].name: required key is missing");
  CHECK(error_with(R"(workloads=[{"name": "cpu_hog"}, {"name": "bogus"}])") ==
        "workloads[1].name: unknown workload \"bogus\" (known: cpu_hog, interactive, fork_tree, shell_pipeline, "
        "memory_toucher, tlb_reach, sleep_loop, job, periodic, rtapp, page_refs, thrash, mmap_reader, taskset)");
  CHECK(error_with(R"(workloads=[{"name": "cpu_hog", "count": -1}])") ==
        "workloads[0].count: expected an integer from 0 to 100000, got -1");
  CHECK(error_with(R"(workloads=[{"name": "cpu_hog", "arrival_ms": "soon"}])")
            .starts_with("workloads[0].arrival_ms: bad duration"));
  CHECK(error_with(R"(workloads=[{"name": "cpu_hog", "params": 3}])") ==
        "workloads[0].params: expected an object, got 3");
  CHECK(error_with("workloads={}") == "workloads: expected an array of objects, got {}");
}

TEST_CASE("workload params are read strictly, naming workloads[i].params.key", "[scenario][workloads]") {
  const auto entry = [](const std::string& name, const std::string& params) {
    return R"(workloads=[{"name": ")" + name + R"(", "params": )" + params + "}]";
  };
  CHECK(error_with(entry("fork_tree", R"({"depth": 40})")) ==
        "workloads[0].params.depth: expected an integer from 0 to 12, got 40");
  CHECK(error_with(entry("fork_tree", R"({"depth": 12, "fanout": 4})")) ==
        "workloads[0].params.depth: a tree of depth 12 and fanout 4 has more than 4096 processes");
  CHECK(error_with(entry("cpu_hog", R"({"cycles": 5, "duration": "1ms"})")) ==
        "workloads[0].params.duration: give cycles or duration, not both");
  CHECK(error_with(entry("cpu_hog", R"({"depth": 2})")) ==
        "unknown key 'workloads[0].params.depth' (known keys: cycles, duration, chunk_cycles)");
  CHECK(error_with(entry("memory_toucher", R"({"pattern": "zigzag"})")) ==
        "workloads[0].params.pattern: expected one of \"sequential\", \"strided\", \"random\", got \"zigzag\"");
  CHECK(error_with(entry("memory_toucher", R"({"pages": 1000000})")) ==
        "workloads[0].params.pages: 1000000 pages (4000000KiB) do not fit in the machine's memory (256MiB)");
  CHECK(error_with(entry("interactive", R"({"sleep_us": "a while"})")).starts_with("workloads[0].params.sleep_us: "));
  CHECK(error_with(entry("sleep_loop", R"({"iterations": -2})")).starts_with("workloads[0].params.iterations: "));
  CHECK(error_with(entry("shell_pipeline", R"({"read_bytes": 0})")) ==
        "workloads[0].params.read_bytes: expected an integer from 1 to 4096, got 0");
}

TEST_CASE("bad run and outputs values name their key path", "[scenario]") {
  CHECK(error_with("run.seed=-1").starts_with("run.seed: expected an integer"));
  CHECK(error_with("run.end=0s") == "run.end: must be positive");
  CHECK(error_with("outputs.trace=yes") == "outputs.trace: expected true or false, got \"yes\"");
  CHECK(error_with("outputs.categories=sched,bogus").starts_with("outputs.categories: unknown trace category 'bogus'"));
  CHECK(error_with("outputs.categories=[1]") == "outputs.categories: expected category names, got 1");
}

TEST_CASE("trace categories: all, a comma string, or a list", "[scenario]") {
  using sim::TraceCategory;
  CHECK(load(kMinimal, {"outputs.categories=all"}).outputs.categories == TraceCategory::kAll);
  CHECK(load(kMinimal, {"outputs.categories=sched,task"}).outputs.categories ==
        (TraceCategory::kSched | TraceCategory::kTask));
  CHECK(load(kMinimal, {R"(outputs.categories=["syscall", "fault"])"}).outputs.categories ==
        (TraceCategory::kSyscall | TraceCategory::kFault));
}

TEST_CASE("command-line overrides apply before validation and in order", "[scenario]") {
  const Scenario s = scenario::load_default_scenario({"machine.cpus=4", "run.seed=9", "workloads.0.count=5",
                                                     "workloads[1].params.bursts=3", "run.seed=11"});
  CHECK(s.machine.cpus == 4);
  CHECK(s.run.seed == 11);
  CHECK(s.workloads[0].count == 5);
  CHECK(s.workloads[1].params["bursts"] == 3);
  CHECK(s.overrides.size() == 5);
  CHECK(error_of(kMinimal, {"machine.cpus=300"}) == "machine.cpus: expected an integer from 1 to 256, got 300");
  CHECK(error_of(kMinimal, {"machine"}).starts_with("--set machine: expected key.path=value"));
}

TEST_CASE("the effective configuration reloads to the same scenario", "[scenario]") {
  const Scenario original = scenario::load_default_scenario(
      {R"(kernel.costs={"fork": "45us"})", "machine.tlb.stlb=false", "outputs.categories=sched,flow", "run.end=2.5s",
       R"(workloads[2].arrival_ms="1.25ms")"});
  const nlohmann::ordered_json written = scenario::to_json(original);
  const Scenario reloaded = scenario::load_scenario_text(written.dump(), "effective");
  CHECK(scenario::to_json(reloaded) == written);
  CHECK(reloaded.kernel.costs.fork == 45 * sim::kMicrosecond);
  CHECK_FALSE(reloaded.machine.cpu.mmu.stlb.has_value());
  CHECK(reloaded.outputs.categories == (sim::TraceCategory::kSched | sim::TraceCategory::kFlow));
  CHECK(reloaded.run.end == 2500 * sim::kMillisecond);
  CHECK(reloaded.workloads[2].arrival == 1250 * sim::kMicrosecond);
  CHECK(written["kernel"]["costs"]["fork"] == "45us");
  CHECK(written["workloads"][2]["arrival_ms"] == "1250us");
}
