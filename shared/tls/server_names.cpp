// SNI lookup (see server_names.h).
#include "tls/server_names.h"

namespace wsgate::tls {

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ServerNameTable::add(std::string_view name, size_t group) {
  std::string key = lower_ascii(name);
  auto& map = key.starts_with("*.") ? wildcard_ : exact_;
  if (key.starts_with("*.")) key.erase(0, 2);
  auto [it, inserted] = map.emplace(std::move(key), group);
  return inserted || it->second == group;
}

std::optional<size_t> ServerNameTable::find(std::string_view server_name) const {
  std::string name = lower_ascii(server_name);
  // A trailing dot (fully qualified form) names the same host.
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty()) return std::nullopt;
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) return it->second;
  return std::nullopt;
}

}  // namespace wsgate::tls
