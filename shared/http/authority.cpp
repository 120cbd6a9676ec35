// The uri-host [":" port] grammar shared by Host, request targets and Origin.
#include "http/authority.h"

namespace wsgate::http::detail {
namespace {

bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// unreserved / sub-delims of RFC 3986 §2.2-2.3.
bool is_reg_name_char(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

bool valid_reg_name(std::string_view host) {
  if (host.empty()) return false;
  for (size_t i = 0; i < host.size(); ++i) {
    const auto c = static_cast<unsigned char>(host[i]);
    if (c == '%') {
      if (i + 2 >= host.size()) return false;
      if (!is_hex(static_cast<unsigned char>(host[i + 1])) ||
          !is_hex(static_cast<unsigned char>(host[i + 2]))) {
        return false;
      }
      i += 2;
    } else if (!is_reg_name_char(c)) {
      return false;
    }
  }
  return true;
}

bool valid_ip_literal(std::string_view host) {
  // host includes the brackets.
  if (host.size() < 3) return false;
  for (size_t i = 1; i + 1 < host.size(); ++i) {
    const auto c = static_cast<unsigned char>(host[i]);
    if (!is_hex(c) && c != ':' && c != '.') return false;
  }
  return true;
}

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (const char ch : port) {
    const auto c = static_cast<unsigned char>(ch);
    if (!is_digit(c)) return false;
    value = value * 10 + (c - '0');
  }
  return value <= 65535;
}

}  // namespace

std::optional<Authority> parse_authority(std::string_view text) {
  Authority out;
  size_t host_end = 0;
  if (!text.empty() && text[0] == '[') {
    host_end = text.find(']');
    if (host_end == std::string_view::npos) return std::nullopt;
    ++host_end;
    out.host = text.substr(0, host_end);
    if (!valid_ip_literal(out.host)) return std::nullopt;
  } else {
    host_end = text.find(':');
    if (host_end == std::string_view::npos) host_end = text.size();
    out.host = text.substr(0, host_end);
    if (!valid_reg_name(out.host)) return std::nullopt;
  }
  if (host_end == text.size()) return out;
  if (text[host_end] != ':') return std::nullopt;
  out.port = text.substr(host_end + 1);
  if (!valid_port(out.port)) return std::nullopt;
  return out;
}

}  // namespace wsgate::http::detail
