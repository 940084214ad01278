#pragma once

// JsonReader: reads one object of a scenario file strictly, so that a broken scenario is
// rejected at load time with a message that names the key and the problem:
//
//     machine.cpus: expected an integer from 1 to 256, got "two"
//     run.end: bad duration "10 parsecs" (use ps, ns, us, ms or s)
//     unknown key 'machine.cpuz' (known keys: cpus, memory)
//
// A reader knows its object's path (`workloads[2]`). Each getter names a key, which makes
// the key known; finish() then rejects every key of the object that no getter named.
// Usage, one reader per object:
//
//     JsonReader root(document);
//     JsonReader machine = root.object("machine");
//     const auto cpus = machine.get_in_range<unsigned>("cpus", 1, 256, 2);
//     const auto memory = machine.get_bytes("memory", 256 << 20);
//     machine.finish();
//     for (JsonReader workload : root.objects("workloads")) { ...; workload.finish(); }
//     root.finish();
//
// A key whose value is null counts as absent. Getters with a default return it when the
// key is absent; require_* getters throw instead.

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ossim/scenario/scenario_error.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::scenario {

// Duration and size texts, for the reader and for command-line options. `where` starts
// the error message (a key path, or an option such as "--end").

// "10ms", "2us", "1.5s", "500ns", "250ps" (also "µs", and a space before the unit) to
// ticks, exactly: the decimal digits are scaled by integer arithmetic, so "0.1s" is
// exactly 100'000'000'000 ps. Rejects negative values, fractions of a picosecond, and
// values past kTickNever.
sim::Tick parse_duration(std::string_view text, std::string_view where);
// "256MiB", "4KiB", "1GiB", "2TiB", "512B", or digits alone (bytes). Rejects fractions
// of a byte ("0.1KiB") and values past 2^64 - 1.
std::uint64_t parse_bytes(std::string_view text, std::string_view where);
// The inverses, for writing a configuration back: the largest unit that keeps the value
// whole ("10ms", "1500us", "0ps"; "256MiB", "4097B"), so that parsing the text gives the
// value back exactly.
std::string format_duration(sim::Tick ticks);
/// A duration as a JsonReader reads it (a string with a unit, or a number of `bare_unit`),
/// from a value already validated (effective parameters); throws ScenarioError otherwise.
sim::Tick parse_duration_json(const nlohmann::json& value, sim::Tick bare_unit);
std::string format_bytes(std::uint64_t bytes);

class JsonReader {
 public:
  // Reads `value`, which must be an object (else throws). `path` names it in messages:
  // "" for the top level, "machine", "workloads[2]". `value` must outlive the reader.
  explicit JsonReader(const nlohmann::json& value, std::string path = {});

  const std::string& path() const { return path_; }
  // The path of `key` in this object: "machine.cpus", or "cpus" at the top level.
  std::string key_path(std::string_view key) const;

  // True if `key` is present and not null. Makes the key known.
  bool has(std::string_view key);
  // Makes `key` known without reading it (e.g. "comment").
  void ignore(std::string_view key) { note(key); }

  // Booleans, strings, integers of any width and doubles. Integers must be whole (2.0 is
  // read as 2, 2.5 is rejected) and fit T; strings are not converted to numbers.
  template <class T>
  T get(std::string_view key, T default_value) {
    return get_in_range<T>(key, lowest<T>(), highest<T>(), default_value);
  }
  template <class T>
  T require(std::string_view key) {
    return require_in_range<T>(key, lowest<T>(), highest<T>());
  }
  // Numbers in [low, high]; for bool and std::string the bounds are ignored.
  template <class T>
  T get_in_range(std::string_view key, std::type_identity_t<T> low, std::type_identity_t<T> high,
                 T default_value) {
    const nlohmann::json* value = find(key);
    return value == nullptr ? default_value : convert<T>(key, *value, low, high);
  }
  template <class T>
  T require_in_range(std::string_view key, T low, std::type_identity_t<T> high) {
    return convert<T>(key, found(key), low, high);
  }

  // A string that must be one of `allowed`.
  std::string get_choice(std::string_view key, std::initializer_list<std::string_view> allowed,
                         std::string_view default_value);
  std::string require_choice(std::string_view key, std::initializer_list<std::string_view> allowed);
  std::string get_choice(std::string_view key, const std::vector<std::string_view>& allowed,
                         std::string_view default_value);
  // A string that must be one of the names in `choices`, mapped to its value. E is
  // deduced from the default; require_enum needs it spelled: require_enum<Policy>(...).
  template <class E>
  E get_enum(std::string_view key, std::initializer_list<std::pair<std::string_view, E>> choices, E default_value) {
    const nlohmann::json* value = find(key);
    return value == nullptr ? default_value : to_enum(key, *value, choices);
  }
  template <class E>
  E require_enum(std::string_view key, std::initializer_list<std::pair<std::string_view, E>> choices) {
    return to_enum(key, found(key), choices);
  }

  // A duration: a string with a unit (see parse_duration), or a JSON number counted in
  // `bare_unit` (nanoseconds unless the caller documents otherwise; 1.5 is allowed if it
  // is a whole number of picoseconds).
  sim::Tick get_duration(std::string_view key, sim::Tick default_value, sim::Tick bare_unit = sim::kNanosecond);
  sim::Tick require_duration(std::string_view key, sim::Tick bare_unit = sim::kNanosecond);
  /// A duration, or a list of durations; a single one is returned as a list of one.
  std::vector<sim::Tick> get_durations(std::string_view key, std::vector<sim::Tick> default_value,
                                       sim::Tick bare_unit = sim::kNanosecond);
  // A byte size: a string with a unit (see parse_bytes), or a JSON integer of bytes.
  std::uint64_t get_bytes(std::string_view key, std::uint64_t default_value);
  std::uint64_t require_bytes(std::string_view key);

  // The object under `key`; an absent key reads as an empty object, so that defaults apply.
  JsonReader object(std::string_view key);
  JsonReader require_object(std::string_view key);
  // The array of objects under `key`, one reader per element (`key[i]`); absent is empty.
  std::vector<JsonReader> objects(std::string_view key);

  // The raw value under `key` (nullptr if absent), for shapes the getters do not cover.
  const nlohmann::json* raw(std::string_view key) { return find(key); }
  // Throws a ScenarioError "<path of key>: <problem>".
  [[noreturn]] void fail(std::string_view key, std::string_view problem) const;

  // Throws if the object holds a key that no getter named (the first in key order):
  // "unknown key 'machine.cpuz' (known keys: cpus, memory)".
  void finish() const;

 private:
  template <class T>
  static constexpr T lowest() {
    if constexpr (std::is_arithmetic_v<T>) {
      return std::is_floating_point_v<T> ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::min();
    } else {
      return T{};
    }
  }
  template <class T>
  static constexpr T highest() {
    if constexpr (std::is_arithmetic_v<T>) {
      return std::is_floating_point_v<T> ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
    } else {
      return T{};
    }
  }

  template <class T>
  T convert(std::string_view key, const nlohmann::json& value, T low, T high) const {
    if constexpr (std::is_same_v<T, bool>) {
      return to_bool(key, value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      return to_string(key, value);
    } else if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(to_double(key, value, low, high));
    } else if constexpr (std::is_signed_v<T>) {
      static_assert(std::is_integral_v<T>, "get<T>: T must be bool, std::string, an integer or a double");
      return static_cast<T>(to_signed(key, value, low, high));
    } else {
      static_assert(std::is_integral_v<T>, "get<T>: T must be bool, std::string, an integer or a double");
      return static_cast<T>(to_unsigned(key, value, low, high));
    }
  }

  template <class E>
  E to_enum(std::string_view key, const nlohmann::json& value,
            std::initializer_list<std::pair<std::string_view, E>> choices) const {
    std::vector<std::string_view> names;
    for (const auto& choice : choices) names.push_back(choice.first);
    const std::size_t index = choice_index(key, value, names);
    return (choices.begin() + index)->second;
  }

  void note(std::string_view key);
  const nlohmann::json* find(std::string_view key);
  const nlohmann::json& found(std::string_view key);  // throws if absent
  bool to_bool(std::string_view key, const nlohmann::json& value) const;
  std::string to_string(std::string_view key, const nlohmann::json& value) const;
  double to_double(std::string_view key, const nlohmann::json& value, double low, double high) const;
  std::int64_t to_signed(std::string_view key, const nlohmann::json& value, std::int64_t low, std::int64_t high) const;
  std::uint64_t to_unsigned(std::string_view key, const nlohmann::json& value, std::uint64_t low,
                            std::uint64_t high) const;
  std::size_t choice_index(std::string_view key, const nlohmann::json& value,
                           const std::vector<std::string_view>& names) const;
  sim::Tick to_duration(std::string_view key, const nlohmann::json& value, sim::Tick bare_unit) const;
  std::uint64_t to_bytes(std::string_view key, const nlohmann::json& value) const;

  const nlohmann::json* value_;
  std::string path_;
  std::vector<std::string> known_;  // keys named by getters, in the order first named
};

}  // namespace ossim::scenario
