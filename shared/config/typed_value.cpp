// Checks scalars against their schema rows: type syntax, then range or words.
#include "config/typed_value.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <thread>

namespace wsgate::config {
namespace {

// "trace|debug|info" -> "trace, debug, info".
std::string list_words(std::string_view words) {
  std::string out(words);
  std::string::size_type at = 0;
  while ((at = out.find('|', at)) != std::string::npos) {
    out.replace(at, 1, ", ");
    at += 2;
  }
  return out;
}

Parsed<int64_t> parse_raw_number(const SchemaEntry& entry, std::string_view text) {
  switch (entry.type) {
    case ValueType::Int:
      return parse_int(text);
    case ValueType::WorkerCount: {
      if (text == "auto") {
        int64_t cpus = std::max(1u, std::thread::hardware_concurrency());
        return Parsed<int64_t>::ok(std::clamp(cpus, entry.min, entry.max));
      }
      Parsed<int64_t> count = parse_int(text);
      if (!count) return Parsed<int64_t>::fail("must be a whole number or auto");
      return count;
    }
    case ValueType::Duration:
    case ValueType::DurationList: {
      Parsed<Duration> duration = parse_duration(text);
      if (!duration) return Parsed<int64_t>::fail(duration.error);
      return Parsed<int64_t>::ok(duration.value->count());
    }
    case ValueType::Size: {
      Parsed<uint64_t> size = parse_size(text);
      if (!size) return Parsed<int64_t>::fail(size.error);
      if (*size.value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Parsed<int64_t>::fail("is too large");
      }
      return Parsed<int64_t>::ok(static_cast<int64_t>(*size.value));
    }
    default:
      throw std::logic_error("parse_number: " + std::string(entry.key) + " is not a number");
  }
}

}  // namespace

bool is_one_of(std::string_view word, std::string_view words) {
  while (!words.empty()) {
    size_t bar = words.find('|');
    if (words.substr(0, bar) == word) return true;
    if (bar == std::string_view::npos) break;
    words.remove_prefix(bar + 1);
  }
  return false;
}

Parsed<int64_t> parse_number(const SchemaEntry& entry, std::string_view text) {
  Parsed<int64_t> number = parse_raw_number(entry, text);
  if (number && (*number.value < entry.min || *number.value > entry.max)) {
    return Parsed<int64_t>::fail("must be between " + format_number(entry, entry.min) + " and " +
                                 format_number(entry, entry.max));
  }
  return number;
}

std::string check_scalar(const SchemaEntry& entry, std::string_view text) {
  switch (entry.type) {
    case ValueType::Bool:
      return parse_bool(text).error;
    case ValueType::Int:
    case ValueType::Duration:
    case ValueType::Size:
    case ValueType::WorkerCount: {
      if (is_one_of(text, entry.enum_values)) return "";
      std::string why = parse_number(entry, text).error;
      if (!why.empty() && !entry.enum_values.empty()) {
        why += ", or " + list_words(entry.enum_values);
      }
      return why;
    }
    case ValueType::DurationList:  // one element
      return parse_number(entry, text).error;
    case ValueType::Address:
      return parse_address(text).error;
    case ValueType::Enum: {
      if (is_one_of(text, entry.enum_values)) return "";
      std::string message = "must be one of " + list_words(entry.enum_values);
      std::string lowered(text);
      std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (is_one_of(lowered, entry.enum_values)) message += " (in lower case)";
      return message;
    }
    case ValueType::Path:
      if (is_one_of(text, entry.enum_values)) return "";
      // A path whose default is "" is optional: "" means "none".
      if (text.empty() && entry.default_text == "\"\"") return "";
      if (text.empty()) {
        return entry.enum_values.empty()
                   ? "must not be empty"
                   : "must not be empty; write a path or one of " + list_words(entry.enum_values);
      }
      if (text.front() == '~')
        return "must not start with ~ (it is not expanded); write the full path";
      return "";
    case ValueType::String:
      return "";
    default:
      throw std::logic_error("check_scalar: " + std::string(entry.key) + " is not a scalar");
  }
}

std::string format_number(const SchemaEntry& entry, int64_t value) {
  switch (entry.type) {
    case ValueType::Duration:
    case ValueType::DurationList:
      return format_duration(Duration(value));
    case ValueType::Size:
      return value < 0 ? std::to_string(value) : format_size(static_cast<uint64_t>(value));
    default:
      return std::to_string(value);
  }
}

}  // namespace wsgate::config
