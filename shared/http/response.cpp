// Serialized HTTP responses of the handshake: the 101 and plain error answers.
#include <string>

#include "http/handshake.h"
#include "http/header_lists.h"

namespace wsgate::http {

std::string_view status_text(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 421:
      return "Misdirected Request";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown Status";
  }
}

// WS-HS-08 and WS-SP-04: Sec-WebSocket-Extensions only with what
// negotiate_deflate() accepted (`extensions`, our own text). `protocol` is
// written only when it is a token (select_subprotocol() only returns
// offered tokens), so neither an empty value (WS-SP-01) nor a CR/LF can
// reach the wire.
std::string make_101_response(std::string_view accept, const std::optional<std::string>& protocol,
                              std::string_view extensions) {
  std::string out;
  out.reserve(160);
  out.append(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  out.append(accept).append("\r\n");
  if (protocol && detail::is_token(*protocol)) {
    out.append("Sec-WebSocket-Protocol: ").append(*protocol).append("\r\n");
  }
  if (!extensions.empty())
    out.append("Sec-WebSocket-Extensions: ").append(extensions).append("\r\n");
  out.append("\r\n");
  return out;
}

// The body is `body` (or the status text when `body` is empty) plus "\n".
// An `extra_headers` block that does not end in CRLF gets one, so a caller's
// slip cannot merge its last header into the blank line. For HEAD requests
// the caller sends only the part before the body.
std::string make_response(int status, std::string_view body, std::string_view extra_headers) {
  const std::string_view text = body.empty() ? status_text(status) : body;
  std::string out;
  out.reserve(160 + extra_headers.size() + text.size());
  out.append("HTTP/1.1 ")
      .append(std::to_string(status))
      .append(" ")
      .append(status_text(status))
      .append("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")
      .append(std::to_string(text.size() + 1))
      .append("\r\nConnection: close\r\n");
  if (status == 426) out.append("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
  out.append(extra_headers);
  if (!extra_headers.empty() && !extra_headers.ends_with("\r\n")) out.append("\r\n");
  out.append("\r\n").append(text).append("\n");
  return out;
}

}  // namespace wsgate::http
