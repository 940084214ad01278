#include "json_reader.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include <fmt/format.h>

namespace ossim::scenario {

namespace {

using Json = nlohmann::json;
using U128 = unsigned __int128;

// A value as it appears in the file, shortened if long, for "got ..." in messages.
std::string show(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// "where: " before a message, or nothing when there is no path (the top level).
std::string prefix(std::string_view path) {
  return path.empty() ? std::string("top level: ") : fmt::format("{}: ", path);
}

// --- Exact decimal numbers ------------------------------------------------------------

// A non-negative decimal number as digits * 10^scale, without rounding.
struct Decimal {
  U128 digits = 0;
  int scale = 0;
};

// More significant digits than this and the product with a unit (< 2^41) could pass
// 2^128; no real scenario needs them.
constexpr int kMaxSignificantDigits = 26;

// Reads "12", "1.5", ".5", "1e3", "2.5E-1" from the front of `text`; on success removes it
// from `text`. A sign is not part of the number.
std::optional<Decimal> take_decimal(std::string_view& text) {
  std::size_t i = 0;
  Decimal result;
  int significant = 0;
  bool any_digit = false;
  int fraction_digits = 0;
  const auto add_digit = [&](char c) {
    any_digit = true;
    if (result.digits == 0 && c == '0') return true;  // leading zeros are not significant
    if (++significant > kMaxSignificantDigits) return false;
    result.digits = result.digits * 10 + static_cast<unsigned>(c - '0');
    return true;
  };
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (!add_digit(text[i])) return std::nullopt;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (!add_digit(text[i])) return std::nullopt;
      ++fraction_digits;
    }
  }
  if (!any_digit) return std::nullopt;
  int exponent = 0;
  if (i + 1 < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    std::size_t j = i + 1;
    bool negative = false;
    if (text[j] == '+' || text[j] == '-') negative = text[j++] == '-';
    if (j < text.size() && text[j] >= '0' && text[j] <= '9') {
      for (; j < text.size() && text[j] >= '0' && text[j] <= '9'; ++j) {
        exponent = std::min(exponent * 10 + (text[j] - '0'), 100'000);
      }
      if (negative) exponent = -exponent;
      i = j;
    }
  }
  result.scale = exponent - fraction_digits;
  text.remove_prefix(i);
  return result;
}

enum class Scaled { kOk, kFraction, kTooLarge };

// value * unit as a whole number that fits 64 bits, exactly.
Scaled scale_exact(const Decimal& value, std::uint64_t unit, std::uint64_t& out) {
  constexpr U128 kMax = std::numeric_limits<std::uint64_t>::max();
  if (value.digits == 0) {
    out = 0;
    return Scaled::kOk;
  }
  U128 product = value.digits * unit;  // < 10^26 * 2^41 < 2^128
  if (value.scale >= 0) {
    for (int i = 0; i < value.scale; ++i) {
      if (product > kMax) return Scaled::kTooLarge;
      product *= 10;
    }
  } else {
    if (value.scale < -38) return Scaled::kFraction;  // 10^39 > 2^128 > product
    U128 divisor = 1;
    for (int i = 0; i < -value.scale; ++i) divisor *= 10;
    if (product % divisor != 0) return Scaled::kFraction;
    product /= divisor;
  }
  if (product > kMax) return Scaled::kTooLarge;
  out = static_cast<std::uint64_t>(product);
  return Scaled::kOk;
}

struct Unit {
  std::string_view name;
  std::uint64_t scale;
};

constexpr std::array<Unit, 6> kDurationUnits{{
    {"ps", sim::kPicosecond},
    {"ns", sim::kNanosecond},
    {"us", sim::kMicrosecond},
    {"\xC2\xB5s", sim::kMicrosecond},  // µs
    {"ms", sim::kMillisecond},
    {"s", sim::kSecond},
}};

constexpr std::array<Unit, 5> kByteUnits{{
    {"B", 1},
    {"KiB", std::uint64_t{1} << 10},
    {"MiB", std::uint64_t{1} << 20},
    {"GiB", std::uint64_t{1} << 30},
    {"TiB", std::uint64_t{1} << 40},
}};

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// What a number with a unit reads as, or why it does not: shared by durations and sizes.
struct UnitParse {
  std::uint64_t value = 0;
  const char* problem = nullptr;  // "negative", "unit", "fraction" or "large"
};

template <std::size_t N>
UnitParse parse_with_unit(std::string_view text, const std::array<Unit, N>& units, bool unit_optional) {
  text = trim(text);
  if (!text.empty() && text.front() == '-') return {0, "negative"};
  const std::optional<Decimal> number = take_decimal(text);
  if (!number) return {0, "unit"};
  const std::string_view unit_name = trim(text);
  std::uint64_t unit = 0;
  if (unit_name.empty() && unit_optional) unit = 1;
  for (const Unit& candidate : units) {
    if (candidate.name == unit_name) unit = candidate.scale;
  }
  if (unit == 0) return {0, "unit"};
  UnitParse result;
  switch (scale_exact(*number, unit, result.value)) {
    case Scaled::kOk: break;
    case Scaled::kFraction: result.problem = "fraction"; break;
    case Scaled::kTooLarge: result.problem = "large"; break;
  }
  return result;
}

std::string bare_unit_name(sim::Tick unit) {
  for (const Unit& candidate : kDurationUnits) {
    if (candidate.scale == unit) return std::string(candidate.name);
  }
  return fmt::format("units of {} ps", unit);
}

// Describes the accepted values of an integer: bounds at the limits of the 64-bit type
// are left out ("an integer >= 1" rather than "from 1 to 18446744073709551615").
template <class T>
std::string describe_integer(T low, T high) {
  const bool low_open = low == std::numeric_limits<T>::min() && std::is_signed_v<T>;
  const bool high_open = high == std::numeric_limits<T>::max();
  if (low_open && high_open) return "an integer";
  if (low_open) return fmt::format("an integer <= {}", high);
  if (high_open) return fmt::format("an integer >= {}", low);
  return fmt::format("an integer from {} to {}", low, high);
}

std::string describe_number(double low, double high) {
  const bool low_open = std::isinf(low);
  const bool high_open = std::isinf(high);
  if (low_open && high_open) return "a number";
  if (low_open) return fmt::format("a number <= {}", high);
  if (high_open) return fmt::format("a number >= {}", low);
  return fmt::format("a number from {} to {}", low, high);
}

// The JSON number as an exact decimal (integers exactly; doubles by their shortest text,
// which is what the file most likely said). nullopt for negative numbers.
std::optional<Decimal> json_decimal(const Json& value) {
  if (value.is_number_unsigned()) return Decimal{value.get<std::uint64_t>(), 0};
  if (value.is_number_integer()) return std::nullopt;  // stored signed: negative
  const double d = value.get<double>();
  if (d < 0) return std::nullopt;
  std::string text = value.dump();
  std::string_view view = text;
  return take_decimal(view);
}

}  // namespace

sim::Tick parse_duration(std::string_view text, std::string_view where) {
  const UnitParse parsed = parse_with_unit(text, kDurationUnits, false);
  if (parsed.problem == nullptr) return parsed.value;
  const std::string_view problem = parsed.problem;
  std::string reason = "use ps, ns, us, ms or s";
  if (problem == "negative") reason = "must not be negative";
  if (problem == "fraction") reason = "not a whole number of picoseconds";
  if (problem == "large") reason = "more than 2^64-1 ps, about 213 days";
  throw ScenarioError(fmt::format("{}: bad duration \"{}\" ({})", where, text, reason));
}

std::uint64_t parse_bytes(std::string_view text, std::string_view where) {
  const UnitParse parsed = parse_with_unit(text, kByteUnits, true);
  if (parsed.problem == nullptr) return parsed.value;
  const std::string_view problem = parsed.problem;
  std::string reason = "use B, KiB, MiB, GiB or TiB";
  if (problem == "negative") reason = "must not be negative";
  if (problem == "fraction") reason = "not a whole number of bytes";
  if (problem == "large") reason = "more than 2^64-1 bytes";
  throw ScenarioError(fmt::format("{}: bad size \"{}\" ({})", where, text, reason));
}

std::string format_duration(sim::Tick ticks) {
  // Largest unit first; "µs" is left out so that the text stays ASCII.
  constexpr std::array<Unit, 5> kUnits{{{"s", sim::kSecond},
                                        {"ms", sim::kMillisecond},
                                        {"us", sim::kMicrosecond},
                                        {"ns", sim::kNanosecond},
                                        {"ps", sim::kPicosecond}}};
  for (const Unit& unit : kUnits) {
    if (ticks % unit.scale == 0 && (ticks != 0 || unit.scale == sim::kMillisecond)) {
      return fmt::format("{}{}", ticks / unit.scale, unit.name);
    }
  }
  return fmt::format("{}ps", ticks);
}

std::string format_bytes(std::uint64_t bytes) {
  for (auto it = kByteUnits.rbegin(); it != kByteUnits.rend(); ++it) {
    if (bytes != 0 && bytes % it->scale == 0) return fmt::format("{}{}", bytes / it->scale, it->name);
  }
  return fmt::format("{}B", bytes);
}

JsonReader::JsonReader(const Json& value, std::string path) : value_(&value), path_(std::move(path)) {
  if (!value.is_object()) throw ScenarioError(prefix(path_) + "expected an object, got " + show(value));
}

std::string JsonReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

void JsonReader::note(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
}

const Json* JsonReader::find(std::string_view key) {
  note(key);
  const auto it = value_->find(key);
  return it == value_->end() || it->is_null() ? nullptr : &*it;
}

const Json& JsonReader::found(std::string_view key) {
  const Json* value = find(key);
  if (value == nullptr) fail(key, "required key is missing");
  return *value;
}

bool JsonReader::has(std::string_view key) { return find(key) != nullptr; }

void JsonReader::fail(std::string_view key, std::string_view problem) const {
  throw ScenarioError(fmt::format("{}: {}", key_path(key), problem));
}

bool JsonReader::to_bool(std::string_view key, const Json& value) const {
  if (!value.is_boolean()) fail(key, "expected true or false, got " + show(value));
  return value.get<bool>();
}

std::string JsonReader::to_string(std::string_view key, const Json& value) const {
  if (!value.is_string()) fail(key, "expected a string, got " + show(value));
  return value.get<std::string>();
}

double JsonReader::to_double(std::string_view key, const Json& value, double low, double high) const {
  if (!value.is_number() || value.get<double>() < low || value.get<double>() > high) {
    fail(key, fmt::format("expected {}, got {}", describe_number(low, high), show(value)));
  }
  return value.get<double>();
}

std::int64_t JsonReader::to_signed(std::string_view key, const Json& value, std::int64_t low,
                                   std::int64_t high) const {
  std::optional<std::int64_t> result;
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) result = static_cast<std::int64_t>(u);
  } else if (value.is_number_integer()) {
    result = value.get<std::int64_t>();
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    // [-2^63, 2^63): the doubles that convert to int64 without overflow.
    if (d == std::trunc(d) && d >= -0x1p63 && d < 0x1p63) result = static_cast<std::int64_t>(d);
  }
  if (!result || *result < low || *result > high) {
    fail(key, fmt::format("expected {}, got {}", describe_integer(low, high), show(value)));
  }
  return *result;
}

