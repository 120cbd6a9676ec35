// The client's opening handshake (see ws_handshake.h).
#include "loadgen/ws_handshake.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "http/handshake.h"

namespace wsgate::loadgen {

namespace {

constexpr size_t kMaxHead = 16384;

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool contains_token_ignoring_case(std::string_view list, std::string_view token) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (equals_ignoring_case(item, token)) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

void ClientHandshake::write_request(const Target& target, const uint8_t nonce[16],
                                    ByteBuffer& out) {
  unsigned char key[32];
  const int key_length = EVP_EncodeBlock(key, nonce, 16);
  const std::string_view key_text(reinterpret_cast<const char*>(key),
                                  static_cast<size_t>(key_length));
  expected_accept_ = http::accept_key(key_text);
  head_.clear();
  failure_ = {};
  std::string request;
  request.reserve(256);
  request += "GET ";
  request += target.path;
  request += " HTTP/1.1\r\nHost: ";
  request += target.host_header;
  request += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  request += key_text;
  request += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  out.append(request.data(), request.size());
}

ClientHandshake::Status ClientHandshake::feed(const uint8_t* data, size_t length,
                                              size_t& consumed) {
  consumed = 0;
  const size_t before = head_.size();
  // Look for the blank line from a little before the new bytes, since
  // "\r\n\r\n" may straddle two reads.
  head_.append(reinterpret_cast<const char*>(data), length);
  const size_t from = before >= 3 ? before - 3 : 0;
  const size_t end = head_.find("\r\n\r\n", from);
  if (end == std::string::npos) {
    consumed = length;
    if (head_.size() > kMaxHead) {
      failure_ = "response head too long";
      return Status::Failed;
    }
    return Status::NeedMore;
  }
  const size_t head_length = end + 4;
  consumed = head_length - before;
  head_.resize(head_length);
  const Status status = check_head();
  head_.clear();
  head_.shrink_to_fit();
  return status;
}

// A valid answer is "HTTP/1.1 101", Upgrade: websocket, a Connection list
// with "upgrade", and the Sec-WebSocket-Accept our key implies.
ClientHandshake::Status ClientHandshake::check_head() {
  std::string_view head(head_);
  if (!head.starts_with("HTTP/1.1 101")) {
    failure_ = "status is not 101";
    return Status::Failed;
  }
  bool upgrade = false;
  bool connection = false;
  bool accept = false;
  size_t line_start = head.find("\r\n") + 2;
  while (line_start < head.size()) {
    const size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string_view::npos || line_end == line_start) break;
    std::string_view line = head.substr(line_start, line_end - line_start);
    line_start = line_end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (equals_ignoring_case(name, "upgrade")) {
      upgrade = equals_ignoring_case(value, "websocket");
    } else if (equals_ignoring_case(name, "connection")) {
      connection = contains_token_ignoring_case(value, "upgrade");
    } else if (equals_ignoring_case(name, "sec-websocket-accept")) {
      accept = value == expected_accept_;
    }
  }
  if (!upgrade || !connection) {
    failure_ = "missing Upgrade: websocket or Connection: upgrade";
    return Status::Failed;
  }
  if (!accept) {
    failure_ = "wrong or missing Sec-WebSocket-Accept";
    return Status::Failed;
  }
  return Status::Done;
}

}  // namespace wsgate::loadgen
