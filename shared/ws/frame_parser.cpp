// Incremental, sans-I/O WebSocket frame parser (RFC 6455 §5; checklist
// WS-FR-*, WS-FG-*, WS-CT-*, WS-U8-*, WS-CL-03/04, PMD-07, SEC-LIM-05..07).
#include "ws/frame_parser.h"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ws/frame_writer.h"

namespace wsgate::ws {
namespace {

// Returned by the internal steps when the parser failed: parse() turns it
// into "all of the input was consumed".
constexpr size_t kConsumeAll = SIZE_MAX;

// The smallest buffer the message buffer grows to; avoids a string of tiny
// reallocations when a message arrives a few bytes at a time.
constexpr size_t kMinMessageCapacity = 256;

// Header size implied by the second header byte: 2, plus 2 or 8 length bytes,
// plus 4 key bytes when MASK is set.
inline size_t header_size(uint8_t second_byte) {
  const uint8_t length7 = second_byte & 0x7F;
  size_t size = 2;
  if (length7 == 126) size += 2;
  if (length7 == 127) size += 8;
  if ((second_byte & 0x80) != 0) size += 4;
  return size;
}

inline bool is_known_opcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// The small-frame paths' payload work in one pass (parse_small_frame()
// and the run's): unmasks p[0..n), n < 126, in place with the frame's key
// as it arrived (`key32`, little-endian) and returns true when every
// unmasked byte is ASCII. The general path uses mask_payload() and
// Utf8Validator instead, and frame_parser_fuzz compares the two. It has
// no tail loops: the last block (16 bytes with SSE2, else 8 or 4) is taken from
// n - block, overlapping the one before it, and is loaded before anything
// is stored, so the bytes both cover get the same unmasked value twice.
// Such a block starts at a key offset of n % 4, hence its rotated key.
// Applied twice it restores the input (every byte is XORed once per call).
inline bool unmask_small_payload(uint8_t* p, size_t n, uint32_t key32) {
  const uint32_t tail_key32 = std::rotr(key32, static_cast<int>((n & 3) * 8));
#if defined(__SSE2__)
  if (n >= 16) {
    const __m128i key = _mm_set1_epi32(static_cast<int>(key32));
    uint8_t* const tail_at = p + n - 16;
    const __m128i tail = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tail_at)),
                                       _mm_set1_epi32(static_cast<int>(tail_key32)));
    __m128i any = tail;
    if (n > 16) {
      // The first block apart: with no loop set up for it, 17..32 bytes
      // (most small messages) cost two blocks and no trip count.
      const __m128i head = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), key);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), head);
      any = _mm_or_si128(any, head);
      for (size_t i = 16; i + 16 < n; i += 16) {
        const __m128i w =
            _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), key);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), w);
        any = _mm_or_si128(any, w);
      }
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(tail_at), tail);
    return _mm_movemask_epi8(any) == 0;
  }
#endif
  if (n >= 8) {
    const uint64_t key = key32 | (static_cast<uint64_t>(key32) << 32);
    uint64_t tail;
    std::memcpy(&tail, p + n - 8, sizeof tail);
    tail ^= tail_key32 | (static_cast<uint64_t>(tail_key32) << 32);
    uint64_t any = tail;
    for (size_t i = 0; i + 8 < n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, sizeof w);
      w ^= key;
      std::memcpy(p + i, &w, sizeof w);
      any |= w;
    }
    std::memcpy(p + n - 8, &tail, sizeof tail);
    return (any & 0x8080808080808080ULL) == 0;
  }
  if (n >= 4) {
    uint32_t head;
    uint32_t tail;
    std::memcpy(&head, p, sizeof head);
    std::memcpy(&tail, p + n - 4, sizeof tail);
    head ^= key32;
    tail ^= tail_key32;
    std::memcpy(p, &head, sizeof head);
    std::memcpy(p + n - 4, &tail, sizeof tail);
    return ((head | tail) & 0x80808080U) == 0;
  }
  uint32_t any = 0;
  for (size_t i = 0; i < n; ++i) {
    p[i] ^= static_cast<uint8_t>(key32 >> (8 * i));
    any |= p[i];
  }
  return (any & 0x80) == 0;
}

