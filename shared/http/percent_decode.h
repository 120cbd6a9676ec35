// Percent-decoding of URL parts (RFC 3986 section 2.1), for what relays
// read from the request target: query values and script paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsgate::http {

struct PercentDecoded {
  std::string text;
  bool encoded_slash_or_nul = false;  // a %2F or %00 was decoded
};

// Decodes %XX escapes (either case); with `plus_is_space`, '+' becomes a
// space as in form-encoded query strings. nullopt on a malformed escape.
std::optional<PercentDecoded> percent_decode(std::string_view text, bool plus_is_space = false);

}  // namespace wsgate::http
