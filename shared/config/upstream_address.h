// Parsers for where a proxy route connects: the route's `upstream` value
// (tcp://HOST:PORT or unix:PATH) and a token file's target (host:port or
// unix:/path). Pure: text in, an UpstreamAddress or a reason out; names are
// checked for syntax only and never resolved here.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/values.h"

namespace wsgate::config {

// `routes[].proxy.upstream`: "tcp://HOST:PORT" with HOST a DNS name, a
// numeric IPv4 address or a bracketed IPv6 address and PORT 1..65535, or
// "unix:PATH", a relative PATH resolved against `base_dir` (absolute). The
// error says what is wrong without repeating the text.
Parsed<UpstreamAddress> parse_upstream(std::string_view text, const std::string& base_dir);

// A token file target: "host:port" (host as above, IPv6 in brackets) or
// "unix:/absolute/path". `text` of the result is the target as written.
Parsed<UpstreamAddress> parse_token_target(std::string_view text);

// True when `name` is a DNS host name: dot-separated labels of letters,
// digits, hyphens and (with allow_underscore) underscores, none empty,
// longer than 63 or starting or ending with a hyphen, 253 characters at
// most. Certificate names (allow_underscore false) take no underscore.
bool is_host_name(std::string_view name, bool allow_underscore = true);

// True when `text` is a numeric IPv4 or IPv6 address (no brackets).
bool is_ip_literal(std::string_view text);

}  // namespace wsgate::config