// Whether a small text frame's payload with a non-ASCII byte is valid
// UTF-8 on its own; `utf8` starts and ends on a character boundary. Out of
// line: the run's loop should not carry a call it almost never makes.
[[gnu::noinline]] bool valid_small_text(Utf8Validator& utf8, const uint8_t* p, size_t n) {
  const bool valid = utf8.feed({p, n}) && utf8.complete();
  utf8.reset();
  return valid;
}

// parse_run()'s loop for one role: `kMasked` for a server's parser (every
// frame masked), else a client's (none). `small_limit` is the largest
// payload the run takes: 125, or less when max_frame or max_message is.
// Decodes at most `capacity` frames of in[0..n) into `out`, sets `used`
// and returns how many. The checks are parse_small_frame()'s, folded: the
// second byte minus the MASK bit the role needs is the 7-bit length only
// when that bit was right, and any other value exceeds 125.
template <bool kMasked>
size_t decode_run(uint8_t* in, size_t n, size_t small_limit, Utf8Validator& utf8, SmallMessage* out,
                  size_t capacity, size_t& used) {
  constexpr size_t kHeader = kMasked ? 6 : 2;
  constexpr uint8_t kMaskBit = kMasked ? 0x80 : 0;
  size_t pos = 0;
  size_t count = 0;
  while (count < capacity && n - pos >= 2) {
    const uint8_t first = in[pos];
    const uint8_t length = static_cast<uint8_t>(in[pos + 1] - kMaskBit);
    if (static_cast<uint8_t>(first - 0x81) > 1 || length > small_limit ||
        n - pos < kHeader + length) {
      break;  // not FIN + Text or Binary without RSV bits, too long, or not whole
    }
    uint8_t* const payload = in + pos + kHeader;
    bool ascii;
    if constexpr (kMasked) {
      uint32_t key32;
      std::memcpy(&key32, in + pos + 2, sizeof key32);
      ascii = unmask_small_payload(payload, length, key32);
    } else {
      ascii = is_ascii({payload, length});
    }
    const Opcode opcode = static_cast<Opcode>(first & 0x0F);
    if (opcode == Opcode::Text && !ascii && !valid_small_text(utf8, payload, length)) {
      if constexpr (kMasked) {
        // Masked again, so that parse() finds the frame as it arrived and
        // fails it with its own reason. The key is read from the header
        // again rather than kept across the loop's one call.
        uint32_t key32;
        std::memcpy(&key32, in + pos + 2, sizeof key32);
        unmask_small_payload(payload, length, key32);
      }
      break;
    }
    out[count] = SmallMessage{payload, length, opcode};
    ++count;
    pos += kHeader + length;
  }
  used = pos;
  return count;
}

}  // namespace

// The previous event's view into message_ or control_ expires when the
// next call begins (see the header): the buffer is released so that an
// idle connection holds no heap memory. Always freeing, rather than keeping
// a small buffer for the next message, is what makes buffered_bytes() 0
// between messages; it costs one allocation per message that did not
// arrive whole, which had to allocate anyway.
inline void FrameParser::release_delivered() {
  if (message_delivered_) release_message();
  if (control_delivered_) {
    control_.reset();
    control_delivered_ = false;
  }
}

size_t FrameParser::parse(std::span<uint8_t> input, FrameEvent& event) {
  release_delivered();
  // Between frames and outside a fragmented message, the frame most
  // traffic consists of is decoded here, without the general path's
  // layers; it fills every field of `event` itself.
  if (state_ == State::Header && header_len_ == 0 && message_opcode_ == Opcode::Continuation) {
    const size_t used = parse_small_frame(input.data(), input.size(), event);
    if (used != 0) return used == kConsumeAll ? input.size() : used;
  }
  event = FrameEvent{};
  if (state_ == State::Failed) return input.size();
  return std::min(parse_frames(input, event), input.size());
}

void FrameParser::reset() {
  const Role role = role_;
  const Limits limits = limits_;
  const bool rsv1_allowed = rsv1_allowed_;
  *this = FrameParser(role, limits);  // the moved-from vector's memory is freed
  rsv1_allowed_ = rsv1_allowed;
}

