// Parsers and formatters for the scalar syntaxes of the config file.
#include "config/values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

namespace wsgate::config {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads the digits at the front of `text` into `out`, consuming them.
// Returns false on no digits or on overflow of `limit`.
bool take_number(std::string_view& text, uint64_t limit, uint64_t& out, bool& overflow) {
  size_t n = 0;
  out = 0;
  overflow = false;
  while (n < text.size() && is_digit(text[n])) {
    uint64_t digit = static_cast<uint64_t>(text[n] - '0');
    if (out > (limit - digit) / 10) overflow = true;
    if (!overflow) out = out * 10 + digit;
    ++n;
  }
  text.remove_prefix(n);
  return n > 0;
}

// Removes leading spaces from `text`.
void skip_spaces(std::string_view& text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
}

// Reads the letters at the front of `text`, consuming them.
std::string_view take_unit(std::string_view& text) {
  size_t n = 0;
  while (n < text.size() && is_alpha(text[n])) ++n;
  std::string_view unit = text.substr(0, n);
  text.remove_prefix(n);
  return unit;
}

// Checks a decimal port of 0..65535; writes it to `port`.
bool parse_port(std::string_view text, uint16_t& port) {
  if (!all_digits(text) || text.size() > 5) return false;
  uint64_t value = 0;
  bool overflow = false;
  take_number(text, 65535, value, overflow);
  if (overflow) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

// The host part of an origin, in lower case: letters, digits, '-', '.', '_'.
std::string check_origin_host(std::string_view host) {
  if (host.empty()) return "needs a host after the scheme";
  if (host.front() == '[') {
    if (host.back() != ']') return "has an IPv6 address without its closing ]";
    std::string inside(host.substr(1, host.size() - 2));
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET6, inside.c_str(), bytes.data()) != 1) {
      return "has an invalid IPv6 address in [ ]";
    }
    return "";
  }
  for (char c : host) {
    if (c >= 'A' && c <= 'Z') return "must be lower case, as browsers send it";
    if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_')) {
      return std::string("has an invalid character '") + c + "' in its host";
    }
  }
  return "";
}

}  // namespace

Parsed<bool> parse_bool(std::string_view text) {
  if (text == "true") return Parsed<bool>::ok(true);
  if (text == "false") return Parsed<bool>::ok(false);
  std::string word = lower(text);
  if (word == "true" || word == "yes" || word == "y" || word == "on" || word == "1") {
    return Parsed<bool>::fail("must be true or false; write true (yes/no/on/off are not accepted)");
  }
  if (word == "false" || word == "no" || word == "n" || word == "off" || word == "0") {
    return Parsed<bool>::fail(
        "must be true or false; write false (yes/no/on/off are not accepted)");
  }
  return Parsed<bool>::fail("must be true or false");
}

Parsed<int64_t> parse_int(std::string_view text) {
  bool negative = !text.empty() && text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (!all_digits(digits)) return Parsed<int64_t>::fail("must be a whole number");
  uint64_t value = 0;
  bool overflow = false;
  uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  take_number(digits, limit, value, overflow);
  if (overflow) return Parsed<int64_t>::fail("is too large");
  int64_t signed_value = static_cast<int64_t>(value);
  return Parsed<int64_t>::ok(negative ? -signed_value : signed_value);
}

