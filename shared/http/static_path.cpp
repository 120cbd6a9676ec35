// Static routes' path rules and content types (see static_path.h).
#include "http/static_path.h"

#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "http/percent_decode.h"

namespace wsgate::http {
namespace {

StaticPath refused(int status, std::string_view reason) {
  StaticPath out;
  out.status = status;
  out.reason = reason;
  return out;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Extension -> Content-Type. Text types say their charset, since browsers
// otherwise guess it (and a wrong guess breaks non-ASCII pages).
constexpr std::array<std::pair<std::string_view, std::string_view>, 21> kTypes{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"xml", "application/xml; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"webp", "image/webp"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"pdf", "application/pdf"},
    {"mp4", "video/mp4"},
}};

}  // namespace

StaticPath resolve_static_path(std::string_view path, std::string_view mount, bool dot_files) {
  StaticPath out;
  std::string_view rest;
  if (path.size() < mount.size()) {
    // The mount without its trailing '/': the mount's directory, asked for
    // without the slash (the caller's lookup answers it with a redirect).
    rest = {};
  } else {
    rest = path.substr(mount.size());
    out.trailing_slash = rest.empty();
  }
  std::optional<PercentDecoded> decoded = percent_decode(rest);
  if (!decoded) return refused(400, "malformed percent-encoding in the path");
  // A raw NUL cannot come through the request parser, but a path with one
  // would be cut short by the C calls that open it: refused here as well.
  if (decoded->encoded_slash_or_nul || decoded->text.find('\0') != std::string::npos) {
    return refused(400, "an encoded / or NUL in the path names no file");
  }
  std::vector<std::string_view> kept;
  std::string_view text = decoded->text;
  while (!text.empty()) {
    const size_t slash = text.find('/');
    const std::string_view segment = text.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    text = last ? std::string_view() : text.substr(slash + 1);
    if (segment == "..") {
      if (kept.empty()) return refused(400, "the path climbs above the route's root");
      kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    // A path that ends with '/', "." or ".." names a directory.
    if (last) {
      out.trailing_slash = segment.empty() || segment == "." || segment == "..";
    } else if (text.empty()) {
      out.trailing_slash = true;
    }
  }
  for (std::string_view segment : kept) {
    if (!dot_files && segment.front() == '.') return refused(404, "not found");
    if (!out.relative.empty()) out.relative += '/';
    out.relative.append(segment);
  }
  return out;
}

std::string directory_location(std::string_view mount, std::string_view relative,
                               std::string_view query) {
  constexpr std::string_view kKept =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/";
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out(mount);
  for (const char c : relative) {
    if (kKept.find(c) != std::string_view::npos) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  if (!relative.empty()) out += '/';
  if (!query.empty()) out.append("?").append(query);
  return out;
}

std::string_view content_type(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return "application/octet-stream";
  const std::string_view extension = name.substr(dot + 1);
  for (const auto& [known, type] : kTypes) {
    if (equal_ignoring_case(known, extension)) return type;
  }
  return "application/octet-stream";
}

}  // namespace wsgate::http
