// Finding the control socket from a config file (see socket_lookup.h).
#include "ctl/socket_lookup.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.h"
#include "config/schema.h"

namespace wsgate::ctl {
namespace {

constexpr std::string_view kKey = "control_socket";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// The value after "control_socket:" on one line, or nullopt.
std::optional<std::string> value_of(std::string_view rest) {
  rest = trim(rest);
  if (rest.empty()) return std::nullopt;
  std::string value;
  const char quote = rest.front();
  if (quote == '"' || quote == '\'') {
    for (size_t i = 1; i < rest.size(); ++i) {
      const char c = rest[i];
      if (quote == '\'' && c == '\'') {
        if (i + 1 < rest.size() && rest[i + 1] == '\'') {
          value += '\'';
          ++i;
          continue;
        }
        return value.empty() ? std::nullopt : std::optional(value);
      }
      if (quote == '"' && c == '\\' && i + 1 < rest.size()) {
        value += rest[++i];
        continue;
      }
      if (quote == '"' && c == '"') return value.empty() ? std::nullopt : std::optional(value);
      value += c;
    }
    return std::nullopt;  // unterminated
  }
  if (std::string_view("{[&*!|>%@`#").find(quote) != std::string_view::npos) return std::nullopt;
  const size_t comment = rest.find(" #");
  if (comment != std::string_view::npos) rest = trim(rest.substr(0, comment));
  if (!rest.empty() && rest.back() == ',') rest = trim(rest.substr(0, rest.size() - 1));
  if (rest.empty()) return std::nullopt;
  return std::string(rest);
}

std::string resolve(const std::string& config_path, const std::string& value) {
  std::filesystem::path path(value);
  if (path.is_relative()) {
    std::error_code error;
    std::filesystem::path config = std::filesystem::absolute(config_path, error);
    if (error) config = config_path;
    path = config.lexically_normal().parent_path() / path;
  }
  return path.lexically_normal().string();
}

std::string compiled_default() {
  const config::SchemaEntry* entry = config::find_schema(kKey);
  return entry != nullptr ? std::string(entry->default_text) : std::string("run/wsgated.sock");
}

}  // namespace

std::optional<std::string> scan_control_socket(std::string_view text) {
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    line = trim(line);
    if (!line.empty() && (line.front() == '"' || line.front() == '\'')) {
      const char quote = line.front();
      line.remove_prefix(1);
      if (line.substr(0, kKey.size()) != kKey || line.size() <= kKey.size() ||
          line[kKey.size()] != quote)
        continue;
      line.remove_prefix(kKey.size() + 1);
    } else {
      if (line.substr(0, kKey.size()) != kKey) continue;
      line.remove_prefix(kKey.size());
    }
    line = trim(line);
    if (line.empty() || line.front() != ':') continue;
    if (std::optional<std::string> value = value_of(line.substr(1))) return value;
  }
  return std::nullopt;
}

std::string find_control_socket(const std::string& config_path, std::string& note) {
  std::string load_error;
  try {
    return config::load_config(config_path)->control_socket;
  } catch (const std::exception& e) {
    load_error = e.what();
  }
  std::string from;
  std::optional<std::string> value;
  std::ifstream file(config_path, std::ios::binary);
  if (!file) {
    from = "the file cannot be read";
  } else {
    std::ostringstream content;
    content << file.rdbuf();
    const std::string text = content.str();
    try {
      // Valid YAML that fails validation: the key the loader would read.
      const YAML::Node root = YAML::Load(text);
      if (root.IsMap() && root[std::string(kKey)] && root[std::string(kKey)].IsScalar()) {
        value = root[std::string(kKey)].as<std::string>();
        from = "its control_socket key";
      }
    } catch (const YAML::Exception&) {
      // Not YAML (a syntax error waiting for a reload): scan its lines.
      value = scan_control_socket(text);
      if (value) from = "its control_socket line";
    }
    if (!value && from.empty()) from = "it sets no control_socket";
  }
  if (!value) {
    value = compiled_default();
    from += "; the default " + *value + " is tried";
  }
  const std::string path = resolve(config_path, *value);
  note = load_error + "\n" + "control socket " + path + " (" + config_path + " does not load; " +
         (from.rfind("its", 0) == 0 ? "taken from " + from : from) + ")";
  return path;
}

}  // namespace wsgate::ctl