// Parses header and payload bytes until one event is complete or the input
// is exhausted. Returns the bytes consumed, or kConsumeAll after a failure.
size_t FrameParser::parse_frames(std::span<uint8_t> input, FrameEvent& event) {
  uint8_t* const in = input.data();
  const size_t n = input.size();
  size_t pos = 0;

  for (;;) {
    if (state_ == State::Header) {
      if (pos == n) return n;
      // (parse() has tried parse_small_frame already: this loop only goes
      // round again inside a fragmented or compressed message.)
      if (header_len_ == 0 && n - pos >= 2 && n - pos >= header_size(in[pos + 1])) {
        // Fast path: the whole header is in the input; decode it in place.
        if (!check_first_byte(in[pos], event) || !check_second_byte(in[pos + 1], event) ||
            !finish_header(in + pos, event)) {
          return kConsumeAll;
        }
        pos += header_size(in[pos + 1]);
      } else {
        // Slow path: collect the header in header_, checking each of the
        // first two bytes as soon as it arrives (fail fast on 1-byte reads).
        if (header_len_ == 0) {
          header_[header_len_++] = in[pos++];
          if (!check_first_byte(header_[0], event)) return kConsumeAll;
          if (pos == n) return n;
        }
        if (header_len_ == 1) {
          header_[header_len_++] = in[pos++];
          if (!check_second_byte(header_[1], event)) return kConsumeAll;
        }
        const size_t size = header_size(header_[1]);
        const size_t take = std::min(size - header_len_, n - pos);
        std::memcpy(header_ + header_len_, in + pos, take);
        header_len_ = static_cast<uint8_t>(header_len_ + take);
        pos += take;
        if (header_len_ < size) return n;
        if (!finish_header(header_, event)) return kConsumeAll;
      }
      header_len_ = 0;
      frame_received_ = 0;
      state_ = State::Payload;
    }

    // State::Payload. `take` may be 0 for an empty frame.
    const uint64_t remaining = frame_length_ - frame_received_;
    const size_t available = n - pos;
    const bool whole_in_input = frame_received_ == 0 && available >= remaining;
    const bool control = is_control(frame_opcode_);

    if (message_compressed_ && !control &&
        !(whole_in_input && fin_ && message_opcode_ == Opcode::Continuation)) {
      if (deliver_part(in, pos, n, event)) return pos;
      if (pos == n) return n;
      continue;  // an empty frame that does not end the message
    }
    if (whole_in_input && (control || (fin_ && message_opcode_ == Opcode::Continuation))) {
      // Zero-copy: a control frame or an unfragmented message whose payload
      // is entirely in the input is unmasked in place and handed out as a
      // view of the input.
      const std::span<uint8_t> payload{in + pos, static_cast<size_t>(remaining)};
      if (masked_) mask_payload(payload, mask_, 0);
      pos += payload.size();
      state_ = State::Header;
      if (control) return deliver_control(payload, event) ? pos : kConsumeAll;
      if (validate_utf8_) {
        // Same reasons as the incremental path, so chopping never changes
        // the event (utf8_ is at a boundary: no message was in progress).
        if (!utf8_.feed(payload)) {
          return fail(event, close_code::kInvalidPayload, "invalid UTF-8 in text message");
        }
        if (!utf8_.complete()) {
          return fail(event, close_code::kInvalidPayload, "truncated UTF-8 at end of text message");
        }
      }
      deliver_message(payload, event);
      return pos;
    }

    const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining, available));
    if (control) {
      // At most 125 bytes (checked with the header), collected in control_.
      if (!control_) control_ = std::make_unique_for_overwrite<uint8_t[]>(kMaxControlPayload);
      // An empty read (parse({})) comes with a null `in`: memcpy must not
      // see it, even for 0 bytes.
      if (take != 0) std::memcpy(control_.get() + frame_received_, in + pos, take);
      if (masked_) {
        mask_payload({control_.get() + frame_received_, take}, mask_, frame_received_);
      }
    } else {
      const size_t old_size = message_.size();
      append_to_message(in + pos, take);
      const std::span<uint8_t> fresh{message_.data() + old_size, take};
      if (masked_) mask_payload(fresh, mask_, frame_received_);
      // WS-U8-02: validate the bytes now, even though the frame (or the
      // message) is not complete, so invalid text fails at its first bad byte.
      if (validate_utf8_ && !utf8_.feed(fresh)) {
        return fail(event, close_code::kInvalidPayload, "invalid UTF-8 in text message");
      }
    }
    frame_received_ += take;
    pos += take;
    if (frame_received_ < frame_length_) return n;  // input exhausted mid-frame

    state_ = State::Header;
    if (control) {
      const std::span<uint8_t> payload{control_.get(), static_cast<size_t>(frame_received_)};
      control_delivered_ = true;
      return deliver_control(payload, event) ? pos : kConsumeAll;
    }
    if (!fin_) continue;  // more fragments follow; no event for this frame
    if (validate_utf8_ && !utf8_.complete()) {
      return fail(event, close_code::kInvalidPayload, "truncated UTF-8 at end of text message");
    }
    deliver_message(message_, event);
    message_delivered_ = true;
    return pos;
  }
}

