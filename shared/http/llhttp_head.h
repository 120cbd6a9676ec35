// Private: runs the strict llhttp build over one complete request head and
// collects what the handshake needs (checklist HTTP-08/09, §4.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/handshake.h"

namespace wsgate::http::detail {

// The head as llhttp understood it. Field names are as sent; values are as
// llhttp delivers them (leading OWS dropped, trailing OWS kept).
struct RawHead {
  std::string method;
  int http_major = 0;
  int http_minor = 0;
  std::string url;
  std::vector<std::pair<std::string, std::string>> fields;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool has_transfer_encoding = false;
};

// Parses `head` (request line through the blank line, nothing after it) in
// HTTP_REQUEST mode. Parsing stops in on_headers_complete, so llhttp never
// looks for a body, for upgrade and plain requests alike. Returns nullopt
// and fills `out` when llhttp accepts the head and stopped exactly at its
// end; otherwise a 400 whose reason is llhttp's (static) text, or 500 when
// memory ran out inside a callback. No exception leaves a llhttp callback.
std::optional<HttpError> run_llhttp(std::string_view head, RawHead& out);

}  // namespace wsgate::http::detail
