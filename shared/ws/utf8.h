// Incremental, fail-fast UTF-8 validation (RFC 3629; checklist WS-U8-*).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace wsgate::ws {

// Validates a byte stream delivered in any number of pieces. feed() returns
// false on the first byte that can never start or continue a valid sequence
// (fail-fast, WS-U8-02); complete() says whether the stream so far ends on a
// character boundary (WS-U8-03). ASCII runs are checked a word at a time.
class Utf8Validator {
 public:
  bool feed(std::span<const uint8_t> bytes);
  bool complete() const { return state_ == kAccept; }
  bool failed() const { return state_ == kReject; }
  void reset() { state_ = kAccept; }

  static constexpr uint8_t kAccept = 0;
  static constexpr uint8_t kReject = 1;

 private:
  uint8_t state_ = kAccept;
};

// Whole-buffer convenience: true when `bytes` is complete, valid UTF-8.
bool is_valid_utf8(std::span<const uint8_t> bytes);

// True when every byte is below 0x80. ASCII is complete, valid UTF-8, so a
// validator on a character boundary may skip such bytes without changing
// its state. Inline for short payloads (the parser's small-frame path),
// where Utf8Validator::feed's call and setup cost more than the check:
// it ORs the input a word at a time and tests the high bits once, with no
// early exit, so it suits buffers of up to a few hundred bytes. Words are
// read with memcpy: defined for any alignment, one unaligned load on
// x86-64.
inline bool is_ascii(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  uint64_t any = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    any |= w;
  }
  if (n >= 4) {
    // 4..7 bytes: two 4-byte loads that overlap in the middle.
    uint32_t head, tail;
    std::memcpy(&head, p, sizeof head);
    std::memcpy(&tail, p + n - 4, sizeof tail);
    any |= head | tail;
  } else {
    for (; n > 0; ++p, --n) any |= *p;
  }
  return (any & 0x8080808080808080ULL) == 0;
}

}  // namespace wsgate::ws
