// Parsers for the scalar syntaxes of the config file (booleans, integers,
// durations, sizes, listen addresses, Origin values, tokens) and the
// formatters that print durations and sizes back the way they are written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.h"

namespace wsgate::config {

// The outcome of a parse: a value, or a sentence saying what is wrong with
// the text (without the text itself; the caller adds "(got X)").
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;

  static Parsed ok(T v) { return Parsed{std::move(v), {}}; }
  static Parsed fail(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
  explicit operator bool() const { return value.has_value(); }
};

// "true" or "false" and nothing else. The YAML 1.1 spellings (yes, no, on,
// off, True...) fail with a hint naming the word to write instead.
Parsed<bool> parse_bool(std::string_view text);

// A decimal integer with an optional leading '-'. No '+', no hex, no
// separators, no surrounding space.
Parsed<int64_t> parse_int(std::string_view text);

// A duration: "0", or one or more <digits><unit> parts with unit ms, s, m or
// h ("100ms", "30s", "5m", "1h", "1m30s"); a space may separate a number from
// its unit. A non-zero number without a unit fails (seconds or
// milliseconds would be a guess); so do fractions and negative values.
Parsed<Duration> parse_duration(std::string_view text);

// A size in bytes: <digits> with an optional unit. B is bytes; k, K and KiB
// are 1024; M and MiB are 1024^2; G and GiB are 1024^3. KB, MB and GB (and
// their other spellings) fail with a hint to write KiB, MiB or GiB, because
// readers disagree about whether they mean 1000 or 1024. A space may
// separate the number from its unit.
Parsed<uint64_t> parse_size(std::string_view text);

// A parsed listen address.
struct ListenAddress {
  std::string text;   // as written
  std::string host;   // numeric host as written, without brackets; "0.0.0.0" for "*"
  uint16_t port = 0;  // 0 = any free port
  bool ipv6 = false;
  std::string canonical;  // inet_ntop form with port, "[::1]:8080", to compare addresses
};

// "host:port" where host is a numeric IPv4 address, "*" (0.0.0.0) or a
// bracketed numeric IPv6 address, and port is 0..65535. Hosts are checked
// with inet_pton; names are never resolved, and the error says so.
Parsed<ListenAddress> parse_address(std::string_view text);

// Checks one entry of a route's origins list: "null", or
// scheme://host[:port] with scheme http, https, ws or wss, in lower case as
// browsers send it, without path, query, user info or the scheme's default
// port. Returns "" when valid, otherwise what is wrong.
std::string check_origin(std::string_view text);

// True when `text` is an RFC 7230 token (one or more tchar), as a
// subprotocol name must be.
bool is_token(std::string_view text);

// A duration the way a config file writes it, in the largest unit that
// keeps it whole: "0", "250ms", "30s", "5m", "1h".
std::string format_duration(Duration value);

// A size the way a config file writes it, in the largest 1024-based unit
// that keeps it whole: "512", "64KiB", "1MiB", "1GiB".
std::string format_size(uint64_t bytes);

}  // namespace wsgate::config
