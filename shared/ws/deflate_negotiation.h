// permessage-deflate negotiation (RFC 7692 §5, §7.1; checklist PMD-01..06).
// Pure: the client's offered extension elements and the route's policy in,
// the accepted parameters and the response header value out.
#pragma once

#include <optional>
#include <span>
#include <string>

namespace wsgate::ws {

// What the route allows (routes[].compression).
struct DeflatePolicy {
  // Whether the server's deflate stream may keep its window between
  // messages; false answers server_no_context_takeover to every offer.
  bool server_context_takeover = false;
  // Whether the client may keep its window; false answers
  // client_no_context_takeover to every offer.
  bool client_context_takeover = false;
  int server_max_window_bits = 15;  // 9..15
};

// The parameters in force on a connection.
struct DeflateParameters {
  bool server_no_context_takeover = true;
  bool client_no_context_takeover = true;
  int server_window_bits = 15;  // the window our deflater uses (9..15)
  // The client's window: 15 unless the client itself offered a smaller
  // client_max_window_bits. Inflating with a window at least the peer's is
  // always correct, so the inflater uses this.
  int client_window_bits = 15;
  std::string response;  // the Sec-WebSocket-Extensions value to send
};

// Picks the first offer (in the client's order) that is a valid
// permessage-deflate offer the policy can honour, and answers it with
// exactly the parameters in force. An offer with an unknown, repeated or
// malformed parameter, or server_max_window_bits=8 (zlib cannot deflate
// with a 256-byte window), is declined and the next one is tried. Other
// extensions are ignored (declined). nullopt: nothing accepted, send no
// Sec-WebSocket-Extensions header.
std::optional<DeflateParameters> negotiate_deflate(std::span<const std::string> offers,
                                                   const DeflatePolicy& policy);

}  // namespace wsgate::ws
