// Origin allow-list check against Cross-Site WebSocket Hijacking (SEC-OR-01/02).
#include <string>

#include "http/authority.h"
#include "http/handshake.h"
#include "http/header_lists.h"

namespace wsgate::http {
namespace {

bool valid_scheme(std::string_view scheme) {
  if (scheme.empty()) return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    const char c = scheme[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    if (!alpha && (i == 0 || !other)) return false;
  }
  return true;
}

// The comparable form of a serialized origin (RFC 6454 §6.2): "null" stays
// "null"; otherwise scheme "://" host [":" port] with scheme and host
// lower-cased and the scheme's default port dropped (80 for http and ws, 443
// for https and wss). Nothing else is normalised: a trailing dot or a port
// with leading zeros stays and so differs from the canonical form; a path, a
// userinfo part or a missing scheme makes the text no origin at all.
// Returns nullopt when `text` is not an origin.
std::optional<std::string> normalize_origin(std::string_view text) {
  if (text == "null") return std::string(text);
  const size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = text.substr(0, scheme_end);
  if (!valid_scheme(scheme)) return std::nullopt;
  const auto authority = detail::parse_authority(text.substr(scheme_end + 3));
  if (!authority) return std::nullopt;
  std::string_view port = authority->port;
  std::string out = detail::to_lower(scheme);
  if (((out == "http" || out == "ws") && port == "80") ||
      ((out == "https" || out == "wss") && port == "443")) {
    port = {};
  }
  out.append("://").append(detail::to_lower(authority->host));
  if (!port.empty()) out.append(":").append(port);
  return out;
}

}  // namespace

// Entries that are not origins (for example scheme-less "app.example")
// match nothing, so a scheme-less entry can never admit http:// on a TLS
// listener; the config loader should refuse such entries outright.
bool origin_allowed(const std::optional<std::string>& origin,
                    const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  if (!origin) return false;
  const auto wanted = normalize_origin(*origin);
  if (!wanted) return false;
  for (const std::string& entry : allowed) {
    const auto candidate = normalize_origin(entry);
    if (candidate && *candidate == *wanted) return true;
  }
  return false;
}

}  // namespace wsgate::http
