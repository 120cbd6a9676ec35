// Single-pass scanners for the comma-separated handshake headers (WS-SP-02/03).
#include "http/header_lists.h"

namespace wsgate::http::detail {
namespace {

bool is_ows(unsigned char c) {
  return c == ' ' || c == '\t';
}

unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

// Advances `pos` over a run of tchar; returns false when there is none.
bool scan_token(std::string_view text, size_t& pos) {
  const size_t start = pos;
  while (pos < text.size() && is_tchar(static_cast<unsigned char>(text[pos]))) ++pos;
  return pos > start;
}

void skip_ows(std::string_view text, size_t& pos) {
  while (pos < text.size() && is_ows(static_cast<unsigned char>(text[pos]))) ++pos;
}

// quoted-string of RFC 9110 §5.6.4, starting at the opening DQUOTE.
bool scan_quoted_string(std::string_view text, size_t& pos) {
  ++pos;  // the opening DQUOTE
  while (pos < text.size()) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c == '"') {
      ++pos;
      return true;
    }
    if (c == '\\') {
      if (pos + 1 >= text.size()) return false;
      const auto escaped = static_cast<unsigned char>(text[pos + 1]);
      if (escaped != '\t' && (escaped < 0x20 || escaped == 0x7f)) return false;
      pos += 2;
      continue;
    }
    if (c != '\t' && (c < 0x20 || c == 0x7f)) return false;
    ++pos;
  }
  return false;
}

// extension = token *( OWS ";" OWS token [ OWS "=" OWS ( token / quoted-string ) ] )
// The whitespace around "=" is the implied LWS of RFC 6455's RFC 2616 ABNF.
bool is_extension_element(std::string_view text) {
  size_t pos = 0;
  if (!scan_token(text, pos)) return false;
  for (;;) {
    skip_ows(text, pos);
    if (pos == text.size()) return true;
    if (text[pos] != ';') return false;
    ++pos;
    skip_ows(text, pos);
    if (!scan_token(text, pos)) return false;
    skip_ows(text, pos);
    if (pos < text.size() && text[pos] == '=') {
      ++pos;
      skip_ows(text, pos);
      if (pos < text.size() && text[pos] == '"') {
        if (!scan_quoted_string(text, pos)) return false;
      } else if (!scan_token(text, pos)) {
        return false;
      }
    }
  }
}

// protocol = protocol-name [ "/" protocol-version ] (RFC 9110 §7.8).
bool is_upgrade_protocol(std::string_view text) {
  size_t pos = 0;
  if (!scan_token(text, pos)) return false;
  if (pos == text.size()) return true;
  if (text[pos] != '/') return false;
  ++pos;
  return scan_token(text, pos) && pos == text.size();
}

}  // namespace

bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view text) {
  size_t pos = 0;
  return scan_token(text, pos) && pos == text.size();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(lower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim_ows(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && is_ows(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && is_ows(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

bool HeaderList::fail(Problem problem) {
  if (problem_ == Problem::None) problem_ = problem;
  return false;
}

bool HeaderList::element_valid(std::string_view element) const {
  switch (rules_.element) {
    case ListRules::Element::Token:
      return is_token(element);
    case ListRules::Element::Protocol:
      return is_upgrade_protocol(element);
    case ListRules::Element::Extension:
      return is_extension_element(element);
  }
  return false;
}

bool HeaderList::add_line(std::string_view value) {
  if (!ok()) return false;
  bytes_ += value.size() + (lines_ > 0 ? 1 : 0);
  ++lines_;
  if (bytes_ > rules_.max_bytes) return fail(Problem::TooLong);

  // Commas split elements except inside quoted-strings, which only the
  // extension grammar allows; elsewhere a DQUOTE fails token validation.
  const bool quotes = rules_.element == ListRules::Element::Extension;
  size_t start = 0;
  size_t pos = 0;
  for (;;) {
    if (pos < value.size() && quotes && value[pos] == '"') {
      if (!scan_quoted_string(value, pos)) return fail(Problem::BadElement);
      continue;
    }
    if (pos < value.size() && value[pos] != ',') {
      ++pos;
      continue;
    }
    const std::string_view element = trim_ows(value.substr(start, pos - start));
    if (element.empty()) {
      if (!rules_.allow_empty_elements) return fail(Problem::EmptyElement);
    } else {
      if (!element_valid(element)) return fail(Problem::BadElement);
      if (elements_.size() >= rules_.max_elements) return fail(Problem::TooManyElements);
      elements_.emplace_back(element);
    }
    if (pos == value.size()) return true;
    start = ++pos;
  }
}

bool HeaderList::contains_token(std::string_view token) const {
  for (const std::string& element : elements_) {
    if (iequals(element, token)) return true;
  }
  return false;
}

}  // namespace wsgate::http::detail