std::uint64_t JsonReader::to_unsigned(std::string_view key, const Json& value, std::uint64_t low,
                                      std::uint64_t high) const {
  std::optional<std::uint64_t> result;
  if (value.is_number_unsigned()) {
    result = value.get<std::uint64_t>();
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (d == std::trunc(d) && d >= 0 && d < 0x1p64) result = static_cast<std::uint64_t>(d);
  }
  // A signed JSON integer is negative (nlohmann stores non-negative integers unsigned).
  if (!result || *result < low || *result > high) {
    fail(key, fmt::format("expected {}, got {}", describe_integer(low, high), show(value)));
  }
  return *result;
}

std::size_t JsonReader::choice_index(std::string_view key, const Json& value,
                                     const std::vector<std::string_view>& names) const {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == text) return i;
    }
  }
  std::string list;
  for (const std::string_view name : names) list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", name);
  fail(key, fmt::format("expected one of {}, got {}", list, show(value)));
}

std::string JsonReader::get_choice(std::string_view key, std::initializer_list<std::string_view> allowed,
                                   std::string_view default_value) {
  const Json* value = find(key);
  if (value == nullptr) return std::string(default_value);
  return std::string(*(allowed.begin() + choice_index(key, *value, {allowed.begin(), allowed.end()})));
}

