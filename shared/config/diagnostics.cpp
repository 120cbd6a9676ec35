// Collects configuration errors and formats them as path:line:col: key: what (got X).
#include "config/diagnostics.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>

#include "config/config.h"

namespace wsgate::config {

Location location_of(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string got_text(std::string_view text) {
  constexpr size_t kMaxShown = 60;
  bool cut = text.size() > kMaxShown;
  if (cut) text = text.substr(0, kMaxShown);
  bool plain = !text.empty() && text.front() != ' ' && text.back() != ' ' &&
               std::none_of(text.begin(), text.end(), [](char c) {
                 return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
               });
  std::string out;
  if (plain) {
    out = text;
  } else {
    out = "\"";
    for (char c : text) {
      auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else if (byte < 0x20 || byte == 0x7f) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
        out += escaped;
      } else {
        out += c;
      }
    }
    out += "\"";
  }
  if (cut) out += "...";
  return out;
}

std::string got_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return got_text(node.Scalar());
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    default:
      return "nothing";
  }
}

Diagnostics::Diagnostics(std::string file) : file_(std::move(file)) {}

void Diagnostics::add(Location where, std::string_view key, std::string_view what,
                      std::string_view got) {
  if (!where.known()) where = {1, 1};
  std::string message =
      file_ + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": ";
  message += key;
  message += ": ";
  message += what;
  message += " (got ";
  message += got;
  message += ")";
  errors_.push_back({where, std::move(message)});
}

void Diagnostics::add_message(Location where, std::string message) {
  if (!where.known()) where = {1, 1};
  errors_.push_back({where, std::move(message)});
}

std::string Diagnostics::text() const {
  std::vector<const Error*> ordered;
  for (const Error& error : errors_) ordered.push_back(&error);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Error* a, const Error* b) { return a->where < b->where; });
  std::string out;
  for (const Error* error : ordered) {
    if (!out.empty()) out += '\n';
    out += error->message;
  }
  return out;
}

void Diagnostics::throw_if_any() const {
  if (!errors_.empty()) throw ConfigError(text());
}

}  // namespace wsgate::config
