// Private helpers of the handshake: RFC 9110 character classes and the
// single-pass scanners for comma-separated header lists (WS-SP-02/03).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::http::detail {

// tchar of RFC 9110 §5.6.2.
bool is_tchar(unsigned char c);
// A non-empty run of tchar.
bool is_token(std::string_view text);
// ASCII case-insensitive equality; other bytes compare exactly.
bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view text);
// Strips optional whitespace (SP and HTAB) at both ends.
std::string_view trim_ows(std::string_view text);

// How one list header is checked while its lines are combined.
struct ListRules {
  enum class Element : unsigned char {
    Token,      // 1#token (Connection, Sec-WebSocket-Protocol)
    Protocol,   // 1#protocol, protocol = token ["/" token] (Upgrade)
    Extension,  // RFC 6455 §9.1 extension element with parameters
  };
  Element element = Element::Token;
  bool allow_empty_elements = true;  // RFC 9110 §5.6.1 says ignore them
  size_t max_elements = SIZE_MAX;
  size_t max_bytes = SIZE_MAX;  // combined value bytes, one ',' per extra line
};

// Accumulates the elements of one list header over all of its lines, as if
// the lines had been joined with ','. Each element is kept OWS-trimmed, as
// sent. The scan is one pass with no backtracking; work is linear in the
// input. After a failure, the list stays failed and further lines are
// ignored; problem() names the first problem.
class HeaderList {
 public:
  enum class Problem : unsigned char { None, TooLong, TooManyElements, EmptyElement, BadElement };

  explicit HeaderList(const ListRules& rules) : rules_(rules) {}

  // Adds one header line's value. Returns false when the list is invalid.
  bool add_line(std::string_view value);

  bool ok() const { return problem_ == Problem::None; }
  Problem problem() const { return problem_; }
  bool seen() const { return lines_ > 0; }
  const std::vector<std::string>& elements() const { return elements_; }
  // True when an element equals `token` ASCII case-insensitively.
  bool contains_token(std::string_view token) const;

 private:
  bool fail(Problem problem);
  bool element_valid(std::string_view element) const;

  ListRules rules_;
  std::vector<std::string> elements_;
  size_t lines_ = 0;
  size_t bytes_ = 0;
  Problem problem_ = Problem::None;
};

}  // namespace wsgate::http::detail
