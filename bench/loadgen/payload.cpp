// Payload templates (see payload.h).
#include "loadgen/payload.h"

namespace wsgate::loadgen {

PayloadTemplate::PayloadTemplate(size_t size, bool binary) : bytes_(size) {
  digits_ = size < 16 ? size : 16;
  for (unsigned byte = 0; byte < 256; ++byte) {
    const uint8_t pair[2] = {static_cast<uint8_t>(kHex[byte >> 4]),
                             static_cast<uint8_t>(kHex[byte & 15])};
    std::memcpy(&byte_hex_[byte], pair, 2);
  }
  uint32_t state = 0x9e3779b9u;
  for (size_t i = 0; i < size; ++i) {
    if (binary) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      bytes_[i] = static_cast<uint8_t>(state);
    } else {
      bytes_[i] = static_cast<uint8_t>('A' + i % 26);
    }
  }
}

}  // namespace wsgate::loadgen
