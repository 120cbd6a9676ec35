// libFuzzer target for the codec's word-at-a-time kernels against plain
// byte-at-a-time references written independently of them:
//
// - Utf8Validator (ASCII skipping 32 and 8 bytes at a time, a shift DFA in
//   blocks) fed the input cut at fuzzer-chosen points must accept, reject
//   and end on a character boundary exactly as a direct RFC 3629 checker
//   does, and must fail in the piece that holds the first bad byte
//   (WS-U8-02: fail fast, whatever the chopping).
// - mask_payload (64-bit words, key rotated for any offset) must equal the
//   byte loop `data[i] ^= key[(offset + i) % 4]` for every length, key
//   offset and start address (the buffer is shifted so that starts are
//   misaligned), and masking in pieces must equal masking whole.
// - append_server_frame must produce make_frame_header's bytes followed by
//   the payload, after whatever the output already held.
//
// Input layout: byte 0 selects the split points' seed, bytes 1-4 are the
// mask key, byte 5 the start misalignment (0..15) and key offset; the rest
// is the payload.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ws/frame_writer.h"
#include "ws/utf8.h"

namespace {

using wsgate::ByteBuffer;
using wsgate::ws::append_server_frame;
using wsgate::ws::FrameHeader;
using wsgate::ws::make_frame_header;
using wsgate::ws::mask_payload;
using wsgate::ws::Opcode;
using wsgate::ws::Role;
using wsgate::ws::Utf8Validator;

[[noreturn]] void die(const char* what, size_t at) {
  std::fprintf(stderr, "codec_kernels_fuzz: %s (at %zu)\n", what, at);
  std::abort();
}

// The reference: RFC 3629 §4's UTF8-octets grammar, one byte at a time,
// with the expected continuation range kept explicitly. `first_bad` is the
// index of the first byte that can never be part of valid UTF-8 (SIZE_MAX
// if none); `complete` says whether the valid prefix ends on a boundary.
struct Utf8Reference {
  size_t first_bad = SIZE_MAX;
  bool complete = true;
};

Utf8Reference reference_utf8(const uint8_t* p, size_t n) {
  Utf8Reference out;
  size_t need = 0;                  // continuation bytes still expected
  uint8_t low = 0x80, high = 0xBF;  // range of the next continuation byte
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = p[i];
    if (need > 0) {
      if (b < low || b > high) {
        out.first_bad = i;
        return out;
      }
      --need;
      low = 0x80;
      high = 0xBF;
      continue;
    }
    if (b < 0x80) continue;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) low = 0xA0;   // overlong 3-byte forms
      if (b == 0xED) high = 0x9F;  // surrogates U+D800..U+DFFF
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) low = 0x90;   // overlong 4-byte forms
      if (b == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      out.first_bad = i;  // 80..C1 or F5..FF cannot start a sequence
      return out;
    }
  }
  out.complete = need == 0;
  return out;
}

uint32_t next_random(uint32_t& seed) {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return seed;
}

void check_utf8(const uint8_t* p, size_t n, uint32_t seed) {
  const Utf8Reference expected = reference_utf8(p, n);
  // Pieces of 0..40 bytes, so that cuts land inside sequences, inside the
  // 8- and 32-byte ASCII words and inside the DFA's 16-byte blocks.
  Utf8Validator validator;
  size_t at = 0;
  bool ok = true;
  while (at < n) {
    const size_t piece = std::min<size_t>(n - at, next_random(seed) % 41);
    ok = validator.feed({p + at, piece});
    const bool bad_inside = expected.first_bad >= at && expected.first_bad < at + piece;
    if (ok == bad_inside) die(ok ? "accepted a piece holding a bad byte" : "rejected early", at);
    at += piece;
    if (!ok) break;
    if (validator.failed()) die("failed() after a successful feed", at);
  }
  if (ok) {
    if (expected.first_bad != SIZE_MAX) die("accepted invalid input", expected.first_bad);
    if (validator.complete() != expected.complete) die("complete() differs", n);
  } else if (!validator.failed() || validator.feed({p, n})) {
    die("rejection is not absorbing", at);
  }
  if (wsgate::ws::is_valid_utf8({p, n}) != (expected.first_bad == SIZE_MAX && expected.complete))
    die("is_valid_utf8 differs", n);
}

void check_mask(const uint8_t* p, size_t n, const uint8_t key[4], size_t misalign, size_t offset,
                uint32_t seed) {
  // 16 spare bytes in front move the start across every alignment; the
  // guard bytes after the end must never change.
  std::vector<uint8_t> buffer(16 + n + 8, 0xA5);
  uint8_t* const start = buffer.data() + misalign;
  std::memcpy(start, p, n);
  std::vector<uint8_t> expected(p, p + n);
  for (size_t i = 0; i < n; ++i) expected[i] ^= key[(offset + i) % 4];

  mask_payload({start, n}, key, offset);
  if (n != 0 && std::memcmp(start, expected.data(), n) != 0) die("mask differs from byte loop", n);
  for (size_t i = 0; i < buffer.size(); ++i) {
    const bool inside = i >= misalign && i < misalign + n;
    if (!inside && buffer[i] != 0xA5) die("mask wrote outside its span", i);
  }

  // In pieces, each continuing the key where the last one stopped.
  std::vector<uint8_t> pieces(p, p + n);
  for (size_t at = 0; at < n;) {
    const size_t piece = std::min<size_t>(n - at, next_random(seed) % 20);
    mask_payload({pieces.data() + at, piece}, key, offset + at);
    at += piece;
  }
  if (pieces != expected) die("mask in pieces differs", n);
}

void check_append(const uint8_t* p, size_t n, uint32_t seed) {
  const Opcode opcode = (seed & 1) != 0 ? Opcode::Text : Opcode::Binary;
  // Whatever the output buffer held already, in a buffer grown from empty
  // or from a prefix that leaves it just full, so growth is covered too.
  std::string expected(seed % 300, 'p');
  ByteBuffer out;
  out.append(expected);
  const FrameHeader header = make_frame_header(Role::Server, opcode, true, n);
  expected.append(reinterpret_cast<const char*>(header.bytes), header.size);
  expected.append(reinterpret_cast<const char*>(p), n);
  append_server_frame(out, opcode, p, n);
  if (out.view() != expected) die("append_server_frame differs from header + payload", n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  uint32_t seed = data[0] * 2654435761u + 1;
  const uint8_t key[4] = {data[1], data[2], data[3], data[4]};
  const size_t misalign = data[5] & 0x0F;
  const size_t offset = data[5] >> 4;
  const uint8_t* const payload = data + 6;
  const size_t n = size - 6;
  check_utf8(payload, n, seed);
  check_mask(payload, n, key, misalign, offset, seed);
  check_append(payload, n, seed);
  return 0;
}
