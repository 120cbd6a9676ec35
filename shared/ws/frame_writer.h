// WebSocket frame serializer (RFC 6455 §5.2): a header in a small stack
// buffer, the payload as a separate buffer, so writes can be vectored.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "common/byte_buffer.h"
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

namespace detail {

// The key `mask` rotated to start at key offset `offset % 4`, repeated
// twice in a 64-bit word: byte i of the word (little-endian) is the key
// byte for data[i], whatever i is modulo 8.
inline uint64_t mask_key_word(const uint8_t mask[4], size_t offset) {
  uint32_t key32;
  std::memcpy(&key32, mask, sizeof key32);  // the key has no alignment
  const unsigned shift = static_cast<unsigned>(offset & 3) * 8;
  if (shift != 0) key32 = (key32 >> shift) | (key32 << (32 - shift));
  return key32 | (static_cast<uint64_t>(key32) << 32);
}

// mask_payload's loop, inline so that the parser's small-frame path pays
// no call. Loads and stores go through memcpy, which compiles to plain
// unaligned moves on x86-64 and is defined behaviour for any address.
inline void xor_key_word(uint8_t* p, size_t n, uint64_t key_word) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    w ^= key_word;
    std::memcpy(p + i, &w, sizeof w);
  }
  // Fewer than 8 bytes left, starting at a multiple of 8: key byte 0 on.
  if (i + 4 <= n) {
    uint32_t w;
    std::memcpy(&w, p + i, sizeof w);
    w ^= static_cast<uint32_t>(key_word);
    std::memcpy(p + i, &w, sizeof w);
    i += 4;
    key_word >>= 32;
  }
  for (; i < n; ++i, key_word >>= 8) p[i] ^= static_cast<uint8_t>(key_word);
}

}  // namespace detail

// Appends one unmasked frame with FIN set, header then payload, to `out`:
// what a server sends for each message (same bytes as make_frame_header
// with Role::Server and fin, followed by the payload). Inline, and written
// in place into room grown once: this runs once per message sent.
inline void append_server_frame(ByteBuffer& out, Opcode opcode, const uint8_t* data, size_t size) {
  const size_t header = size < 126 ? 2 : size <= 0xFFFF ? 4 : 10;
  uint8_t* p = out.append(header + size);
  p[0] = static_cast<uint8_t>(0x80 | static_cast<uint8_t>(opcode));
  if (size < 126) {
    p[1] = static_cast<uint8_t>(size);
  } else if (size <= 0xFFFF) {
    p[1] = 126;
    p[2] = static_cast<uint8_t>(size >> 8);
    p[3] = static_cast<uint8_t>(size);
  } else {
    p[1] = 127;
    for (int i = 0; i < 8; ++i)
      p[2 + i] = static_cast<uint8_t>(static_cast<uint64_t>(size) >> (56 - 8 * i));
  }
  if (size > 0) std::memcpy(p + header, data, size);
}

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
