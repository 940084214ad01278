#include "json_output.hpp"

#include <cmath>

namespace ossim::sim {

namespace {

// The length of the valid UTF-8 sequence starting at text[0], or 0 if it is not one
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  std::uint32_t code = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3F);
  }
  if (length == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) return 0;
  if (length == 4 && (code < 0x10000 || code > 0x10FFFF)) return 0;
  return length;
}

}  // namespace

void JsonOutput::number(double value) {
  if (!std::isfinite(value)) {
    raw("null");
    return;
  }
  fmt::format_to(fmt::appender(buffer_), "{}", value);
}

void JsonOutput::string(std::string_view text) {
  buffer_.push_back('"');
  std::size_t plain_from = 0;  // start of the run of bytes copied as they are
  const auto copy_plain = [&](std::size_t up_to) {
    buffer_.append(text.data() + plain_from, text.data() + up_to);
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t length = utf8_sequence_length(text.substr(i)); length != 0) {
        i += length;
        continue;
      }
    }
    copy_plain(i);
    switch (c) {
      case '"': raw("\\\""); break;
      case '\\': raw("\\\\"); break;
      case '\n': raw("\\n"); break;
      case '\r': raw("\\r"); break;
      case '\t': raw("\\t"); break;
      case '\b': raw("\\b"); break;
      case '\f': raw("\\f"); break;
      default:
        if (c < 0x20) {
          fmt::format_to(fmt::appender(buffer_), "\\u{:04x}", c);
        } else {
          raw("\\ufffd");
        }
    }
    ++i;
    plain_from = i;
  }
  copy_plain(text.size());
  buffer_.push_back('"');
}

void JsonOutput::flush() {
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
}

}  // namespace ossim::sim
