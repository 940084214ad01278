#include "json_override.hpp"

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "json_reader.hpp"

namespace ossim::scenario {

namespace {

using Json = nlohmann::json;

// One step of a key path: an object key, or an array index written in brackets. A key of
// digits may still be an index: that depends on what it is applied to.
struct Step {
  std::string key;
  std::optional<std::size_t> bracket_index;
};

std::optional<std::size_t> as_index(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

std::string where(const std::string& walked) { return walked.empty() ? "the document" : walked; }

std::string article_type(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::null: return "null";
    default: return "a number";
  }
}

class Override {
 public:
  explicit Override(std::string_view assignment) : assignment_(assignment) {}

  void apply(Json& document) {
    const std::size_t equals = assignment_.find('=');
    if (equals == std::string_view::npos) fail("expected key.path=value");
    const std::vector<Step> steps = parse_path(assignment_.substr(0, equals));
    const std::string value_text(assignment_.substr(equals + 1));
    Json value = Json::parse(value_text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = value_text;

    // Edit a copy, so that a failed override leaves the document as it was.
    Json edited = document;
    Json* node = &edited;
    std::string walked;  // the path so far, for messages
    for (const Step& step : steps) node = step.bracket_index ? &element(*node, walked, *step.bracket_index, step.key)
                                                             : &member(*node, walked, step.key);
    *node = std::move(value);
    document = std::move(edited);
  }

 private:
  [[noreturn]] void fail(std::string_view problem) const {
    throw ScenarioError(fmt::format("--set {}: {}", assignment_, problem));
  }

  std::vector<Step> parse_path(std::string_view path) const {
    std::vector<Step> steps;
    std::size_t i = 0;
    while (true) {
      const std::size_t end = path.find_first_of(".[", i);
      const std::string_view key = path.substr(i, end == std::string_view::npos ? path.npos : end - i);
      if (key.empty()) fail(fmt::format("empty key in \"{}\"", path));
      steps.push_back({std::string(key), std::nullopt});
      i = end;
      while (i != std::string_view::npos && path[i] == '[') {
        const std::size_t close = path.find(']', i);
        const auto index = close == std::string_view::npos ? std::nullopt : as_index(path.substr(i + 1, close - i - 1));
        if (!index) fail(fmt::format("bad array index in \"{}\" (use name[0] or name.0)", path));
        steps.push_back({std::string(path.substr(i, close - i + 1)), index});
        i = close + 1 == path.size() ? std::string_view::npos : close + 1;
      }
      if (i == std::string_view::npos) break;
      if (path[i] != '.') fail(fmt::format("bad array index in \"{}\" (use name[0] or name.0)", path));
      ++i;
    }
    return steps;
  }

  // The element `index` of `node` (an array, or null which becomes one); `index` equal to
  // the size appends.
  Json& element(Json& node, std::string& walked, std::size_t index, std::string_view step) {
    if (node.is_null()) node = Json::array();
    if (!node.is_array()) fail(fmt::format("{} is {}, not an array", where(walked), article_type(node)));
    if (index > node.size()) {
      fail(fmt::format("index {} is past the end of {} ({} elements)", index, where(walked), node.size()));
    }
    if (index == node.size()) node.push_back(nullptr);
    walked += step.front() == '[' ? std::string(step) : fmt::format("[{}]", step);
    return node[index];
  }

  // The member `key` of `node` (an object, or null which becomes one); a key of digits
  // applied to an array is an index.
  Json& member(Json& node, std::string& walked, const std::string& key) {
    if (node.is_array()) {
      const auto index = as_index(key);
      if (!index) fail(fmt::format("{} is an array: use an index, as in {}.0", walked, walked));
      return element(node, walked, *index, key);
    }
    if (node.is_null()) node = Json::object();
    if (!node.is_object()) fail(fmt::format("{} is {}, not an object", where(walked), article_type(node)));
    walked += walked.empty() ? key : "." + key;
    return node[key];
  }

  std::string_view assignment_;
};

}  // namespace

void apply_override(Json& document, std::string_view assignment) { Override(assignment).apply(document); }

void apply_overrides(Json& document, std::span<const std::string> assignments) {
  for (const std::string& assignment : assignments) apply_override(document, assignment);
}

}  // namespace ossim::scenario
