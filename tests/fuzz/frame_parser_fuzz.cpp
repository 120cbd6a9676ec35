// libFuzzer target for FrameParser: the same byte stream fed whole and in
// random pieces must give the same events (checklist WS-FR-06, LIB-03), and
// the parser's buffer must never outgrow the bytes it was given (WS-FR-08).
// The same two feeds are made once more with parse_run() tried before each
// parse() (the session's batch of small frames, issue 16): its messages
// must be the events parse() alone gives, in the same order, and the
// parser must be left where parse() alone leaves it.
//
// Input layout: byte 0 flags (bit 0 client role, bit 1 RSV1 allowed, bit 2
// small limits, bits 4-7 max_fragments), bytes 1-2 small frame/message
// limits, byte 3 chop seed; the rest is the stream.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ws/frame_parser.h"

namespace {

using wsgate::ws::FrameEvent;
using wsgate::ws::FrameParser;
using wsgate::ws::Limits;
using wsgate::ws::Opcode;
using wsgate::ws::Role;
using wsgate::ws::SmallMessage;

struct Recorded {
  FrameEvent::Kind kind;
  uint8_t opcode;
  std::string payload;
  uint16_t code;
  std::string reason;
  bool compressed;
  bool operator==(const Recorded&) const = default;
};

struct Run {
  FrameParser parser;
  std::vector<Recorded> events;
  // A compressed message's parts so far: recorded as one Message when the
  // last arrives, so that whole and chopped input compare equal.
  std::string parts;
  size_t fed = 0;
  Run(Role role, const Limits& limits, bool rsv1) : parser(role, limits) {
    parser.set_rsv1_allowed(rsv1);
  }
};

[[noreturn]] void die(const char* what, size_t index) {
  std::fprintf(stderr, "frame_parser_fuzz: %s (event %zu)\n", what, index);
  std::abort();
}

constexpr size_t kMaxRun = 16;

// Decodes a run of small messages at data[off..n) with parse_run(), at
// most `capacity` (1..kMaxRun), records them as parse() would have
// recorded their events and checks the call's promises. Returns the bytes
// used.
size_t feed_run(Run& run, uint8_t* data, size_t off, size_t n, size_t capacity) {
  SmallMessage messages[kMaxRun];
  size_t used = SIZE_MAX;
  const size_t count = run.parser.parse_run({data + off, n - off}, messages, capacity, used);
  if (count > capacity) die("run longer than its capacity", run.events.size());
  if (used > n - off) die("run consumed more than given", run.events.size());
  if ((count == 0) != (used == 0)) die("run's count and bytes disagree", run.events.size());
  if (count != 0 && (run.parser.mid_frame_or_message() || run.parser.failed()))
    die("run ended inside a frame", run.events.size());
  const uint8_t* const begin = data + off;
  const uint8_t* at = begin;
  for (size_t i = 0; i < count; ++i) {
    const SmallMessage& m = messages[i];
    // Each payload follows its own header, in order, inside what was used.
    if (m.data <= at || m.data + m.size > begin + used || m.size >= 126)
      die("run message outside its frame", run.events.size());
    if (m.opcode != Opcode::Text && m.opcode != Opcode::Binary)
      die("run message not data", run.events.size());
    at = m.data + m.size;
    run.events.push_back(Recorded{FrameEvent::Kind::Message, static_cast<uint8_t>(m.opcode),
                                  std::string(reinterpret_cast<const char*>(m.data), m.size), 0, "",
                                  false});
  }
  if (at != begin + used) die("run used bytes after its last message", run.events.size());
  return used;
}

// Feeds one piece with the loop documented in frame_parser.h and checks the
// per-call promises; with `run_capacity` (not 0), parse_run() first each
// time round, as WsSession::feed does.
void feed(Run& run, uint8_t* data, size_t n, size_t run_capacity = 0) {
  run.fed += n;
  size_t off = 0;
  while (off < n) {
    if (run_capacity != 0) {
      const size_t used = feed_run(run, data, off, n, run_capacity);
      off += used;
      if (used != 0) continue;
    }
    FrameEvent ev;
    const size_t used = run.parser.parse({data + off, n - off}, ev);
    if (used > n - off) die("consumed more than given", run.events.size());
    off += used;
    if (run.parser.buffered_bytes() > 2 * run.fed + 256)
      die("buffer larger than input", run.events.size());
    if (ev.kind == FrameEvent::Kind::None) {
      if (off != n) die("None without consuming everything", run.events.size());
      break;
    }
    if (used == 0) die("event without consuming a byte", run.events.size());
    if (ev.kind == FrameEvent::Kind::Error && !run.parser.failed()) die("Error but not failed", 0);
    if (ev.kind == FrameEvent::Kind::MessagePart) {
      if (!ev.compressed) die("uncompressed part", run.events.size());
      run.parts.append(reinterpret_cast<const char*>(ev.payload.data()), ev.payload.size());
      if (!ev.last) continue;
      run.events.push_back(Recorded{FrameEvent::Kind::Message, static_cast<uint8_t>(ev.opcode),
                                    std::move(run.parts), 0, "", true});
      run.parts.clear();
      continue;
    }
    run.events.push_back(
        Recorded{ev.kind, static_cast<uint8_t>(ev.opcode),
                 std::string(reinterpret_cast<const char*>(ev.payload.data()), ev.payload.size()),
                 ev.close_code, std::string(ev.reason), ev.compressed});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t flags = data[0];
  const Role role = (flags & 1) != 0 ? Role::Client : Role::Server;
  const bool rsv1 = (flags & 2) != 0;
  Limits limits;
  if ((flags & 4) != 0) {
    limits.max_frame = 1 + data[1] * 4u;
    limits.max_message = 1 + data[2] * 8u;
    limits.max_fragments = flags >> 4;
  }
  uint32_t seed = data[3] * 2654435761u + 1;
  const std::vector<uint8_t> stream(data + 4, data + size);

  // Whole: one read.
  Run whole(role, limits, rsv1);
  std::vector<uint8_t> a = stream;
  feed(whole, a.data(), a.size());

  // Chopped: pieces of 1..64 bytes, with empty reads in between; fed by
  // parse() alone and, with the same pieces, by parse_run() and parse().
  Run chopped(role, limits, rsv1);
  std::vector<uint8_t> b = stream;
  Run chopped_runs(role, limits, rsv1);
  std::vector<uint8_t> c = stream;
  for (size_t at = 0; at < b.size();) {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    const size_t n = std::min<size_t>(b.size() - at, 1 + seed % ((data[3] & 0x3F) + 1));
    feed(chopped, b.data() + at, n);
    feed(chopped_runs, c.data() + at, n, kMaxRun);
    if ((seed & 0x300) == 0) {
      // An empty read: releases a delivered message, never an event.
      FrameEvent ev;
      if (chopped.parser.parse({}, ev) != 0 || ev.kind != FrameEvent::Kind::None)
        die("empty read", 0);
      size_t used = SIZE_MAX;
      SmallMessage none[1];
      if (chopped_runs.parser.parse_run({}, none, 1, used) != 0 || used != 0) die("empty run", 0);
    }
    at += n;
  }

  // Whole, with runs of 1..16 messages at most.
  Run whole_runs(role, limits, rsv1);
  std::vector<uint8_t> d = stream;
  feed(whole_runs, d.data(), d.size(), 1 + (data[3] >> 2) % kMaxRun);

  for (const Run* other : {&chopped, &chopped_runs, &whole_runs}) {
    if (whole.events.size() != other->events.size())
      die("event counts differ", whole.events.size());
    for (size_t i = 0; i < whole.events.size(); ++i) {
      if (!(whole.events[i] == other->events[i])) die("events differ", i);
    }
    if (whole.parser.failed() != other->parser.failed()) die("failed() differs", 0);
    if (!whole.parser.failed() && whole.parts != other->parts) die("unfinished parts differ", 0);
    if (whole.parser.in_message() != other->parser.in_message()) die("in_message() differs", 0);
    if (!whole.parser.failed() &&
        whole.parser.mid_frame_or_message() != other->parser.mid_frame_or_message())
      die("mid_frame_or_message() differs", 0);
  }

  // An empty parse releases a delivered message's buffer.
  FrameEvent ev;
  whole.parser.parse({}, ev);
  if (ev.kind != FrameEvent::Kind::None) die("empty parse produced an event", 0);
  if (whole.parser.failed() && whole.parser.buffered_bytes() != 0)
    die("failed parser holds a buffer", 0);
  return 0;
}
