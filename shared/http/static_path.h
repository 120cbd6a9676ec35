// The path rules of static routes: which file under a route's root a
// request path names (percent-decoding, dot segments, dot files), and the
// Content-Type of a file name. Bytes in, decisions out; no I/O.
#pragma once

#include <string>
#include <string_view>

namespace wsgate::http {

// What a request path under a static mount names.
struct StaticPath {
  int status = 0;           // 0: serve `relative`; else the status to answer (400 or 404)
  std::string_view reason;  // why, when status != 0 (static storage, safe in a body)
  // The decoded path below the mount, dot segments resolved and empty
  // segments dropped, without a leading '/': "" is the mount itself,
  // "css/site.css" a file, "docs" a name that may be a directory.
  std::string relative;
  // The request asked for a directory: its path ended with '/' (or with a
  // "." or ".." segment, which RFC 3986 resolves to one).
  bool trailing_slash = false;
};

// Resolves `path` (the request path as sent, percent-encoding kept) under
// `mount` (a static route's path, which starts and ends with '/'). `path`
// starts with `mount`, or is `mount` without its trailing '/'.
//
// - A malformed %XX escape is 400, and so is an encoded NUL (%00) or an
//   encoded '/' (%2F): neither can name a file, and a decoded '/' would be
//   a separator the client chose to hide.
// - "." segments are dropped, ".." removes the segment before it, and a
//   ".." with nothing left to remove (one that climbs above the mount) is
//   400, as nginx answers a path that climbs above its root.
// - A segment that remains and starts with '.' (".git", ".env") is 404
//   unless `dot_files`.
StaticPath resolve_static_path(std::string_view path, std::string_view mount, bool dot_files);

// The Location of the redirect that adds a directory's trailing '/':
// `mount`, then `relative` (a StaticPath's, decoded) percent-encoded again
// except for unreserved characters, sub-delims, ':', '@' and '/', then
// '/', then "?" and `query` when it is not empty. Built from the resolved
// path rather than the one sent, so that "//evil.example" or "/\evil"
// cannot become a redirect to another host.
std::string directory_location(std::string_view mount, std::string_view relative,
                               std::string_view query);

// The Content-Type of a file, from the extension of `name` (the last
// segment of a path; case-insensitive): text types carry
// "; charset=utf-8"; an unknown or missing extension is
// application/octet-stream.
std::string_view content_type(std::string_view name);

}  // namespace wsgate::http
