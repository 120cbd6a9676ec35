// Strict line-level checks of a complete request head (HTTP-02/03/06/09).
#include "http/head_prescan.h"

#include "http/header_lists.h"

namespace wsgate::http::detail {
namespace {

constexpr HttpError bad(std::string_view reason) {
  return HttpError{400, reason};
}

bool is_ctl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

std::optional<HttpError> check_request_line(std::string_view line) {
  size_t spaces = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == ' ') {
      // No leading, trailing or doubled SP: three non-empty parts.
      if (i == 0 || i + 1 == line.size() || line[i - 1] == ' ') {
        return bad("malformed request line");
      }
      ++spaces;
    } else if (is_ctl(c)) {
      return bad("control character in request line");
    }
  }
  if (spaces != 2) return bad("malformed request line");
  return std::nullopt;
}

std::optional<HttpError> check_header_line(std::string_view line) {
  const auto first = static_cast<unsigned char>(line[0]);
  if (first == ' ' || first == '\t') return bad("obs-fold (line folding) in header");
  size_t colon = 0;
  for (;; ++colon) {
    if (colon == line.size()) return bad("header line without colon");
    const auto c = static_cast<unsigned char>(line[colon]);
    if (c == ':') break;
    if (c == ' ' || c == '\t') return bad("whitespace in header field name");
    if (!is_tchar(c)) return bad("invalid character in header field name");
  }
  if (colon == 0) return bad("empty header field name");
  for (size_t i = colon + 1; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == 0) return bad("NUL in header value");
    if (c != '\t' && is_ctl(c)) return bad("control character in header value");
  }
  return std::nullopt;
}

}  // namespace

std::optional<HttpError> prescan_head(std::string_view head) {
  constexpr std::string_view kCrlf = "\r\n";
  size_t start = 0;
  bool request_line = true;
  for (;;) {
    const size_t end = head.find(kCrlf, start);
    if (end == std::string_view::npos) return bad("request head not CRLF-terminated");
    const std::string_view line = head.substr(start, end - start);
    if (line.empty()) {
      if (request_line) return bad("empty request line");
      return std::nullopt;  // the blank line ends the head
    }
    auto error = request_line ? check_request_line(line) : check_header_line(line);
    if (error) return error;
    request_line = false;
    start = end + kCrlf.size();
  }
}

}  // namespace wsgate::http::detail