// The frame most traffic consists of, decoded with the fewest branches: a
// whole unfragmented text or binary frame with a 7-bit length, no RSV bits,
// masked as the role requires, outside any fragmented message. Every check
// of the general path that such a frame could fail is made here too, with
// the same outcome (the fuzz targets compare whole input, which takes this
// path, with the same input chopped, which does not). Returns the bytes
// used, kConsumeAll after a failure, or 0 to leave the frame to the
// general path (then neither `event` nor the parser has changed). On
// success it sets every field of `event`: parse() does not clear it first.
inline size_t FrameParser::parse_small_frame(uint8_t* in, size_t n, FrameEvent& event) {
  if (n < 2) return 0;
  const uint8_t first = in[0];
  const uint8_t second = in[1];
  const bool masked = (second & 0x80) != 0;
  const size_t length = second & 0x7F;
  const size_t header = masked ? 6 : 2;
  if ((first != 0x81 && first != 0x82) || masked != (role_ == Role::Server) || length >= 126 ||
      n < header + length || length > limits_.max_frame || length > limits_.max_message) {
    return 0;
  }
  frame_opcode_ = static_cast<Opcode>(first & 0x0F);
  const std::span<uint8_t> payload{in + header, length};
  bool ascii;
  if (masked) {
    std::memcpy(mask_, in + 2, 4);
    uint32_t key32;
    std::memcpy(&key32, mask_, sizeof key32);
    ascii = unmask_small_payload(payload.data(), length, key32);
  } else {
    ascii = is_ascii(payload);
  }
  // utf8_ is on a character boundary here (no message is in progress), so
  // all-ASCII text, the common case, needs no validator call.
  if (frame_opcode_ == Opcode::Text && !ascii) {
    if (!utf8_.feed(payload)) {
      return fail(event, close_code::kInvalidPayload, "invalid UTF-8 in text message");
    }
    if (!utf8_.complete()) {
      return fail(event, close_code::kInvalidPayload, "truncated UTF-8 at end of text message");
    }
    utf8_.reset();
  }
  event.kind = FrameEvent::Kind::Message;
  event.opcode = frame_opcode_;
  event.payload = payload;
  event.close_code = 0;
  event.reason = {};
  event.compressed = false;
  event.last = false;
  return header + length;
}

// A run of parse_small_frame()'s frames, with its checks and outcomes; a
// frame that would fail (invalid UTF-8) ends the run instead, restored as
// it arrived, so that parse() fails it exactly as it would have.
size_t FrameParser::parse_run(std::span<uint8_t> input, SmallMessage* out, size_t capacity,
                              size_t& used) {
  release_delivered();
  used = 0;
  if (state_ != State::Header || header_len_ != 0 || message_opcode_ != Opcode::Continuation) {
    return 0;
  }
  const size_t small_limit =
      static_cast<size_t>(std::min<uint64_t>({125, limits_.max_frame, limits_.max_message}));
  const size_t count =
      role_ == Role::Server
          ? decode_run<true>(input.data(), input.size(), small_limit, utf8_, out, capacity, used)
          : decode_run<false>(input.data(), input.size(), small_limit, utf8_, out, capacity, used);
  // What parse() would have left: an Error right after names this opcode.
  if (count != 0) frame_opcode_ = out[count - 1].opcode;
  return count;
}

