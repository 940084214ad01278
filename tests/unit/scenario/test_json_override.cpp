// apply_override: `--set key.path=value` edits of a scenario document.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/json_override.hpp"
#include "scenario/json_reader.hpp"

namespace {

using namespace ossim::scenario;
using nlohmann::json;

std::string error_of(json& document, std::string_view assignment) {
  try {
    apply_override(document, assignment);
  } catch (const ScenarioError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a value that parses as JSON is set as that JSON value", "[scenario][json_override]") {
  json document = json::object();
  apply_override(document, "machine.cpus=4");
  apply_override(document, "run.trace=true");
  apply_override(document, "run.ratio=0.5");
  apply_override(document, R"(kernel.scheduler="rr")");
  apply_override(document, R"(outputs={"trace": true, "jsonl": false})");
  apply_override(document, "run.list=[1,2]");
  apply_override(document, "run.nothing=null");
  CHECK(document == json::parse(R"({
    "machine": {"cpus": 4},
    "run": {"trace": true, "ratio": 0.5, "list": [1, 2], "nothing": null},
    "kernel": {"scheduler": "rr"},
    "outputs": {"trace": true, "jsonl": false}
  })"));
}

TEST_CASE("a value that does not parse as JSON is set as a string", "[scenario][json_override]") {
  json document = json::object();
  apply_override(document, "run.end=10ms");
  apply_override(document, "kernel.scheduler=cfs");
  apply_override(document, "run.empty=");
  apply_override(document, "run.expr=a=b");  // the first '=' separates
  apply_override(document, "run.two=1 2");
  CHECK(document.at("run").at("end") == "10ms");
  CHECK(document.at("kernel").at("scheduler") == "cfs");
  CHECK(document.at("run").at("empty") == "");
  CHECK(document.at("run").at("expr") == "a=b");
  CHECK(document.at("run").at("two") == "1 2");
}

TEST_CASE("existing values are replaced and their siblings kept", "[scenario][json_override]") {
  json document = json::parse(R"({"machine": {"cpus": 2, "memory": "1GiB"}})");
  apply_override(document, "machine.cpus=8");
  CHECK(document == json::parse(R"({"machine": {"cpus": 8, "memory": "1GiB"}})"));
}

TEST_CASE("array elements are addressed as name.0 or name[0]", "[scenario][json_override]") {
  json document = json::parse(R"({"workloads": [{"count": 1}, {"count": 2}]})");
  apply_override(document, "workloads.0.count=10");
  apply_override(document, "workloads[1].count=20");
  apply_override(document, "workloads[2].count=30");  // the index after the last appends
  CHECK(document == json::parse(R"({"workloads": [{"count": 10}, {"count": 20}, {"count": 30}]})"));

  json matrix = json::object();
  apply_override(matrix, "m[0][0]=1");
  apply_override(matrix, "m[0][1]=2");
  apply_override(matrix, "m.1=[3]");
  CHECK(matrix == json::parse(R"({"m": [[1, 2], [3]]})"));
}

TEST_CASE("overrides name the path that cannot be followed", "[scenario][json_override]") {
  json document = json::parse(R"({"machine": {"cpus": 2}, "workloads": [{"count": 1}], "kernel": {}})");
  const json before = document;
  CHECK(error_of(document, "machine.cpus.x=1") == "--set machine.cpus.x=1: machine.cpus is a number, not an object");
  CHECK(error_of(document, "workloads.5.count=1") ==
        "--set workloads.5.count=1: index 5 is past the end of workloads (1 elements)");
  CHECK(error_of(document, "workloads.first=1") ==
        "--set workloads.first=1: workloads is an array: use an index, as in workloads.0");
  CHECK(error_of(document, "kernel[0]=1") == "--set kernel[0]=1: kernel is an object, not an array");
  CHECK(error_of(document, "workloads[0].count[1]=1") ==
        "--set workloads[0].count[1]=1: workloads[0].count is a number, not an array");
  CHECK(error_of(document, "machine.cpus") == "--set machine.cpus: expected key.path=value");
  CHECK(error_of(document, "machine..cpus=1") == "--set machine..cpus=1: empty key in \"machine..cpus\"");
  CHECK(error_of(document, "=1") == "--set =1: empty key in \"\"");
  CHECK(error_of(document, ".a=1") == "--set .a=1: empty key in \".a\"");
  CHECK(error_of(document, "a.=1") == "--set a.=1: empty key in \"a.\"");
  CHECK(error_of(document, "w[x]=1") == "--set w[x]=1: bad array index in \"w[x]\" (use name[0] or name.0)");
  CHECK(error_of(document, "w[0=1") == "--set w[0=1: bad array index in \"w[0\" (use name[0] or name.0)");
  CHECK(error_of(document, "w[0]x=1") == "--set w[0]x=1: bad array index in \"w[0]x\" (use name[0] or name.0)");
  CHECK(document == before);  // a failed override changes nothing
}

TEST_CASE("a document that is not an object is named as such", "[scenario][json_override]") {
  json document = 3;
  CHECK(error_of(document, "a=1") == "--set a=1: the document is a number, not an object");
  json empty;  // null: becomes an object
  apply_override(empty, "a.b=1");
  CHECK(empty == json::parse(R"({"a": {"b": 1}})"));
}

TEST_CASE("overrides apply in order, later ones winning", "[scenario][json_override]") {
  json document = json::object();
  const std::vector<std::string> assignments{"machine.cpus=2", "machine.cpus=4", "run.end=1ms"};
  apply_overrides(document, assignments);
  CHECK(document == json::parse(R"({"machine": {"cpus": 4}, "run": {"end": "1ms"}})"));
}
