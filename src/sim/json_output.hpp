#pragma once

// JsonOutput: buffered, locale-free text output for the trace writers. Formatting goes
// into an in-memory buffer that is handed to the stream in large blocks, so writing
// millions of records costs one stream call per block rather than per field.

#include <cstdint>
#include <ostream>
#include <string_view>

#include <fmt/format.h>

#include "ossim/sim/tick.hpp"

namespace ossim::sim {

class JsonOutput {
 public:
  explicit JsonOutput(std::ostream& out) : out_(out) {}
  JsonOutput(const JsonOutput&) = delete;
  JsonOutput& operator=(const JsonOutput&) = delete;
  ~JsonOutput() { flush(); }

  // Appends `text` unchanged.
  void raw(std::string_view text) { buffer_.append(text.data(), text.data() + text.size()); }
  void raw(char c) { buffer_.push_back(c); }
  void number(std::int64_t value) { fmt::format_to(fmt::appender(buffer_), "{}", value); }
  void number(std::uint64_t value) { fmt::format_to(fmt::appender(buffer_), "{}", value); }
  void number(int value) { number(static_cast<std::int64_t>(value)); }
  void number(unsigned value) { number(static_cast<std::uint64_t>(value)); }
  // The shortest text that reads back as `value` (fmt's algorithm, the same on every
  // machine); null for infinities and NaN, which JSON cannot hold.
  void number(double value);
  // `text` as a quoted JSON string: quotes, backslashes and control characters escaped,
  // bytes that are not valid UTF-8 replaced by U+FFFD so the output always parses.
  void string(std::string_view text);
  // `value` as a "0x..." JSON string.
  void hex_string(std::uint64_t value) { fmt::format_to(fmt::appender(buffer_), "\"{:#x}\"", value); }
  // A time in microseconds with exactly three decimals (nanosecond resolution, the
  // picoseconds below truncated), by integer arithmetic so that the text never depends
  // on floating-point rounding: 1234567 ps is "1.234".
  void microseconds(Tick ps) { fmt::format_to(fmt::appender(buffer_), "{}.{:03}", ps / 1'000'000, (ps / 1'000) % 1'000); }

  // Hands the buffer to the stream when it has grown past a block.
  void flush_if_full() {
    if (buffer_.size() >= kBlockBytes) flush();
  }
  void flush();

 private:
  static constexpr std::size_t kBlockBytes = 1 << 16;
  std::ostream& out_;
  fmt::memory_buffer buffer_;
};

}  // namespace ossim::sim
