// Incremental, fail-fast UTF-8 validation (RFC 3629; checklist WS-U8-*).
#pragma once

#include <cstddef>
#include <cstdint>
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

}  // namespace wsgate::ws
