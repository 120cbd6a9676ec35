// WebSocket frame serializer (RFC 6455 §5.2): a header in a small stack
// buffer, the payload as a separate buffer, so writes can be vectored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <span>
#include <string>
#include <string_view>

#include "ws/protocol.h"

namespace wsgate::ws {

struct FrameHeader {
  uint8_t bytes[kMaxFrameHeader];
  uint8_t size = 0;
  std::span<const uint8_t> view() const { return {bytes, size}; }
};

// Builds the header of one frame. For Role::Server the frame is unmasked
// (WS-FR-02). For Role::Client the header carries `mask` and the caller must
// mask the payload with mask_payload() (offset 0) before sending it.
// Uses the minimal length encoding. Never fails.
FrameHeader make_frame_header(Role role, Opcode opcode, bool fin, uint64_t payload_length,
                              const uint8_t mask[4] = nullptr, bool rsv1 = false);

// XORs `data` with the 4-byte key starting at key offset `offset % 4`, a
// word at a time. Used to mask (client role) and unmask (parser).
void mask_payload(std::span<uint8_t> data, const uint8_t mask[4], size_t offset = 0);
static_assert(std::endian::native == std::endian::little,
              "mask_payload's key rotation assumes a little-endian machine");

// Appends one unmasked frame with FIN set, header then payload, to `out`:
// what a server sends for each message (same bytes as make_frame_header
// with Role::Server and fin, followed by the payload).
void append_server_frame(std::string& out, Opcode opcode, const uint8_t* data, size_t size);

// A Close payload: 2-byte code plus UTF-8 reason, at most 125 bytes.
struct ClosePayload {
  uint8_t bytes[kMaxControlPayload];
  uint8_t size = 0;
  std::span<const uint8_t> view() const { return {bytes, size}; }
};

// Builds a Close payload. `code` must satisfy is_sendable_close_code() or be
// 0 (an empty payload, no code). The reason is truncated to 123 bytes at a
// UTF-8 character boundary; invalid UTF-8 in it is dropped from the cut.
ClosePayload make_close_payload(uint16_t code, std::string_view reason = {});

}  // namespace wsgate::ws
