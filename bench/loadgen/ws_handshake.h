// The client side of the WebSocket opening handshake (RFC 6455 §4.1): the
// GET request with a fresh key, and the check of the server's 101.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/byte_buffer.h"
#include "loadgen/options.h"

namespace wsgate::loadgen {

class ClientHandshake {
 public:
  enum class Status : uint8_t { NeedMore, Done, Failed };

  // Appends the upgrade request to `out`, with a key made from `nonce`
  // (16 bytes). Resets any earlier state.
  void write_request(const Target& target, const uint8_t nonce[16], ByteBuffer& out);

  // Accumulates the response head. On Done, `consumed` is how many bytes of
  // this call's `data` belong to the head (the rest are frames). On Failed
  // see failure(). The head is capped at 16 KiB.
  Status feed(const uint8_t* data, size_t length, size_t& consumed);

  // Why the response was refused (static text).
  std::string_view failure() const { return failure_; }

 private:
  Status check_head();

  std::string expected_accept_;
  std::string head_;
  std::string_view failure_;
};

}  // namespace wsgate::loadgen
