// Test support for the WebSocket codec: frame builders and an event
// recorder that feeds a byte stream to a FrameParser in chosen pieces.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame_parser.h"
#include "ws/frame_writer.h"
#include "ws/protocol.h"

namespace wsgate::ws::test {

using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kKey[4] = {0x37, 0xFA, 0x21, 0x3D};

inline Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// One frame as `sender` writes it: a Client masks with kKey, a Server does
// not. `rsv` is ORed into the first byte (0x40 RSV1, 0x20 RSV2, 0x10 RSV3).
inline Bytes frame(Opcode op, const Bytes& payload, bool fin = true, Role sender = Role::Client,
                   uint8_t rsv = 0) {
  const FrameHeader header = make_frame_header(sender, op, fin, payload.size(), kKey);
  Bytes out(header.bytes, header.bytes + header.size);
  out[0] |= rsv;
  const size_t at = out.size();
  out.insert(out.end(), payload.begin(), payload.end());
  if (sender == Role::Client) mask_payload({out.data() + at, payload.size()}, kKey);
  return out;
}

inline Bytes text(std::string_view s, bool fin = true) {
  return frame(Opcode::Text, bytes_of(s), fin);
}
inline Bytes binary(const Bytes& b, bool fin = true) {
  return frame(Opcode::Binary, b, fin);
}
inline Bytes cont(std::string_view s, bool fin) {
  return frame(Opcode::Continuation, bytes_of(s), fin);
}

inline Bytes close_frame(uint16_t code, const Bytes& reason = {}) {
  Bytes payload{static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
  payload.insert(payload.end(), reason.begin(), reason.end());
  return frame(Opcode::Close, payload);
}

// A masked client frame with a hand-made length field: `length_bytes` follow
// the second byte verbatim (for non-minimal or oversized encodings).
inline Bytes raw_frame(uint8_t first, uint8_t length7, const Bytes& length_bytes,
                       const Bytes& payload) {
  Bytes out{first, static_cast<uint8_t>(0x80 | length7)};
  out.insert(out.end(), length_bytes.begin(), length_bytes.end());
  out.insert(out.end(), kKey, kKey + 4);
  const size_t at = out.size();
  out.insert(out.end(), payload.begin(), payload.end());
  mask_payload({out.data() + at, payload.size()}, kKey);
  return out;
}

// An event with its views copied, so it outlives the parse() call.
struct Event {
  FrameEvent::Kind kind = FrameEvent::Kind::None;
  Opcode opcode = Opcode::Continuation;
  Bytes payload;
  uint16_t code = 0;
  std::string reason;
  bool compressed = false;
  bool last = false;
  bool operator==(const Event&) const = default;
};

inline Event copy_event(const FrameEvent& ev) {
  return Event{ev.kind,
               ev.opcode,
               Bytes(ev.payload.begin(), ev.payload.end()),
               ev.close_code,
               std::string(ev.reason),
               ev.compressed,
               ev.last};
}

// Joins each run of MessageParts into the one compressed Message it makes,
// so that events compare equal however the input was cut.
inline std::vector<Event> join_parts(const std::vector<Event>& events) {
  std::vector<Event> out;
  Bytes parts;
  for (const Event& e : events) {
    if (e.kind != FrameEvent::Kind::MessagePart) {
      out.push_back(e);
      continue;
    }
    parts.insert(parts.end(), e.payload.begin(), e.payload.end());
    if (!e.last) continue;
    out.push_back(Event{FrameEvent::Kind::Message, e.opcode, std::move(parts), 0, {}, true});
    parts.clear();
  }
  return out;
}

inline const char* kind_name(FrameEvent::Kind k) {
  switch (k) {
    case FrameEvent::Kind::None:
      return "None";
    case FrameEvent::Kind::Message:
      return "Message";
    case FrameEvent::Kind::MessagePart:
      return "MessagePart";
    case FrameEvent::Kind::Ping:
      return "Ping";
    case FrameEvent::Kind::Pong:
      return "Pong";
    case FrameEvent::Kind::Close:
      return "Close";
    case FrameEvent::Kind::Error:
      return "Error";
  }
  return "?";
}

inline void PrintTo(const Event& e, std::ostream* os) {
  *os << "{" << kind_name(e.kind) << " op=" << static_cast<int>(e.opcode)
      << " len=" << e.payload.size() << " code=" << e.code << " reason=\"" << e.reason << "\""
      << (e.compressed ? " compressed" : "") << (e.last ? " last" : "") << "}";
}

// Feeds `piece` with the documented loop and appends every event.
inline void feed_piece(FrameParser& parser, uint8_t* data, size_t n, std::vector<Event>& out) {
  size_t off = 0;
  while (off < n) {
    FrameEvent ev;
    off += parser.parse({data + off, n - off}, ev);
    if (ev.kind == FrameEvent::Kind::None) break;
    out.push_back(copy_event(ev));
  }
}

// Feeds a copy of `stream` in pieces of `chunk` bytes (0: all at once).
inline std::vector<Event> feed_chunks(FrameParser& parser, Bytes stream, size_t chunk = 0) {
  std::vector<Event> out;
  if (chunk == 0) chunk = stream.size() == 0 ? 1 : stream.size();
  for (size_t at = 0; at < stream.size(); at += chunk) {
    const size_t n = std::min(chunk, stream.size() - at);
    feed_piece(parser, stream.data() + at, n, out);
  }
  return out;
}

// Feeds a copy of `stream` as two pieces split at `split`.
inline std::vector<Event> feed_split(FrameParser& parser, Bytes stream, size_t split) {
  std::vector<Event> out;
  feed_piece(parser, stream.data(), split, out);
  feed_piece(parser, stream.data() + split, stream.size() - split, out);
  return out;
}

inline std::vector<Event> parse_all(const Bytes& stream, Role role = Role::Server,
                                    const Limits& limits = {}, size_t chunk = 0) {
  FrameParser parser(role, limits);
  return feed_chunks(parser, stream, chunk);
}

inline Event message(Opcode op, std::string_view payload) {
  return Event{FrameEvent::Kind::Message, op, bytes_of(payload), 0, {}, false};
}
inline Event ping(std::string_view payload) {
  return Event{FrameEvent::Kind::Ping, Opcode::Ping, bytes_of(payload), 0, {}, false};
}
inline Event pong(std::string_view payload) {
  return Event{FrameEvent::Kind::Pong, Opcode::Pong, bytes_of(payload), 0, {}, false};
}

// Kind and code of the last event, for error assertions.
inline uint16_t error_code(const std::vector<Event>& events) {
  if (events.empty() || events.back().kind != FrameEvent::Kind::Error) return 0;
  return events.back().code;
}

}  // namespace wsgate::ws::test
