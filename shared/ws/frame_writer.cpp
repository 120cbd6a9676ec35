// WebSocket frame serializer: frame headers, payload masking and Close
// payloads (RFC 6455 §5.2, §5.3, §5.5.1; checklist WS-FR-02, WS-CL-05).
#include "ws/frame_writer.h"

#include <cstring>

#include "ws/utf8.h"

namespace wsgate::ws {

FrameHeader make_frame_header(Role role, Opcode opcode, bool fin, uint64_t payload_length,
                              const uint8_t mask[4], bool rsv1) {
  FrameHeader header;
  uint8_t* out = header.bytes;
  out[0] = static_cast<uint8_t>((fin ? 0x80 : 0x00) | (rsv1 ? 0x40 : 0x00) |
                                static_cast<uint8_t>(opcode));
  const uint8_t mask_bit = role == Role::Client ? 0x80 : 0x00;
  size_t size = 2;
  if (payload_length < 126) {
    out[1] = static_cast<uint8_t>(mask_bit | payload_length);
  } else if (payload_length <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<uint8_t>(payload_length >> 8);
    out[3] = static_cast<uint8_t>(payload_length);
    size = 4;
  } else {
    // The caller cannot produce a payload of 2^63 bytes or more, so the MSB
    // is always clear (WS-FR-05).
    out[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(payload_length >> (56 - 8 * i));
    size = 10;
  }
  if (role == Role::Client) {
    // A client frame always carries a key; a missing key is an all-zero one,
    // which is legal on the wire though useless against cache poisoning.
    static constexpr uint8_t kZeroKey[4] = {0, 0, 0, 0};
    std::memcpy(out + size, mask != nullptr ? mask : kZeroKey, 4);
    size += 4;
  }
  header.size = static_cast<uint8_t>(size);
  return header;
}

void mask_payload(std::span<uint8_t> data, const uint8_t mask[4], size_t offset) {
  const uint64_t key_word = detail::mask_key_word(mask, offset);
  uint8_t* p = data.data();
  const size_t n = data.size();
  size_t i = 0;
  // Four words per step for long payloads; detail::xor_key_word does the
  // rest (the key word repeats every 8 bytes, so it needs no rotation).
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, sizeof w);
    w[0] ^= key_word;
    w[1] ^= key_word;
    w[2] ^= key_word;
    w[3] ^= key_word;
    std::memcpy(p + i, w, sizeof w);
  }
  detail::xor_key_word(p + i, n - i, key_word);
}

ClosePayload make_close_payload(uint16_t code, std::string_view reason) {
  ClosePayload payload;
  if (code == 0 || code == close_code::kNoStatus) return payload;  // "no code": empty payload
  // WS-CL-05: a code the gateway may not send never reaches the wire; such a
  // call is a bug in the caller, reported to the peer as an internal error.
  if (!is_sendable_close_code(code)) code = close_code::kInternalError;
  payload.bytes[0] = static_cast<uint8_t>(code >> 8);
  payload.bytes[1] = static_cast<uint8_t>(code);

  // Keep the longest prefix of at most 123 bytes that ends on a character
  // boundary, stopping at the first invalid byte, so the reason is always
  // valid UTF-8 (WS-U8-05 on the peer's side).
  const auto* text = reinterpret_cast<const uint8_t*>(reason.data());
  const size_t limit = reason.size() < kMaxCloseReason ? reason.size() : kMaxCloseReason;
  Utf8Validator validator;
  size_t keep = 0;
  for (size_t i = 0; i < limit; ++i) {
    if (!validator.feed({text + i, 1})) break;
    if (validator.complete()) keep = i + 1;
  }
  if (keep > 0) std::memcpy(payload.bytes + 2, text, keep);
  payload.size = static_cast<uint8_t>(2 + keep);
  return payload;
}

}  // namespace wsgate::ws