// Checks FIN, RSV and opcode (WS-FR-03, WS-FR-04, WS-CT-01, WS-FG-02,
// PMD-07). Returns false after failing the parser.
bool FrameParser::check_first_byte(uint8_t byte, FrameEvent& event) {
  const uint8_t op = byte & 0x0F;
  if (!is_known_opcode(op)) {
    fail(event, close_code::kProtocolError, "reserved opcode");
    return false;
  }
  fin_ = (byte & 0x80) != 0;
  frame_opcode_ = static_cast<Opcode>(op);
  frame_rsv1_ = (byte & 0x40) != 0;
  const bool control = is_control(frame_opcode_);
  const bool starts_message = op == 0x1 || op == 0x2;
  if ((byte & 0x30) != 0) {
    fail(event, close_code::kProtocolError, "RSV2 or RSV3 set");
    return false;
  }
  if (frame_rsv1_ && !(rsv1_allowed_ && starts_message)) {
    fail(event, close_code::kProtocolError,
         rsv1_allowed_ ? "RSV1 set on a control or continuation frame" : "RSV1 set");
    return false;
  }
  if (control && !fin_) {
    fail(event, close_code::kProtocolError, "fragmented control frame");
    return false;
  }
  if (frame_opcode_ == Opcode::Continuation && message_opcode_ == Opcode::Continuation) {
    fail(event, close_code::kProtocolError, "continuation frame without a message");
    return false;
  }
  if (starts_message && message_opcode_ != Opcode::Continuation) {
    fail(event, close_code::kProtocolError, "new message inside a fragmented message");
    return false;
  }
  return true;
}

// Checks MASK against the role (WS-FR-01, WS-FR-02) and the 7-bit length of
// control frames (WS-CT-01). Returns false after failing the parser.
bool FrameParser::check_second_byte(uint8_t byte, FrameEvent& event) {
  masked_ = (byte & 0x80) != 0;
  if (role_ == Role::Server && !masked_) {
    fail(event, close_code::kProtocolError, "unmasked frame from client");
    return false;
  }
  if (role_ == Role::Client && masked_) {
    fail(event, close_code::kProtocolError, "masked frame from server");
    return false;
  }
  if (is_control(frame_opcode_) && (byte & 0x7F) > kMaxControlPayload) {
    fail(event, close_code::kProtocolError, "control frame longer than 125 bytes");
    return false;
  }
  return true;
}

// Decodes the length and key of a complete header whose first two bytes
// passed the checks above, then applies the length rules (WS-FR-05) and the
// limits (SEC-LIM-05..07) before a single payload byte is accepted.
bool FrameParser::finish_header(const uint8_t* header, FrameEvent& event) {
  const uint8_t length7 = header[1] & 0x7F;
  uint64_t length = length7;
  size_t key_at = 2;
  if (length7 == 126) {
    length = (uint64_t{header[2]} << 8) | header[3];
    key_at = 4;
    if (length < 126) {
      fail(event, close_code::kProtocolError, "non-minimal 16-bit length");
      return false;
    }
  } else if (length7 == 127) {
    length = 0;
    for (size_t i = 0; i < 8; ++i) length = (length << 8) | header[2 + i];
    key_at = 10;
    if ((length >> 63) != 0) {
      fail(event, close_code::kProtocolError, "64-bit length with the MSB set");
      return false;
    }
    if (length <= 0xFFFF) {
      fail(event, close_code::kProtocolError, "non-minimal 64-bit length");
      return false;
    }
  }
  if (masked_) std::memcpy(mask_, header + key_at, 4);
  frame_length_ = length;
  if (is_control(frame_opcode_)) return true;  // bounded by 125 bytes

  // A data frame. message_length_ <= max_message holds, so the subtraction
  // cannot wrap; no sum of declared lengths is ever formed (WS-FR-06).
  if (length > limits_.max_frame) {
    fail(event, close_code::kMessageTooBig, "frame too big");
    return false;
  }
  if (length > limits_.max_message - message_length_) {
    fail(event, close_code::kMessageTooBig, "message too big");
    return false;
  }
  if (limits_.max_fragments != 0 && message_fragments_ >= limits_.max_fragments) {
    fail(event, close_code::kPolicyViolation, "too many fragments");
    return false;
  }
  ++message_fragments_;
  message_length_ += length;
  if (frame_opcode_ != Opcode::Continuation) {
    // First frame of a message: fix the message's properties.
    data_opcode_ = frame_opcode_;
    message_compressed_ = frame_rsv1_;
    validate_utf8_ = data_opcode_ == Opcode::Text && !message_compressed_;
    if (!fin_) message_opcode_ = data_opcode_;
  }
  return true;
}

