// Private: the uri-host [":" port] grammar shared by Host, absolute-form
// request targets and Origin (RFC 3986 §3.2.2-3.2.3, RFC 9112 §3.2).
#pragma once

#include <optional>
#include <string_view>

namespace wsgate::http::detail {

// Views into the parsed text; `port` is empty when no ":" was present.
struct Authority {
  std::string_view host;  // IP-literal (with brackets), IPv4 or reg-name
  std::string_view port;  // 1-5 digits, at most 65535
};

// Accepts exactly uri-host [":" port]: a non-empty host made of unreserved,
// pct-encoded and sub-delims characters, or a bracketed IPv6 literal of hex
// digits, ':' and '.'; no userinfo ('@'), no path ('/'), no whitespace. A
// present ':' needs a port of 1-5 digits not above 65535 (policy: RFC 3986
// allows an empty port; we refuse it). Returns nullopt when `text` is not
// such an authority.
std::optional<Authority> parse_authority(std::string_view text);

}  // namespace wsgate::http::detail
