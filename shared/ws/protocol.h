// RFC 6455 constants and the small rules every part of the codec shares:
// opcodes, close codes and which codes may be received or sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsgate::ws {

enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

// Which end of the connection this codec instance plays. A Server parses
// masked frames and writes unmasked ones; a Client does the opposite.
enum class Role : uint8_t { Server, Client };

// Close codes the gateway uses (checklist WS-CL-05 gives the map).
namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;  // drain, shutdown
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kUnsupportedData = 1003;
inline constexpr uint16_t kNoStatus = 1005;  // never sent; "no code received"
inline constexpr uint16_t kAbnormal = 1006;  // never sent; "no close frame"
inline constexpr uint16_t kInvalidPayload = 1007;
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kMessageTooBig = 1009;
inline constexpr uint16_t kInternalError = 1011;
inline constexpr uint16_t kServiceRestart = 1012;
inline constexpr uint16_t kTryAgainLater = 1013;
inline constexpr uint16_t kBadGateway = 1014;
}  // namespace close_code

// Limits applied while parsing (SEC-LIM-05..07). Zero means "no limit" only
// for max_fragments; frame and message limits must be positive.
struct Limits {
  uint64_t max_frame = 1 << 20;    // payload bytes of one frame (1009)
  uint64_t max_message = 1 << 20;  // bytes of one reassembled message (1009)
  uint32_t max_fragments = 1024;   // frames in one data message, empty ones too (1008)
};

inline constexpr bool is_control(Opcode op) {
  return (static_cast<uint8_t>(op) & 0x8) != 0;
}

// WS-CL-04: codes a peer may legally put in a Close frame.
inline constexpr bool is_valid_received_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

// WS-CL-05: codes this gateway may send. Never 1005, 1006, 1015, 1004 or
// 1016..2999.
inline constexpr bool is_sendable_close_code(uint16_t code) {
  return is_valid_received_close_code(code);
}

inline constexpr size_t kMaxControlPayload = 125;
inline constexpr size_t kMaxCloseReason = 123;
inline constexpr size_t kMaxFrameHeader = 14;

}  // namespace wsgate::ws