// Turns a complete, unmasked control payload into a Ping, Pong or Close
// event (WS-CT-04: never UTF-8 checked, except a Close reason, WS-U8-05).
bool FrameParser::deliver_control(std::span<uint8_t> payload, FrameEvent& event) {
  event.opcode = frame_opcode_;
  event.payload = payload;
  if (frame_opcode_ == Opcode::Ping) {
    event.kind = FrameEvent::Kind::Ping;
    return true;
  }
  if (frame_opcode_ == Opcode::Pong) {
    event.kind = FrameEvent::Kind::Pong;
    return true;
  }
  // Close (WS-CL-03, WS-CL-04).
  if (payload.empty()) {
    event.kind = FrameEvent::Kind::Close;
    event.close_code = close_code::kNoStatus;
    return true;
  }
  if (payload.size() == 1) {
    fail(event, close_code::kProtocolError, "close payload of 1 byte");
    return false;
  }
  const uint16_t code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
  if (!is_valid_received_close_code(code)) {
    fail(event, close_code::kProtocolError, "invalid close code");
    return false;
  }
  const std::span<const uint8_t> reason = payload.subspan(2);
  if (reason.size() > kMaxCloseReason) {
    fail(event, close_code::kProtocolError, "close reason longer than 123 bytes");
    return false;
  }
  if (!is_valid_utf8(reason)) {
    fail(event, close_code::kInvalidPayload, "invalid UTF-8 in close reason");
    return false;
  }
  event.kind = FrameEvent::Kind::Close;
  event.close_code = code;
  event.reason = {reinterpret_cast<const char*>(reason.data()), reason.size()};
  return true;
}

// Hands out a complete data message and forgets the message's state; the
// bytes stay where `payload` points until the next parse().
void FrameParser::deliver_message(std::span<const uint8_t> payload, FrameEvent& event) {
  event.kind = FrameEvent::Kind::Message;
  event.opcode = data_opcode_;
  event.payload = payload;
  event.compressed = message_compressed_;
  end_message();
}

// Hands out the payload bytes of a compressed message that are in the
// input from `pos` (PMD-08), unmasked in place, and advances `pos` past
// them. False (no event) when there were none and the message goes on.
bool FrameParser::deliver_part(uint8_t* in, size_t& pos, size_t n, FrameEvent& event) {
  const size_t take =
      static_cast<size_t>(std::min<uint64_t>(frame_length_ - frame_received_, n - pos));
  const std::span<uint8_t> fresh{in + pos, take};
  if (masked_) mask_payload(fresh, mask_, frame_received_);
  frame_received_ += take;
  const bool frame_done = frame_received_ == frame_length_;
  if (frame_done) state_ = State::Header;
  const bool last = frame_done && fin_;
  pos += take;
  if (take == 0 && !last) return false;
  event.kind = FrameEvent::Kind::MessagePart;
  event.opcode = data_opcode_;
  event.payload = fresh;
  event.compressed = true;
  event.last = last;
  if (last) end_message();
  return true;
}

void FrameParser::end_message() {
  message_opcode_ = Opcode::Continuation;
  message_fragments_ = 0;
  message_length_ = 0;
  utf8_.reset();
}

// Appends received bytes to message_. Capacity grows geometrically from the
// bytes actually received, never from a declared length (WS-FR-08), and is
// capped by max_message (the header checks keep the size within it).
void FrameParser::append_to_message(const uint8_t* bytes, size_t count) {
  if (count == 0) return;
  const size_t needed = message_.size() + count;
  if (needed > message_.capacity()) {
    size_t capacity = std::max({needed, 2 * message_.capacity(), kMinMessageCapacity});
    if (capacity > limits_.max_message) capacity = static_cast<size_t>(limits_.max_message);
    message_.reserve(std::max(capacity, needed));
  }
  message_.insert(message_.end(), bytes, bytes + count);
}

void FrameParser::release_message() {
  std::vector<uint8_t>().swap(message_);
  message_delivered_ = false;
}

// Fails the connection: fills `event` with the code and our reason, frees the
// message buffer and makes every later parse() a no-op (WS-FR-07).
size_t FrameParser::fail(FrameEvent& event, uint16_t code, std::string_view why) {
  event = FrameEvent{};
  event.kind = FrameEvent::Kind::Error;
  event.opcode = frame_opcode_;
  event.close_code = code;
  event.reason = why;
  state_ = State::Failed;
  release_message();
  return kConsumeAll;
}

}  // namespace wsgate::ws
