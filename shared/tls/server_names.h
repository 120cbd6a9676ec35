// SNI lookup: which certificate answers a server name. Pure; no OpenSSL.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace wsgate::tls {

// Maps server names to a certificate group index. Exact names win over
// wildcards; "*.example.com" matches exactly one label in front of
// "example.com" ("a.example.com", not "example.com" or "a.b.example.com"),
// as RFC 6125 section 6.4.3 allows. Names compare case-insensitively.
class ServerNameTable {
 public:
  // Adds `name` ("host.example.com" or "*.example.com") for `group`. The
  // first group added for a name keeps it. Returns false when the name was
  // already taken by another group.
  bool add(std::string_view name, size_t group);

  // The group for the name a client sent, or nullopt.
  std::optional<size_t> find(std::string_view server_name) const;

  bool empty() const { return exact_.empty() && wildcard_.empty(); }

 private:
  std::unordered_map<std::string, size_t> exact_;
  std::unordered_map<std::string, size_t> wildcard_;  // by the part after "*."
};

// Lower-cases ASCII letters; server names are ASCII (IDNs arrive as A-labels).
std::string lower_ascii(std::string_view text);

}  // namespace wsgate::tls
