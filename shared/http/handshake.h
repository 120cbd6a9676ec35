// Server side of the WebSocket opening handshake (RFC 6455 §4.2): a pure,
// bounded HTTP/1.1 request-head parser on llhttp plus the upgrade rules.
// Bytes in, a Request or an HTTP error out; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::http {

// SEC-LIM-01..03. Exceeding max_request_line gives 414; max_header_bytes
// (the whole head, request line included) or max_headers gives 431.
struct HeadLimits {
  size_t max_request_line = 8192;
  size_t max_header_bytes = 16384;
  size_t max_headers = 64;
};

// What the parser extracted from a complete, syntactically valid head.
// Header names in `headers` are lower-cased; values are OWS-trimmed.
struct Request {
  std::string method;
  int http_major = 0;
  int http_minor = 0;
  std::string target;  // as sent (origin-form or absolute-form)
  std::string path;    // origin-form path, percent-encoding kept
  std::string query;   // without '?'
  std::string host;    // the Host value, lower-cased
  std::optional<std::string> origin;
  std::vector<std::string> protocols;   // offered subprotocols, in order
  std::vector<std::string> extensions;  // offered extension elements, as sent
  std::vector<std::pair<std::string, std::string>> headers;

  // Upgrade facts, filled for every request; validate_upgrade() judges them.
  bool upgrade_websocket = false;   // Upgrade has token "websocket"
  bool connection_upgrade = false;  // Connection has token "upgrade"
  std::string key;                  // Sec-WebSocket-Key, trimmed
  std::string version;              // Sec-WebSocket-Version, trimmed
  bool has_body = false;            // Content-Length > 0 or Transfer-Encoding
                                    // (RequestHeadParser refuses such heads with
                                    // 400, so a parsed Request has it false)

  // Lookup by lower-case name; the first value if repeated.
  std::optional<std::string_view> header(std::string_view lower_name) const;
};

// An HTTP status with a short reason for the body and the log.
struct HttpError {
  int status = 400;
  std::string_view reason;  // static storage
};

// Accumulates the request head (bounded by HeadLimits) and parses it once
// the blank line arrives. feed() may be called with any split of the input.
class RequestHeadParser {
 public:
  enum class Status : uint8_t { NeedMore, Complete, Error };

  explicit RequestHeadParser(const HeadLimits& limits) : limits_(limits) {}

  // Consumes bytes of `data`. On Complete, `consumed` is the number of bytes
  // of *this call's* data that belong to the head; the rest (the tail) is
  // what the client sent after it (WS-HS-11). On Error see error().
  // On NeedMore every byte was taken (`consumed` == data.size()). On Error
  // `consumed` counts the bytes examined up to the offending one and
  // request() is empty. Once Complete or Error, later calls return the same
  // status and consume nothing.
  Status feed(std::span<const uint8_t> data, size_t& consumed);

  const Request& request() const { return request_; }
  const HttpError& error() const { return error_; }
  // Bytes held while waiting for the rest of the head.
  size_t buffered_bytes() const { return head_.capacity(); }

 private:
  Status parse_head();
  // Frames lines while bytes stream in (limits, bare CR/LF, the blank line).
  Status scan(std::span<const uint8_t> data, size_t& scanned);
  Status fail(int status, std::string_view reason);

  HeadLimits limits_;
  std::string head_;
  Request request_;
  HttpError error_;
  Status status_ = Status::NeedMore;
  // Framing state, carried across feed() calls so each byte is seen once.
  size_t line_start_ = 0;    // offset in the head of the current line
  size_t header_lines_ = 0;  // complete header lines so far
  bool in_request_line_ = true;
  bool after_cr_ = false;
};

// The routing-independent upgrade checks (WS-HS-01..08, WS-HS-10, HTTP-05):
// returns nullopt when `request` is a valid WebSocket upgrade, else the
// error to answer. A request that is not an upgrade at all (no Upgrade
// header) returns 426 so the caller can decide (plain HTTP route, 404, ...).
// A 405 (method not GET) must be answered with "Allow: GET", which the
// caller passes to make_response() as an extra header.
std::optional<HttpError> validate_upgrade(const Request& request);

// True when the request asks for an upgrade at all (has Upgrade header).
bool wants_upgrade(const Request& request);

// Sec-WebSocket-Accept for a client key (RFC 6455 §4.2.2 step 5.4).
std::string accept_key(std::string_view client_key);

// WS-SP-01: the first of the server's `supported` subprotocols (preference
// order) that the client offered, or nullopt.
std::optional<std::string> select_subprotocol(const std::vector<std::string>& offered,
                                              const std::vector<std::string>& supported);

// The reason of the 400 that answers a client none of whose offered
// subprotocols the route serves: "unsupported subprotocol: offered a, b;
// this route serves: x, y" (or "serves no subprotocol"). The tokens were
// validated by the parser (WS-SP-02), so the text is safe in a body.
std::string unserved_subprotocols(const std::vector<std::string>& offered,
                                  const std::vector<std::string>& served);

// SEC-OR-01/02: exact, case-insensitive match of the serialized origin
// against `allowed` (default ports normalised away). An empty allow-list
// means the route does no origin check. A missing Origin is refused when a
// list is set; "null" matches only an explicit "null" entry.
bool origin_allowed(const std::optional<std::string>& origin,
                    const std::vector<std::string>& allowed);

// The complete 101 response (WS-HS-08).
std::string make_101_response(std::string_view accept, const std::optional<std::string>& protocol,
                              std::string_view extensions = {});

// A complete HTTP error (or plain) response with a short text/plain body and
// "Connection: close". 426 responses carry "Upgrade: websocket" and
// "Sec-WebSocket-Version: 13" (WS-HS-06). `extra_headers` are CRLF-ended
// lines appended as they are. The body is `body` (the status text when
// empty) followed by "\n".
std::string make_response(int status, std::string_view body, std::string_view extra_headers = {});

std::string_view status_text(int status);

}  // namespace wsgate::http
