// A small JSON writer for the control protocol: objects, arrays, strings and
// numbers appended to one std::string, with commas and escaping handled.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate {

// Appends `text` as a JSON string literal (quotes included). Control
// characters become \uXXXX; bytes that are not valid UTF-8 become U+FFFD,
// so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

// Writes one JSON document. Calls must nest correctly (every begin has its
// end, key() only inside objects, before each value); the writer does not
// check this beyond what is needed to place commas.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag);
  JsonWriter& value(double number);
  template <std::integral Int>
  requires(!std::same_as<Int, bool>) JsonWriter& value(Int number) {
    before_value();
    out_ += std::to_string(number);
    return *this;
  }

  // Appends ready-made object members ("a":1,"b":2) inside the current
  // object, as append_stats_json() produces them.
  JsonWriter& members(std::string_view json_members);

  // Shorthand for key(name).value(v).
  template <typename Value>
  JsonWriter& field(std::string_view name, const Value& v) {
    key(name);
    return value(v);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();

  std::string out_;
  std::vector<bool> need_comma_;  // one entry per open object or array
  bool after_key_ = false;
};

}  // namespace wsgate