Parsed<Duration> parse_duration(std::string_view text) {
  using Result = Parsed<Duration>;
  if (text.empty()) return Result::fail("is empty; write a duration such as 30s");
  if (text == "0") return Result::ok(Duration(0));
  if (text.front() == '-') return Result::fail("must not be negative");
  if (all_digits(text)) return Result::fail("needs a unit: ms, s, m or h (as in 30s)");
  constexpr uint64_t kLimit = uint64_t{1} << 52;  // far beyond any range, safe to multiply
  uint64_t total = 0;
  while (!text.empty()) {
    uint64_t number = 0;
    bool overflow = false;
    if (!take_number(text, kLimit, number, overflow)) {
      return Result::fail("is not a duration; write for example 100ms, 30s, 5m or 1h");
    }
    if (overflow) return Result::fail("is too large");
    if (!text.empty() && (text.front() == '.' || text.front() == ',')) {
      return Result::fail("must be whole numbers; use a smaller unit (1500ms, not 1.5s)");
    }
    skip_spaces(text);
    std::string_view unit = take_unit(text);
    uint64_t scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60 * 1000;
    else if (unit == "h")
      scale = 60 * 60 * 1000;
    else if (unit.empty())
      return Result::fail("needs a unit after each number: ms, s, m or h");
    else
      return Result::fail("has unknown unit '" + std::string(unit) + "'; use ms, s, m or h");
    if (number > (kLimit - total) / scale) return Result::fail("is too large");
    total += number * scale;
    skip_spaces(text);
  }
  return Result::ok(Duration(static_cast<int64_t>(total)));
}

Parsed<uint64_t> parse_size(std::string_view text) {
  using Result = Parsed<uint64_t>;
  if (text.empty()) return Result::fail("is empty; write a size such as 64KiB");
  if (text.front() == '-') return Result::fail("must not be negative");
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t number = 0;
  bool overflow = false;
  if (!take_number(text, kLimit, number, overflow)) {
    return Result::fail("is not a size; write for example 512, 64KiB, 1MiB or 1GiB");
  }
  if (overflow) return Result::fail("is too large");
  if (!text.empty() && (text.front() == '.' || text.front() == ',')) {
    return Result::fail("must be a whole number; use a smaller unit (1536KiB, not 1.5MiB)");
  }
  skip_spaces(text);
  std::string_view unit = take_unit(text);
  if (!text.empty()) return Result::fail("is not a size; write for example 512, 64KiB or 1MiB");
  uint64_t scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "k" || unit == "K" || unit == "KiB")
    scale = uint64_t{1} << 10;
  else if (unit == "M" || unit == "MiB")
    scale = uint64_t{1} << 20;
  else if (unit == "G" || unit == "GiB")
    scale = uint64_t{1} << 30;
  if (scale == 0) {
    std::string word = lower(unit);
    if (word == "kb" || word == "mb" || word == "gb") {
      std::string binary = std::string(1, static_cast<char>(std::toupper(word[0]))) + "iB";
      return Result::fail("must say " + binary + " rather than " + std::string(unit) +
                          ": sizes are powers of 1024");
    }
    if (word == "kib" || word == "mib" || word == "gib" || word == "b") {
      return Result::fail("has unit '" + std::string(unit) +
                          "' in the wrong case; write B, KiB, MiB or GiB");
    }
    return Result::fail("has unknown unit '" + std::string(unit) +
                        "'; use B, KiB, MiB or GiB (or k, K, M, G)");
  }
  if (number > kLimit / scale) return Result::fail("is too large");
  return Result::ok(number * scale);
}

