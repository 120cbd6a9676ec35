// Private: turns what llhttp parsed into a Request and applies the header
// rules of the handshake (WS-HS-02/05/06, WS-SP-02/03, HTTP-05).
#pragma once

#include <optional>

#include "http/handshake.h"
#include "http/llhttp_head.h"

namespace wsgate::http::detail {

// Bounds of the offered subprotocol and extension lists (WS-SP-03): the
// combined value of all lines of the header, and its element count.
inline constexpr size_t kMaxListBytes = 1024;
inline constexpr size_t kMaxListElements = 32;

// Fills `out` from `raw`. Refuses with 400: an HTTP major version other than
// 1; a '#' in the target; an absolute-form target whose scheme is not
// http/https/ws/wss, that carries userinfo, or whose authority differs from
// Host (policy: the RFC says to ignore Host then; refusing a mismatch keeps
// a proxy that routes on Host and this gateway in agreement); a missing,
// repeated, empty or invalid Host; a repeated Sec-WebSocket-Key,
// Sec-WebSocket-Version, Content-Length or Origin; an invalid or
// over-long Connection, Upgrade, Sec-WebSocket-Protocol (no empty elements)
// or Sec-WebSocket-Extensions list. `out.host` is lower-cased. On error
// `out` is partly filled and must not be used.
std::optional<HttpError> build_request(RawHead& raw, Request& out);

}  // namespace wsgate::http::detail