std::string JsonReader::get_choice(std::string_view key, const std::vector<std::string_view>& allowed,
                                   std::string_view default_value) {
  const Json* value = find(key);
  if (value == nullptr) return std::string(default_value);
  return std::string(allowed[choice_index(key, *value, allowed)]);
}

std::string JsonReader::require_choice(std::string_view key, std::initializer_list<std::string_view> allowed) {
  return std::string(*(allowed.begin() + choice_index(key, found(key), {allowed.begin(), allowed.end()})));
}

sim::Tick JsonReader::to_duration(std::string_view key, const Json& value, sim::Tick bare_unit) const {
  if (value.is_string()) return parse_duration(value.get_ref<const std::string&>(), key_path(key));
  if (!value.is_number()) {
    fail(key, fmt::format("expected a duration (a string such as \"10ms\", or a number of {}), got {}",
                          bare_unit_name(bare_unit), show(value)));
  }
  const std::optional<Decimal> number = json_decimal(value);
  if (!number) fail(key, "expected a duration >= 0, got " + show(value));
  std::uint64_t ticks = 0;
  switch (scale_exact(*number, bare_unit, ticks)) {
    case Scaled::kOk: return ticks;
    case Scaled::kFraction:
      fail(key, fmt::format("bad duration {} {} (not a whole number of picoseconds)", show(value),
                            bare_unit_name(bare_unit)));
    case Scaled::kTooLarge:
      fail(key, fmt::format("bad duration {} {} (more than 2^64-1 ps, about 213 days)", show(value),
                            bare_unit_name(bare_unit)));
  }
  return ticks;
}

