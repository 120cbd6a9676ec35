// Tests of the codec's fast paths against the general ones (issue 16):
// the parser's small-frame path (one SSE2 pass to unmask and check for
// ASCII) and its runs of small frames (parse_run), ws::is_ascii, the
// inline key-word unmask behind mask_payload, and the validator's state
// across chunk borders next to its ASCII skipping.
// Lengths 0..17 and beyond 16 and 32 cover every tail of the word loops;
// starts are shifted by 0..15 bytes so that no load is aligned by chance.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ws/frame_parser.h"
#include "ws/frame_writer.h"
#include "ws/utf8.h"
#include "ws_test_support.h"

namespace wsgate::ws {
namespace {

using namespace test;
using Kind = FrameEvent::Kind;

// Payload bytes i*37+11: every byte value turns up, high bits included.
Bytes pattern(size_t n, uint8_t high_mask = 0xFF) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((i * 37 + 11) & high_mask);
  return out;
}

// `stream` copied to `misalign` bytes into a larger buffer, parsed whole
// (the small-frame path) and then one byte at a time (the general path).
struct BothPaths {
  std::vector<Event> whole;
  std::vector<Event> bytewise;
};

BothPaths parse_both(const Bytes& stream, size_t misalign) {
  BothPaths out;
  Bytes buffer(misalign + stream.size() + 16, 0xEE);
  std::copy(stream.begin(), stream.end(), buffer.begin() + misalign);
  FrameParser whole(Role::Server, Limits{});
  feed_piece(whole, buffer.data() + misalign, stream.size(), out.whole);
  FrameParser bytewise(Role::Server, Limits{});
  out.bytewise = feed_chunks(bytewise, stream, 1);
  return out;
}

TEST(FastPath, SmallFramesOfEveryLengthAndAlignmentMatchTheGeneralPath) {
  for (size_t length = 0; length < 126; ++length) {
    for (size_t misalign = 0; misalign < 16; ++misalign) {
      SCOPED_TRACE(testing::Message() << "length " << length << " misalign " << misalign);
      const Bytes ascii = pattern(length, 0x7F);
      const BothPaths text = parse_both(frame(Opcode::Text, ascii), misalign);
      ASSERT_EQ(text.whole, (std::vector<Event>{Event{Kind::Message, Opcode::Text, ascii}}));
      ASSERT_EQ(text.whole, text.bytewise);

      const Bytes any = pattern(length);
      const BothPaths bin = parse_both(frame(Opcode::Binary, any), misalign);
      ASSERT_EQ(bin.whole, (std::vector<Event>{Event{Kind::Message, Opcode::Binary, any}}));
      ASSERT_EQ(bin.whole, bin.bytewise);
    }
  }
}

TEST(FastPath, WS_U8_01_SmallTextWithAHighByteAtEveryPositionGoesToTheValidator) {
  // One non-ASCII byte anywhere in a small text frame: a valid 2-byte
  // character is delivered; a stray continuation byte fails with 1007,
  // exactly as on the byte-at-a-time path.
  for (size_t length = 2; length <= 40; ++length) {
    for (size_t at = 0; at + 1 < length; ++at) {
      SCOPED_TRACE(testing::Message() << "length " << length << " at " << at);
      Bytes good(length, 'a');
      good[at] = 0xC3;
      good[at + 1] = 0xA9;  // U+00E9
      const BothPaths ok = parse_both(frame(Opcode::Text, good), at % 16);
      ASSERT_EQ(ok.whole, (std::vector<Event>{Event{Kind::Message, Opcode::Text, good}}));
      ASSERT_EQ(ok.whole, ok.bytewise);

      Bytes bad(length, 'a');
      bad[at] = 0x80;
      const BothPaths fail = parse_both(frame(Opcode::Text, bad), at % 16);
      ASSERT_EQ(error_code(fail.whole), close_code::kInvalidPayload);
      ASSERT_EQ(fail.whole, fail.bytewise);
    }
  }
}

TEST(FastPath, WS_U8_03_SmallTextEndingInsideACharacterFails) {
  for (const Bytes& tail : {Bytes{0xC3}, Bytes{0xE2, 0x82}, Bytes{0xF0, 0x9F, 0x98}}) {
    for (size_t ascii = 0; ascii <= 33; ++ascii) {
      Bytes payload(ascii, 'x');
      payload.insert(payload.end(), tail.begin(), tail.end());
      const BothPaths both = parse_both(frame(Opcode::Text, payload), ascii % 16);
      EXPECT_EQ(error_code(both.whole), close_code::kInvalidPayload) << ascii;
      EXPECT_EQ(both.whole, both.bytewise) << ascii;
    }
  }
}

// Frames of lengths 0..40, text and binary alternating, each masked with
// its own key, as a pipelining client sends them; with a Ping after the
// 20th when `with_ping`.
Bytes small_frames(std::vector<Event>& expected, bool with_ping) {
  Bytes stream;
  for (size_t length = 0; length <= 40; ++length) {
    const Opcode op = length % 2 == 0 ? Opcode::Text : Opcode::Binary;
    const Bytes payload = op == Opcode::Text ? pattern(length, 0x7F) : pattern(length);
    const uint8_t key[4] = {static_cast<uint8_t>(length), 0x80, 0xFF,
                            static_cast<uint8_t>(~length)};
    const FrameHeader header = make_frame_header(Role::Client, op, true, length, key);
    const size_t at = stream.size() + header.size;
    stream.insert(stream.end(), header.bytes, header.bytes + header.size);
    stream.insert(stream.end(), payload.begin(), payload.end());
    mask_payload({stream.data() + at, length}, key);
    expected.push_back(Event{Kind::Message, op, payload});
    if (with_ping && length == 20) {
      const Bytes ping_frame = frame(Opcode::Ping, bytes_of("are you there"));
      stream.insert(stream.end(), ping_frame.begin(), ping_frame.end());
      expected.push_back(ping("are you there"));
    }
  }
  return stream;
}

TEST(FastPath, ManySmallFramesInOneReadEachKeepTheirOwnKeyAndState) {
  std::vector<Event> expected;
  const Bytes stream = small_frames(expected, false);
  for (size_t misalign = 0; misalign < 16; ++misalign) {
    const BothPaths both = parse_both(stream, misalign);
    EXPECT_EQ(both.whole, expected) << misalign;
    EXPECT_EQ(both.bytewise, expected) << misalign;
  }
}

// Feeds `n` bytes as WsSession::feed does: parse_run() with room for
// `capacity` messages first, parse() for what it leaves. Each message is
// recorded as the Message event parse() gives for it.
std::vector<Event> feed_with_runs(FrameParser& parser, uint8_t* data, size_t n, size_t capacity,
                                  size_t* runs = nullptr) {
  std::vector<Event> out;
  std::vector<SmallMessage> messages(capacity);
  size_t off = 0;
  while (off < n) {
    size_t used = 0;
    const size_t count = parser.parse_run({data + off, n - off}, messages.data(), capacity, used);
    EXPECT_LE(count, capacity);
    EXPECT_EQ(count == 0, used == 0);
    for (size_t i = 0; i < count; ++i) {
      out.push_back(Event{Kind::Message, messages[i].opcode,
                          Bytes(messages[i].data, messages[i].data + messages[i].size)});
    }
    off += used;
    if (count != 0) {
      if (runs != nullptr) ++*runs;
      continue;
    }
    FrameEvent ev;
    off += parser.parse({data + off, n - off}, ev);
    if (ev.kind == Kind::None) break;
    out.push_back(copy_event(ev));
  }
  return out;
}

TEST(FastPath, RunsOfSmallFramesGiveTheEventsOfOneParsePerFrame) {
  std::vector<Event> expected;
  const Bytes stream = small_frames(expected, true);
  for (size_t capacity = 1; capacity <= 45; ++capacity) {
    for (size_t misalign = 0; misalign < 16; misalign += 5) {
      SCOPED_TRACE(testing::Message() << "capacity " << capacity << " misalign " << misalign);
      Bytes buffer(misalign + stream.size(), 0xEE);
      std::copy(stream.begin(), stream.end(), buffer.begin() + misalign);
      FrameParser parser(Role::Server, Limits{});
      size_t runs = 0;
      const std::vector<Event> got =
          feed_with_runs(parser, buffer.data() + misalign, stream.size(), capacity, &runs);
      ASSERT_EQ(got, expected);
      // The Ping ends a run and is parse()'s; the 41 messages take
      // ceil(21 / capacity) + ceil(20 / capacity) runs.
      EXPECT_EQ(runs, (21 + capacity - 1) / capacity + (20 + capacity - 1) / capacity);
    }
  }
}

// A client frame masked with `key`.
Bytes masked_frame(Opcode op, const Bytes& payload, const uint8_t key[4]) {
  const FrameHeader header = make_frame_header(Role::Client, op, true, payload.size(), key);
  Bytes out(header.bytes, header.bytes + header.size);
  out.insert(out.end(), payload.begin(), payload.end());
  mask_payload({out.data() + header.size, payload.size()}, key);
  return out;
}

TEST(FastPath, RunsOfEverySmallLengthAndAlignmentMatchTheGeneralPath) {
  // The run's unmask takes its last block from the end, overlapping the
  // one before, with the key rotated by length % 4: every length, start
  // and key byte order must give the general path's bytes.
  const uint8_t keys[2][4] = {{0x01, 0x80, 0xFF, 0x5A}, {0xC3, 0x00, 0x7E, 0x99}};
  for (size_t length = 0; length < 126; ++length) {
    const Bytes ascii = pattern(length, 0x7F);
    const Bytes any = pattern(length);
    const Bytes stream = concat({masked_frame(Opcode::Text, ascii, keys[0]),
                                 masked_frame(Opcode::Binary, any, keys[1]),
                                 masked_frame(Opcode::Binary, ascii, keys[0])});
    const std::vector<Event> expected = {Event{Kind::Message, Opcode::Text, ascii},
                                         Event{Kind::Message, Opcode::Binary, any},
                                         Event{Kind::Message, Opcode::Binary, ascii}};
    ASSERT_EQ(parse_all(stream, Role::Server, Limits{}, 1), expected) << length;
    for (size_t misalign = 0; misalign < 16; ++misalign) {
      SCOPED_TRACE(testing::Message() << "length " << length << " misalign " << misalign);
      Bytes buffer(misalign + stream.size() + 16, 0xEE);
      std::copy(stream.begin(), stream.end(), buffer.begin() + misalign);
      FrameParser parser(Role::Server, Limits{});
      size_t runs = 0;
      ASSERT_EQ(feed_with_runs(parser, buffer.data() + misalign, stream.size(), 8, &runs),
                expected);
      EXPECT_EQ(runs, 1u);
      // Nothing outside the frames was written.
      for (size_t i = 0; i < misalign; ++i) ASSERT_EQ(buffer[i], 0xEE);
      for (size_t i = misalign + stream.size(); i < buffer.size(); ++i) ASSERT_EQ(buffer[i], 0xEE);
    }
  }
}

TEST(FastPath, WS_U8_01_RunsSendEveryNonAsciiTextToTheValidator) {
  // A high byte at every position of every length: a valid character is
  // the run's; a stray continuation byte ends the run before its frame,
  // which parse() then fails with 1007 as the byte-at-a-time path does.
  for (size_t length = 1; length < 126; ++length) {
    for (size_t at = 0; at < length; ++at) {
      SCOPED_TRACE(testing::Message() << "length " << length << " at " << at);
      Bytes good(length, 'a');
      good[at] = 0xC3;
      if (at + 1 < length) good[at + 1] = 0xA9;
      Bytes bad(length, 'a');
      bad[at] = 0x80;
      for (const Bytes& payload : {good, bad}) {
        const Bytes stream = concat({text("before"), frame(Opcode::Text, payload), text("after")});
        const std::vector<Event> reference = parse_all(stream, Role::Server, Limits{}, 1);
        Bytes copy = stream;
        FrameParser parser(Role::Server, Limits{});
        ASSERT_EQ(feed_with_runs(parser, copy.data(), copy.size(), 8), reference);
      }
    }
  }
}

TEST(FastPath, RunsInChoppedInputEndAtTheFrameSplitByARead) {
  std::vector<Event> expected;
  const Bytes stream = small_frames(expected, true);
  for (size_t chunk = 1; chunk <= 70; ++chunk) {
    SCOPED_TRACE(testing::Message() << "chunk " << chunk);
    Bytes copy = stream;
    FrameParser parser(Role::Server, Limits{});
    std::vector<Event> got;
    for (size_t at = 0; at < copy.size(); at += chunk) {
      const size_t n = std::min(chunk, copy.size() - at);
      const std::vector<Event> piece = feed_with_runs(parser, copy.data() + at, n, 8);
      got.insert(got.end(), piece.begin(), piece.end());
    }
    ASSERT_EQ(got, expected);
  }
}

TEST(FastPath, WS_U8_01_RunStopsBeforeInvalidTextAndParseFailsItAsItWould) {
  for (const Bytes& bad : {Bytes{'a', 0x80, 'b'}, Bytes{'x', 0xC3}, Bytes{0xED, 0xA0, 0x80}}) {
    const Bytes good{'o', 0xC3, 0xA9, 'k'};  // valid non-ASCII text is the run's
    const Bytes stream =
        concat({text("one"), frame(Opcode::Text, good), frame(Opcode::Text, bad), text("never")});
    const std::vector<Event> reference = parse_all(stream);
    ASSERT_EQ(reference.size(), 3u);
    ASSERT_EQ(error_code(reference), close_code::kInvalidPayload);
    Bytes copy = stream;
    FrameParser parser(Role::Server, Limits{});
    SmallMessage messages[8];
    size_t used = 0;
    ASSERT_EQ(parser.parse_run({copy.data(), copy.size()}, messages, 8, used), 2u);
    EXPECT_EQ(used, text("one").size() + frame(Opcode::Text, good).size());
    // The bad frame is left as it arrived.
    const Bytes bad_frame = frame(Opcode::Text, bad);
    EXPECT_TRUE(std::equal(bad_frame.begin(), bad_frame.end(), copy.begin() + used));
    FrameEvent ev;
    parser.parse({copy.data() + used, copy.size() - used}, ev);
    EXPECT_EQ(copy_event(ev), reference.back());
    EXPECT_TRUE(parser.failed());
    EXPECT_EQ(parser.parse_run({copy.data(), copy.size()}, messages, 8, used), 0u);
  }
}

TEST(FastPath, RunDecodesNothingInsideAFragmentedMessageOrPastTheLimits) {
  // Inside a fragmented message a small frame is parse()'s to fail.
  Bytes stream = concat({text("frag", false), text("new")});
  FrameParser parser(Role::Server, Limits{});
  SmallMessage messages[4];
  size_t used = 0;
  FrameEvent ev;
  const size_t first = text("frag", false).size();
  EXPECT_EQ(parser.parse({stream.data(), first}, ev), first);
  EXPECT_EQ(ev.kind, Kind::None);
  EXPECT_TRUE(parser.in_message());
  EXPECT_EQ(parser.parse_run({stream.data() + first, stream.size() - first}, messages, 4, used),
            0u);
  EXPECT_EQ(used, 0u);

  // A frame over max_frame ends the run; parse() fails it with 1009.
  Limits limits;
  limits.max_frame = 10;
  Bytes over = concat({text("0123456789"), text("0123456789A")});
  FrameParser limited(Role::Server, limits);
  EXPECT_EQ(limited.parse_run({over.data(), over.size()}, messages, 4, used), 1u);
  limited.parse({over.data() + used, over.size() - used}, ev);
  EXPECT_EQ(ev.kind, Kind::Error);
  EXPECT_EQ(ev.close_code, close_code::kMessageTooBig);

  // A server's parser takes unmasked frames only; a client's, masked ones.
  Bytes unmasked = frame(Opcode::Text, bytes_of("hi"), true, Role::Server);
  FrameParser client(Role::Client, Limits{});
  ASSERT_EQ(client.parse_run({unmasked.data(), unmasked.size()}, messages, 4, used), 1u);
  EXPECT_EQ(Bytes(messages[0].data, messages[0].data + messages[0].size), bytes_of("hi"));
  FrameParser server(Role::Server, Limits{});
  EXPECT_EQ(server.parse_run({unmasked.data(), unmasked.size()}, messages, 4, used), 0u);
}

TEST(FastPath, IsAsciiFindsAHighBitInEveryLaneOfEveryLength) {
  Bytes buffer(16 + 80);
  for (size_t misalign = 0; misalign < 16; ++misalign) {
    for (size_t length = 0; length <= 80; ++length) {
      uint8_t* const start = buffer.data() + misalign;
      std::fill(buffer.begin(), buffer.end(), 0x80);  // outside the span: must be ignored
      std::fill(start, start + length, 'a');
      ASSERT_TRUE(is_ascii({start, length})) << misalign << " " << length;
      for (size_t at = 0; at < length; ++at) {
        start[at] = 0x80;
        ASSERT_FALSE(is_ascii({start, length})) << misalign << " " << length << " " << at;
        start[at] = 0xFF;
        ASSERT_FALSE(is_ascii({start, length})) << misalign << " " << length << " " << at;
        start[at] = 0x7F;
        ASSERT_TRUE(is_ascii({start, length})) << misalign << " " << length << " " << at;
      }
    }
  }
}

TEST(FastPath, MaskPayloadMatchesTheByteLoopAtMisalignedStarts) {
  const uint8_t key[4] = {0xA1, 0x00, 0x7F, 0xFE};
  Bytes buffer(16 + 80 + 8);
  for (size_t misalign = 0; misalign < 16; ++misalign) {
    for (size_t length = 0; length <= 80; ++length) {
      for (size_t offset = 0; offset < 4; ++offset) {
        std::fill(buffer.begin(), buffer.end(), 0x5A);
        uint8_t* const start = buffer.data() + misalign;
        const Bytes data = pattern(length);
        std::copy(data.begin(), data.end(), start);
        mask_payload({start, length}, key, offset);
        for (size_t i = 0; i < buffer.size(); ++i) {
          const bool inside = i >= misalign && i < misalign + length;
          const uint8_t want =
              inside ? data[i - misalign] ^ key[(offset + i - misalign) % 4] : 0x5A;
          ASSERT_EQ(buffer[i], want) << misalign << " " << length << " " << offset << " " << i;
        }
      }
    }
  }
}

TEST(FastPath, WS_U8_04_OverlongAndSurrogateFormsFailAcrossEveryChunkBorder) {
  // Each bad sequence sits after an ASCII run long enough for the 32- and
  // 8-byte skips, and is fed in two pieces split at every point: the piece
  // holding the byte that makes it impossible is the one that fails.
  struct Case {
    Bytes sequence;
    size_t bad_at;  // index in `sequence` of the first impossible byte
  };
  const std::vector<Case> cases = {
      {{0xC0, 0xAF}, 0},              // overlong '/', C0 never starts a sequence
      {{0xC1, 0xBF}, 0},              // overlong, C1
      {{0xE0, 0x80, 0xAF}, 1},        // overlong 3-byte: E0 needs A0..BF next
      {{0xF0, 0x80, 0x80, 0xAF}, 1},  // overlong 4-byte: F0 needs 90..BF next
      {{0xED, 0xA0, 0x80}, 1},        // U+D800, a surrogate: ED needs 80..9F next
      {{0xED, 0xBF, 0xBF}, 1},        // U+DFFF
      {{0xF4, 0x90, 0x80, 0x80}, 1},  // above U+10FFFF
      {{0xF5, 0x80, 0x80, 0x80}, 0},  // F5 never starts a sequence
  };
  for (const Case& c : cases) {
    for (size_t ascii : {size_t{0}, size_t{7}, size_t{8}, size_t{31}, size_t{33}}) {
      Bytes input(ascii, 'q');
      input.insert(input.end(), c.sequence.begin(), c.sequence.end());
      input.insert(input.end(), 20, 'r');
      const size_t bad = ascii + c.bad_at;
      for (size_t split = 0; split <= input.size(); ++split) {
        Utf8Validator v;
        const bool first = v.feed({input.data(), split});
        EXPECT_EQ(first, split <= bad) << ascii << " " << split;
        if (first) {
          EXPECT_FALSE(v.feed({input.data() + split, input.size() - split}));
        }
        EXPECT_TRUE(v.failed());
      }
    }
  }
}

TEST(FastPath, WS_U8_04_ValidCharactersSurviveEveryChunkBorderNextToAsciiRuns) {
  // The largest and smallest scalar of every length, and the neighbours of
  // the surrogate range, each between ASCII runs of 0..17 bytes.
  const std::vector<Bytes> characters = {
      {0xC2, 0x80},       {0xDF, 0xBF},       {0xE0, 0xA0, 0x80},       {0xED, 0x9F, 0xBF},
      {0xEE, 0x80, 0x80}, {0xEF, 0xBF, 0xBF}, {0xF0, 0x90, 0x80, 0x80}, {0xF4, 0x8F, 0xBF, 0xBF}};
  for (const Bytes& character : characters) {
    for (size_t ascii = 0; ascii <= 17; ++ascii) {
      Bytes input(ascii, 'a');
      input.insert(input.end(), character.begin(), character.end());
      input.insert(input.end(), ascii, 'b');
      for (size_t split = 0; split <= input.size(); ++split) {
        Utf8Validator v;
        ASSERT_TRUE(v.feed({input.data(), split}));
        ASSERT_TRUE(v.feed({input.data() + split, input.size() - split}));
        ASSERT_TRUE(v.complete()) << ascii << " " << split;
      }
    }
  }
}

TEST(FastPath, AppendServerFrameForEverySmallLengthAfterAnyPrefix) {
  for (size_t prefix = 0; prefix <= 17; ++prefix) {
    for (size_t length = 0; length <= 130; ++length) {
      const Bytes payload = pattern(length);
      ByteBuffer out;
      out.append(std::string(prefix, 'p'));
      append_server_frame(out, Opcode::Binary, payload.data(), payload.size());
      const FrameHeader header = make_frame_header(Role::Server, Opcode::Binary, true, length);
      std::string expected(prefix, 'p');
      expected.append(reinterpret_cast<const char*>(header.bytes), header.size);
      expected.append(reinterpret_cast<const char*>(payload.data()), payload.size());
      ASSERT_EQ(out.view(), expected) << prefix << " " << length;
    }
  }
}

}  // namespace
}  // namespace wsgate::ws
