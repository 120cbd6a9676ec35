// The websockify token file parser (see token_file.h).
#include "config/token_file.h"

#include "config/diagnostics.h"
#include "config/upstream_address.h"

namespace wsgate::config {
namespace {

std::string_view trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

// `text` in double quotes, escaped as got_text() escapes.
std::string quoted(std::string_view text) {
  std::string shown = got_text(text);
  return shown.starts_with('"') ? shown : "\"" + shown + "\"";
}

}  // namespace

TokenFile parse_token_file(std::string_view text, std::string_view file) {
  TokenFile result;
  int number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++number;
    if (line.empty() || line.starts_with('#')) continue;
    const std::string where = std::string(file) + ":" + std::to_string(number) + ": ";
    size_t colon = line.find(':');
    while (colon != std::string_view::npos && colon + 1 < line.size() && line[colon + 1] != ' ' &&
           line[colon + 1] != '\t') {
      colon = line.find(':', colon + 1);
    }
    if (colon == std::string_view::npos || colon + 1 >= line.size()) {
      result.errors.push_back(where + "want \"token: host:port\" (got " + quoted(line) + ")");
      continue;
    }
    const std::string_view token = trim(line.substr(0, colon));
    const std::string_view target = trim(line.substr(colon + 1));
    if (token.empty()) {
      result.errors.push_back(where + "has no token before \": \" (got " + quoted(line) + ")");
      continue;
    }
    Parsed<UpstreamAddress> address = parse_token_target(target);
    if (!address) {
      const bool shapeless = target.find(':') == std::string_view::npos;
      result.errors.push_back(where + "bad target " + quoted(target) +
                              (shapeless ? "" : ": " + address.error) +
                              " (want host:port or unix:/path)");
      continue;
    }
    if (auto seen = result.lines.find(token); seen != result.lines.end()) {
      result.errors.push_back(where + "token " + quoted(token) + " repeats line " +
                              std::to_string(seen->second));
      continue;
    }
    result.lines.emplace(std::string(token), number);
    result.tokens.emplace(std::string(token), std::move(*address.value));
  }
  return result;
}

}  // namespace wsgate::config