std::uint64_t JsonReader::to_bytes(std::string_view key, const Json& value) const {
  if (value.is_string()) return parse_bytes(value.get_ref<const std::string&>(), key_path(key));
  if (!value.is_number()) {
    fail(key, "expected a size (a string such as \"256MiB\", or a number of bytes), got " + show(value));
  }
  const std::optional<Decimal> number = json_decimal(value);
  if (!number) fail(key, "expected a size >= 0, got " + show(value));
  std::uint64_t bytes = 0;
  switch (scale_exact(*number, 1, bytes)) {
    case Scaled::kOk: return bytes;
    case Scaled::kFraction: fail(key, "expected a whole number of bytes, got " + show(value));
    case Scaled::kTooLarge: fail(key, "bad size " + show(value) + " (more than 2^64-1 bytes)");
  }
  return bytes;
}

sim::Tick parse_duration_json(const nlohmann::json& value, sim::Tick bare_unit) {
  const Json holder = {{"value", value}};
  JsonReader reader(holder);
  return reader.require_duration("value", bare_unit);
}

sim::Tick JsonReader::get_duration(std::string_view key, sim::Tick default_value, sim::Tick bare_unit) {
  const Json* value = find(key);
  return value == nullptr ? default_value : to_duration(key, *value, bare_unit);
}

sim::Tick JsonReader::require_duration(std::string_view key, sim::Tick bare_unit) {
  return to_duration(key, found(key), bare_unit);
}

std::vector<sim::Tick> JsonReader::get_durations(std::string_view key, std::vector<sim::Tick> default_value,
                                                 sim::Tick bare_unit) {
  const Json* value = find(key);
  if (value == nullptr) return default_value;
  if (!value->is_array()) return {to_duration(key, *value, bare_unit)};
  std::vector<sim::Tick> result;
  for (std::size_t i = 0; i < value->size(); ++i) {
    result.push_back(to_duration(fmt::format("{}[{}]", key, i), (*value)[i], bare_unit));
  }
  return result;
}

std::uint64_t JsonReader::get_bytes(std::string_view key, std::uint64_t default_value) {
  const Json* value = find(key);
  return value == nullptr ? default_value : to_bytes(key, *value);
}

std::uint64_t JsonReader::require_bytes(std::string_view key) { return to_bytes(key, found(key)); }

JsonReader JsonReader::object(std::string_view key) {
  static const Json kEmpty = Json::object();
  const Json* value = find(key);
  return JsonReader(value == nullptr ? kEmpty : *value, key_path(key));
}

JsonReader JsonReader::require_object(std::string_view key) { return JsonReader(found(key), key_path(key)); }

std::vector<JsonReader> JsonReader::objects(std::string_view key) {
  std::vector<JsonReader> result;
  const Json* value = find(key);
  if (value == nullptr) return result;
  if (!value->is_array()) fail(key, "expected an array of objects, got " + show(*value));
  result.reserve(value->size());
  for (std::size_t i = 0; i < value->size(); ++i) {
    result.emplace_back((*value)[i], fmt::format("{}[{}]", key_path(key), i));
  }
  return result;
}

void JsonReader::finish() const {
  for (const auto& [key, value] : value_->items()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string known;
    for (const std::string& name : known_) known += known.empty() ? name : ", " + name;
    throw ScenarioError(fmt::format("unknown key '{}' ({})", key_path(key),
                                    known.empty() ? "this object takes no keys" : "known keys: " + known));
  }
}

}  // namespace ossim::scenario