Parsed<ListenAddress> parse_address(std::string_view text) {
  using Result = Parsed<ListenAddress>;
  const std::string example = "write host:port such as 127.0.0.1:8080, [::1]:8080 or *:8080";
  if (text.empty()) return Result::fail("is empty; " + example);
  ListenAddress address;
  address.text = std::string(text);
  std::string_view port_text;
  char printed[INET6_ADDRSTRLEN] = {};
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Result::fail("has no ] after the IPv6 address");
    address.host = std::string(text.substr(1, close - 1));
    address.ipv6 = true;
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return Result::fail("needs :port after ]; " + example);
    port_text = rest.substr(1);
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET6, address.host.c_str(), bytes.data()) != 1) {
      return Result::fail("has an invalid IPv6 address in [ ]; names are not resolved");
    }
    inet_ntop(AF_INET6, bytes.data(), printed, sizeof printed);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      if (all_digits(text)) {
        return Result::fail("needs a host; write *:" + std::string(text) +
                            " for every IPv4 address or 127.0.0.1:" + std::string(text));
      }
      return Result::fail("needs a port; " + example);
    }
    if (text.find(':') != colon) {
      return Result::fail("needs brackets around an IPv6 address, as in [::1]:8080");
    }
    std::string_view host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.empty()) {
      return Result::fail("needs a host; write *:" + std::string(port_text) +
                          " for every IPv4 address");
    }
    address.host = host == "*" ? "0.0.0.0" : std::string(host);
    std::array<unsigned char, 4> bytes{};
    if (inet_pton(AF_INET, address.host.c_str(), bytes.data()) != 1) {
      if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
        return Result::fail("has an invalid IPv4 address");
      }
      return Result::fail("host must be a numeric IPv4 or IPv6 address; names are not resolved");
    }
    inet_ntop(AF_INET, bytes.data(), printed, sizeof printed);
  }
  if (!parse_port(port_text, address.port)) {
    return Result::fail("port must be a number from 0 to 65535 (0 picks any free port)");
  }
  address.canonical = address.ipv6 ? "[" + std::string(printed) + "]" : std::string(printed);
  address.canonical += ":" + std::to_string(address.port);
  return Result::ok(std::move(address));
}

std::string check_origin(std::string_view text) {
  if (text == "null") return "";
  if (text == "*") return "cannot be a wildcard; leave origins empty to allow any Origin";
  size_t separator = text.find("://");
  if (separator == std::string_view::npos) {
    return "must be null or scheme://host[:port], as in https://example.com";
  }
  std::string_view scheme = text.substr(0, separator);
  std::string_view rest = text.substr(separator + 3);
  if (scheme != "http" && scheme != "https" && scheme != "ws" && scheme != "wss") {
    std::string word = lower(scheme);
    if (word == "http" || word == "https" || word == "ws" || word == "wss") {
      return "must be lower case, as browsers send it";
    }
    return "must have scheme http, https, ws or wss";
  }
  if (rest.find('@') != std::string_view::npos) return "must not contain user info (user@)";
  size_t path = rest.find_first_of("/?#");
  if (path != std::string_view::npos) {
    return path + 1 == rest.size() && rest[path] == '/'
               ? "must not end with /; an Origin is scheme://host[:port] only"
               : "must not have a path, query or fragment; an Origin is scheme://host[:port] only";
  }
  std::string_view host = rest;
  std::string_view port_text;
  size_t colon = rest.rfind(':');
  size_t bracket = rest.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    uint16_t port = 0;
    if (!parse_port(port_text, port) || port == 0) return "port must be a number from 1 to 65535";
    bool secure = scheme == "https" || scheme == "wss";
    if (port == (secure ? 443 : 80)) {
      return "must leave out the default port :" + std::to_string(port) +
             ", as browsers do in Origin";
    }
  }
  return check_origin_host(host);
}

bool is_token(std::string_view text) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return is_alpha(c) || is_digit(c) || kSymbols.find(c) != std::string_view::npos;
  });
}

std::string format_duration(Duration value) {
  int64_t ms = value.count();
  if (ms == 0) return "0";
  constexpr int64_t kHour = 3600 * 1000, kMinute = 60 * 1000, kSecond = 1000;
  if (ms % kHour == 0) return std::to_string(ms / kHour) + "h";
  if (ms % kMinute == 0) return std::to_string(ms / kMinute) + "m";
  if (ms % kSecond == 0) return std::to_string(ms / kSecond) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0";
  constexpr uint64_t kGiB = uint64_t{1} << 30, kMiB = uint64_t{1} << 20, kKiB = uint64_t{1} << 10;
  if (bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "GiB";
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "MiB";
  if (bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "KiB";
  return std::to_string(bytes);
}

}  // namespace wsgate::config
