// Incremental, sans-I/O WebSocket frame parser (RFC 6455 §5). Bytes in,
// events out; no sockets, no timers, no allocation from a declared length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "ws/protocol.h"
#include "ws/utf8.h"

namespace wsgate::ws {

// One thing the parser found. `payload` and `reason` are views that stay
// valid until the next call to FrameParser::parse() or reset(); they point
// either into the caller's input (a frame that arrived whole is unmasked in
// place and never copied) or into the parser's own message buffer.
struct FrameEvent {
  enum class Kind : uint8_t {
    None,     // input exhausted; nothing complete yet
    Message,  // a complete Text or Binary message (opcode says which)
    // The next bytes of a compressed message that is fragmented or split
    // across reads, handed out as they arrive (PMD-08) and never buffered;
    // `last` on the part that ends the message. A compressed message whose
    // one frame arrived whole is a Message instead.
    MessagePart,
    Ping,
    Pong,
    Close,  // a valid Close: close_code (kNoStatus if empty) and reason
    Error,  // the connection must be failed with close_code; see error
  };
  Kind kind = Kind::None;
  Opcode opcode = Opcode::Continuation;
  std::span<const uint8_t> payload;
  uint16_t close_code = 0;
  std::string_view reason;  // Close: peer's reason; Error: our text, static storage
  // Message: RSV1 was set on its first frame (only possible after
  // set_rsv1_allowed(true)). The payload is then compressed and was not
  // UTF-8 checked; the inflater must validate the inflated text (WS-U8-06).
  // Always true for a MessagePart.
  bool compressed = false;
  bool last = false;  // MessagePart: the message ends with this part
};

// One message of a run decoded by FrameParser::parse_run(): a whole,
// unfragmented, uncompressed Text or Binary frame with a payload of fewer
// than 126 bytes, unmasked in place and, for Text, UTF-8 checked. `data`
// points into the caller's input, valid as an event's payload is.
struct SmallMessage {
  const uint8_t* data;
  uint8_t size;
  Opcode opcode;
  std::span<const uint8_t> payload() const { return {data, size}; }
};

// Parses one direction of one connection. Usage:
//
//   size_t off = 0;
//   while (off < n) {
//     FrameEvent ev;
//     off += parser.parse({buf + off, n - off}, ev);
//     if (ev.kind == FrameEvent::Kind::None) break;
//     handle(ev);           // payload views valid until the next parse()
//   }
//   parser.parse({}, ev);   // optional: frees a delivered message's buffer now
//
// parse() consumes as many bytes as it needs to produce at most one event
// and returns how many it consumed. It may unmask bytes of `input` in place.
// After an Error, the parser is failed: every later call consumes all input
// and returns Kind::None (WS-FR-07). After a Close it keeps parsing so the
// caller can apply WS-CL-02 itself.
class FrameParser {
 public:
  FrameParser(Role role, const Limits& limits) : role_(role), limits_(limits) {}

  size_t parse(std::span<uint8_t> input, FrameEvent& event);

  // The common case in one call: decodes the run of frames at the start
  // of `input` that parse() would each turn into a Message on its
  // small-frame path, at most `capacity` of them, into `out`, and returns
  // how many; `used` is set to the bytes they took (0 with none). It stops
  // before the first frame that is anything else (control, fragment, RSV1,
  // 126 bytes or more, not whole in `input`, a Text frame that is not valid
  // UTF-8) and leaves it, untouched, to parse(); it decodes nothing while
  // a frame or a fragmented message is in progress. Afterwards the parser
  // is where that many parse() calls would have left it (frame_parser_fuzz
  // compares the two). Like parse(), it ends the previous event's views;
  // the messages' views stay valid until the next parse(), parse_run() or
  // reset().
  size_t parse_run(std::span<uint8_t> input, SmallMessage* out, size_t capacity, size_t& used);

  // Allow RSV1 on the first frame of data messages (permessage-deflate, not
  // negotiated yet). Off by default: any RSV bit fails with 1002 (WS-FR-03).
  void set_rsv1_allowed(bool allowed) { rsv1_allowed_ = allowed; }

  bool failed() const { return state_ == State::Failed; }
  const Limits& limits() const { return limits_; }
  // True while a fragmented message is in progress (FIN=0 seen).
  bool in_message() const { return message_opcode_ != Opcode::Continuation; }
  // True while anything unfinished is held: a message in progress, or a
  // frame whose header or payload has only partly arrived.
  bool mid_frame_or_message() const {
    return in_message() || header_len_ != 0 || state_ == State::Payload;
  }
  // Heap bytes held for partial data frames and messages (0 when idle). A
  // control frame split across reads holds 125 more bytes until the next
  // parse(); that bound does not depend on the input, so it is not counted.
  size_t buffered_bytes() const { return message_.capacity(); }

  // Drops any partial frame and message; frees the message buffer.
  void reset();
  // Frees everything held and ignores all further input, as after a
  // failure (the caller has closed the session with its own code).
  void abandon() {
    reset();
    state_ = State::Failed;
  }

 private:
  enum class State : uint8_t { Header, Payload, Failed };

  size_t fail(FrameEvent& event, uint16_t code, std::string_view why);
  size_t parse_frames(std::span<uint8_t> input, FrameEvent& event);
  bool check_first_byte(uint8_t byte, FrameEvent& event);
  bool check_second_byte(uint8_t byte, FrameEvent& event);
  bool finish_header(const uint8_t* header, FrameEvent& event);
  bool deliver_control(std::span<uint8_t> payload, FrameEvent& event);
  void deliver_message(std::span<const uint8_t> payload, FrameEvent& event);
  bool deliver_part(uint8_t* in, size_t& pos, size_t n, FrameEvent& event);
  void end_message();
  size_t parse_small_frame(uint8_t* in, size_t n, FrameEvent& event);
  void release_delivered();
  void append_to_message(const uint8_t* bytes, size_t count);
  void release_message();

  Role role_;
  Limits limits_;
  State state_ = State::Header;
  bool rsv1_allowed_ = false;

  // Current frame header, accumulated across reads.
  uint8_t header_[kMaxFrameHeader] = {};
  uint8_t header_len_ = 0;
  bool fin_ = false;
  Opcode frame_opcode_ = Opcode::Continuation;
  bool masked_ = false;
  uint8_t mask_[4] = {};
  uint64_t frame_length_ = 0;
  uint64_t frame_received_ = 0;

  // Data message in progress (fragments or a frame split across reads).
  Opcode message_opcode_ = Opcode::Continuation;
  uint32_t message_fragments_ = 0;
  uint64_t message_length_ = 0;
  Utf8Validator utf8_;
  std::vector<uint8_t> message_;
  bool message_delivered_ = false;  // message_ holds an event already handed out
  // Of the data message the current frame belongs to (set by its first frame).
  Opcode data_opcode_ = Opcode::Continuation;
  bool frame_rsv1_ = false;
  bool message_compressed_ = false;
  bool validate_utf8_ = false;  // Text and not compressed

  // A control frame split across reads (at most 125 bytes), allocated
  // only then and freed by the next parse(), like message_: most control
  // frames arrive whole, and an idle connection should not carry 125 bytes.
  std::unique_ptr<uint8_t[]> control_;
  bool control_delivered_ = false;
};

}  // namespace wsgate::ws
