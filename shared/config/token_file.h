// The websockify token file of a proxy route: one "token: target" per line,
// mapping the token a client names to the upstream it is joined to. A pure
// parser: text in, the token map and the errors out; the loader reads the
// file.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace wsgate::config {

struct TokenFile {
  std::map<std::string, UpstreamAddress, std::less<>> tokens;
  std::map<std::string, int, std::less<>> lines;  // token -> its 1-based line
  std::vector<std::string> errors;                // "FILE:LINE: what", in line order
};

// Parses `text`, the content of the token file `file` (named in errors).
// Format (websockify's TokenFile): lines of "token: target", the token and
// target trimmed of spaces and tabs, split at the first ':' followed by a
// space or tab; blank lines and lines starting with '#' are skipped; '\r'
// before '\n' is ignored. A target is host:port (host a DNS name, IPv4, or
// [IPv6]) or, as wsgate's extension, unix:/absolute/path. A token given
// twice is an error; the first one stays in `tokens`.
TokenFile parse_token_file(std::string_view text, std::string_view file);

}  // namespace wsgate::config
