// Message payloads: one pre-built template per run with a per-message
// counter written into its first bytes, so every echo can be checked to be
// exactly the message it answers (not just "some message of the right size").
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace wsgate::loadgen {

class PayloadTemplate {
 public:
  // A text template is printable ASCII (valid UTF-8 whatever the counter);
  // a binary one holds every byte value, from a fixed seed.
  PayloadTemplate(size_t size, bool binary);

  size_t size() const { return bytes_.size(); }

  // Writes message `sequence`'s payload (size() bytes) to `out`: the
  // template with the low hex digits of `sequence` in its first
  // min(size, 16) bytes.
  void write(uint64_t sequence, uint8_t* out) const {
    std::memcpy(out, bytes_.data(), bytes_.size());
    if (digits_ == 16) {
      hex16(sequence, out);
      return;
    }
    uint64_t value = sequence;
    for (size_t i = digits_; i-- > 0;) {
      out[i] = kHex[value & 15];
      value >>= 4;
    }
  }

  // True when `data` equals bytes [offset, offset + length) of message
  // `sequence`'s payload. The range must lie inside the payload.
  bool matches(uint64_t sequence, size_t offset, const uint8_t* data, size_t length) const {
    if (offset == 0 && digits_ == 16 && length >= 16) {
      uint8_t digits[16];
      hex16(sequence, digits);
      return std::memcmp(data, digits, 16) == 0 &&
             std::memcmp(data + 16, bytes_.data() + 16, length - 16) == 0;
    }
    size_t i = offset;
    const size_t end = offset + length;
    for (; i < digits_ && i < end; ++i) {
      if (data[i - offset] != kHex[(sequence >> (4 * (digits_ - 1 - i))) & 15]) return false;
    }
    return i >= end || std::memcmp(data + (i - offset), bytes_.data() + i, end - i) == 0;
  }

 private:
  static constexpr char kHex[] = "0123456789abcdef";

  // The 16 hex digits of `value`, most significant first, two per lookup.
  void hex16(uint64_t value, uint8_t* out) const {
    for (int i = 7; i >= 0; --i) {
      std::memcpy(out + 2 * i, &byte_hex_[value & 0xFF], 2);
      value >>= 8;
    }
  }

  uint16_t byte_hex_[256];  // byte -> its two hex digits, in memory order
  std::vector<uint8_t> bytes_;
  size_t digits_ = 0;
};

}  // namespace wsgate::loadgen
