// The response rules of static routes once a regular file is found:
// validators (ETag, Last-Modified), conditional requests (RFC 9110 §13),
// single byte ranges (RFC 9110 §14) and the response head. Bytes in,
// decisions out; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/handshake.h"

namespace wsgate::http {

// The request headers a file answer depends on, copied out of the Request
// (which does not outlive the handshake) when the lookup starts.
struct FileRequest {
  bool head = false;  // HEAD: the same head as GET, no body
  std::optional<std::string> if_match;
  std::optional<std::string> if_none_match;
  std::optional<std::string> if_modified_since;
  std::optional<std::string> if_unmodified_since;
  std::optional<std::string> range;
  std::optional<std::string> if_range;
};

FileRequest file_request_of(const Request& request);

// What is known of the file from fstat().
struct FileFacts {
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds since the epoch
};

// nginx's ETag: "<mtime hex>-<size hex>", quoted, strong.
std::string make_etag(const FileFacts& file);

// IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(int64_t unix_seconds);

// An HTTP-date in any of the three forms RFC 9110 §5.6.7 says a recipient
// accepts (IMF-fixdate, RFC 850, asctime), as seconds since the epoch;
// nullopt when it is none of them.
std::optional<int64_t> parse_http_date(std::string_view text);

// The answer to Range, for a file of `size` bytes.
struct ByteRange {
  enum class Kind : uint8_t {
    Whole,          // no Range, or one to ignore (malformed, several ranges): 200
    Part,           // one satisfiable range: 206 with first..last
    Unsatisfiable,  // one range that starts past the end: 416
  };
  Kind kind = Kind::Whole;
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

// Parses a Range value: "bytes=a-b", "bytes=a-" or "bytes=-n" (the unit
// case-insensitive). A range list of more than one range is answered with
// the whole file (multipart/byteranges is not offered), as is anything
// malformed (RFC 9110 §14.2 lets a server ignore Range). A last position
// past the end is cut to the end; a suffix longer than the file is the
// whole file; a first position at or past the end, or a suffix of 0, is
// unsatisfiable.
ByteRange parse_range(std::string_view value, uint64_t size);

// The response to a GET or HEAD of a regular file: its head, and which
// bytes of the file follow it.
struct FileAnswer {
  int status = 200;     // 200, 206, 304, 412 or 416
  std::string head;     // status line and headers through the blank line; for
                        // 412 and 416 of a GET, also the short text body
  uint64_t offset = 0;  // first byte of the file to send after the head
  uint64_t length = 0;  // bytes of the file to send (0 for HEAD, 304, 412, 416)
};

// Decides the answer, in RFC 9110 §13.2.2's order: If-Match (412 unless
// "*" or a strong match), else If-Unmodified-Since (412 when the file is
// newer); If-None-Match (304 on a weak match or "*"), else
// If-Modified-Since (304 unless the file is newer than the date); then
// Range (GET only), honoured only when If-Range is absent or still holds
// (the same strong ETag, or exactly the Last-Modified date). A date that
// does not parse is ignored, as RFC 9110 says. Every head carries
// "Connection: close" (the connection ends after one answer), and
// `now` (seconds since the epoch) gives its Date header.
FileAnswer answer_file(const FileRequest& request, const FileFacts& file,
                       std::string_view content_type, int64_t now);

}  // namespace wsgate::http
