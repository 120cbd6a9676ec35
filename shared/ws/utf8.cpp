// Incremental, fail-fast UTF-8 validation with a shift-based DFA and a
// word-at-a-time ASCII fast path (checklist WS-U8-02..04, WS-U8-07).
#include "ws/utf8.h"

#include <array>
#include <cstring>

namespace wsgate::ws {
namespace {

// The automaton has nine states. The numbering is the one the header exposes
// (kAccept = 0, kReject = 1); the others say what the validator still expects.
enum : uint8_t {
  kStateAccept = Utf8Validator::kAccept,
  kStateReject = Utf8Validator::kReject,
  kNeedOne = 2,    // one continuation byte 80..BF
  kNeedTwo = 3,    // two continuation bytes, the next one 80..BF
  kAfterE0 = 4,    // next byte A0..BF (rejects overlong 3-byte forms)
  kAfterED = 5,    // next byte 80..9F (rejects surrogates U+D800..DFFF)
  kAfterF0 = 6,    // next byte 90..BF (rejects overlong 4-byte forms)
  kNeedThree = 7,  // three continuation bytes, the next one 80..BF
  kAfterF4 = 8,    // next byte 80..8F (rejects code points above U+10FFFF)
  kStateCount = 9,
};

// RFC 3629 §4 (the UTF8-octets grammar) as a transition function. C0, C1 and
// F5..FF never start a sequence; a byte that cannot continue one rejects.
constexpr uint8_t next_state(uint8_t state, uint8_t byte) {
  const bool continuation = byte >= 0x80 && byte <= 0xBF;
  switch (state) {
    case kStateAccept:
      if (byte < 0x80) return kStateAccept;
      if (byte < 0xC2) return kStateReject;  // stray continuation, C0, C1
      if (byte < 0xE0) return kNeedOne;
      if (byte == 0xE0) return kAfterE0;
      if (byte == 0xED) return kAfterED;
      if (byte < 0xF0) return kNeedTwo;
      if (byte == 0xF0) return kAfterF0;
      if (byte < 0xF4) return kNeedThree;
      if (byte == 0xF4) return kAfterF4;
      return kStateReject;  // F5..FF
    case kNeedOne:
      return continuation ? kStateAccept : kStateReject;
    case kNeedTwo:
      return continuation ? kNeedOne : kStateReject;
    case kAfterE0:
      return byte >= 0xA0 && byte <= 0xBF ? kNeedOne : kStateReject;
    case kAfterED:
      return byte >= 0x80 && byte <= 0x9F ? kNeedOne : kStateReject;
    case kAfterF0:
      return byte >= 0x90 && byte <= 0xBF ? kNeedTwo : kStateReject;
    case kNeedThree:
      return continuation ? kNeedTwo : kStateReject;
    case kAfterF4:
      return byte >= 0x80 && byte <= 0x8F ? kNeedTwo : kStateReject;
    default:
      return kStateReject;
  }
}

// Shift-based encoding of the same automaton: a state is a bit offset
// (state number * 6) and kRows[byte] packs, for every state, the offset of
// the next state into that state's 6-bit field. One step is then
// `state = kRows[byte] >> (state & 63)`: the table load does not depend on
// the previous state, so the loop-carried chain is a single shift. This is
// equivalent to Hoehrmann's class/transition tables, only faster.
constexpr unsigned kFieldBits = 6;
constexpr uint64_t kAcceptShift = kStateAccept * kFieldBits;
constexpr uint64_t kRejectShift = kStateReject * kFieldBits;

constexpr std::array<uint64_t, 256> make_rows() {
  std::array<uint64_t, 256> rows{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    uint64_t row = 0;
    for (uint8_t state = 0; state < kStateCount; ++state) {
      const uint64_t next = next_state(state, static_cast<uint8_t>(byte)) * kFieldBits;
      row |= next << (state * kFieldBits);
    }
    rows[byte] = row;
  }
  return rows;
}

constexpr std::array<uint64_t, 256> kRows = make_rows();
static_assert(kStateCount * kFieldBits <= 64, "every state's field must fit in one word");

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

inline uint64_t load64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Bytes the DFA runs between two checks for rejection and for a return to
// the ASCII fast path. Rejection is absorbing, so checking per block instead
// of per byte changes nothing but the cost.
constexpr size_t kDfaBlock = 16;

}  // namespace

bool Utf8Validator::feed(std::span<const uint8_t> bytes) {
  if (state_ == kReject) return false;
  const uint8_t* p = bytes.data();
  const uint8_t* const end = p + bytes.size();
  uint64_t shift = static_cast<uint64_t>(state_) * kFieldBits;

  while (p < end) {
    if (shift == kAcceptShift) {
      // On a character boundary: skip ASCII 32, then 8, bytes at a time.
      while (end - p >= 32) {
        const uint64_t any = load64(p) | load64(p + 8) | load64(p + 16) | load64(p + 24);
        if ((any & kHighBits) != 0) break;
        p += 32;
      }
      while (end - p >= 8) {
        if ((load64(p) & kHighBits) != 0) break;
        p += 8;
      }
      if (p == end) break;
    }
    const uint8_t* const stop = end - p > static_cast<ptrdiff_t>(kDfaBlock) ? p + kDfaBlock : end;
    for (; p < stop; ++p) shift = kRows[*p] >> (shift & 63);
    shift &= 63;
    if (shift == kRejectShift) {
      state_ = kReject;
      return false;
    }
  }
  state_ = static_cast<uint8_t>(shift / kFieldBits);
  return true;
}

bool is_valid_utf8(std::span<const uint8_t> bytes) {
  Utf8Validator validator;
  return validator.feed(bytes) && validator.complete();
}

}  // namespace wsgate::ws
