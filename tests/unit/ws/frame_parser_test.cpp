// Tests of FrameParser against RFC 6455 framing, fragmentation, control
// frame, UTF-8 and RSV1 rules (checklist WS-FR-*, WS-FG-*, WS-CT-*, WS-U8-*,
// PMD-07), plus its zero-copy and buffer-release promises.
#include "ws/frame_parser.h"

#include <gtest/gtest.h>

#include "ws_test_support.h"

namespace wsgate::ws {
namespace {

using namespace test;
using Kind = FrameEvent::Kind;

TEST(FrameParser, WS_FR_01_UnmasksClientFrame) {
  // RFC 6455 §5.7: a masked "Hello".
  const Bytes wire{0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58};
  EXPECT_EQ(parse_all(wire), (std::vector<Event>{message(Opcode::Text, "Hello")}));
}

TEST(FrameParser, WS_FR_01_FailsOnUnmaskedClientFrame) {
  const Bytes wire{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
  const auto events = parse_all(wire, Role::Server);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Error);
  EXPECT_EQ(events[0].code, close_code::kProtocolError);
}

TEST(FrameParser, WS_FR_01_ClientRoleFailsOnMaskedServerFrame) {
  EXPECT_EQ(error_code(parse_all(text("Hello"), Role::Client)), close_code::kProtocolError);
  const Bytes unmasked = frame(Opcode::Text, bytes_of("Hello"), true, Role::Server);
  EXPECT_EQ(parse_all(unmasked, Role::Client),
            (std::vector<Event>{message(Opcode::Text, "Hello")}));
}

TEST(FrameParser, WS_FR_03_FailsOnReservedBitsWithoutExtension) {
  for (uint8_t rsv : {0x40, 0x20, 0x10, 0x70}) {
    for (Opcode op : {Opcode::Text, Opcode::Binary, Opcode::Ping, Opcode::Close}) {
      const Bytes payload = op == Opcode::Close ? Bytes{0x03, 0xE8} : bytes_of("x");
      const auto events = parse_all(frame(op, payload, true, Role::Client, rsv));
      ASSERT_EQ(events.size(), 1u);
      EXPECT_EQ(events[0].code, close_code::kProtocolError) << int(rsv) << " " << int(op);
    }
  }
}

TEST(FrameParser, WS_FR_03_DeliversValidMessageThenFailsOnReservedBits) {
  // Autobahn 3.2: a valid message, a frame with RSV2, then a ping that must
  // not be answered.
  const Bytes wire =
      concat({text("Hello"), frame(Opcode::Text, bytes_of("x"), true, Role::Client, 0x20),
              frame(Opcode::Ping, {})});
  const auto events = parse_all(wire);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], message(Opcode::Text, "Hello"));
  EXPECT_EQ(events[1].kind, Kind::Error);
}

TEST(FrameParser, WS_FR_04_FailsOnReservedOpcodes) {
  for (uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    const auto events = parse_all(raw_frame(static_cast<uint8_t>(0x80 | op), 0, {}, {}));
    ASSERT_EQ(events.size(), 1u) << int(op);
    EXPECT_EQ(events[0].kind, Kind::Error);
    EXPECT_EQ(events[0].code, close_code::kProtocolError);
  }
}

TEST(FrameParser, WS_FR_05_DecodesAutobahnLengthsAtAnyChop) {
  // Autobahn 1.1.1-1.1.8 and 1.2.x: lengths around the 7/16/64-bit edges,
  // whole and in 997-byte chops (1.1.8).
  for (uint64_t length : {0, 125, 126, 127, 128, 65535, 65536}) {
    Bytes payload(length);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>('a' + i % 26);
    for (Opcode op : {Opcode::Text, Opcode::Binary}) {
      const Bytes wire = frame(op, payload);
      const Event expected{Kind::Message, op, payload, 0, {}, false};
      for (size_t chop : {size_t{0}, size_t{997}}) {
        EXPECT_EQ(parse_all(wire, Role::Server, {}, chop), std::vector<Event>{expected})
            << length << " chop " << chop;
      }
    }
  }
}

TEST(FrameParser, WS_FR_05_FailsOnNonMinimal16BitLength) {
  EXPECT_EQ(error_code(parse_all(raw_frame(0x82, 126, {0x00, 125}, Bytes(125)))),
            close_code::kProtocolError);
  // The smallest legal 16-bit length.
  const auto ok = parse_all(raw_frame(0x82, 126, {0x00, 126}, Bytes(126, 7)));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].payload, Bytes(126, 7));
}

TEST(FrameParser, WS_FR_05_FailsOnNonMinimal64BitLength) {
  EXPECT_EQ(error_code(parse_all(raw_frame(0x82, 127, {0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, {}))),
            close_code::kProtocolError);
  const auto ok = parse_all(raw_frame(0x82, 127, {0, 0, 0, 0, 0, 1, 0, 0}, Bytes(65536, 9)));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].payload.size(), 65536u);
}

TEST(FrameParser, WS_FR_05_FailsOnMostSignificantBitOfLength) {
  Limits huge;
  huge.max_frame = UINT64_MAX;
  huge.max_message = UINT64_MAX;
  const Bytes wire = raw_frame(0x82, 127, {0x80, 0, 0, 0, 0, 0, 0, 0}, {});
  EXPECT_EQ(error_code(parse_all(wire, Role::Server, huge)), close_code::kProtocolError);
}

TEST(FrameParser, WS_FR_07_ProcessesNothingAfterFailure) {
  // A bad frame followed by a ping in the same read, and more later.
  Bytes wire = concat({raw_frame(0x83, 0, {}, {}), frame(Opcode::Ping, bytes_of("p"))});
  FrameParser parser(Role::Server, {});
  const auto events = feed_chunks(parser, wire);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Error);
  EXPECT_TRUE(parser.failed());
  Bytes later = frame(Opcode::Ping, bytes_of("q"));
  FrameEvent ev;
  EXPECT_EQ(parser.parse(later, ev), later.size());
  EXPECT_EQ(ev.kind, Kind::None);
}

TEST(FrameParser, WS_FG_01_ReassemblesFragmentedMessage) {
  FrameParser parser(Role::Server, {});
  EXPECT_TRUE(feed_chunks(parser, text("Hel", false)).empty());
  EXPECT_TRUE(parser.in_message());
  EXPECT_TRUE(feed_chunks(parser, cont("lo", false)).empty());
  EXPECT_EQ(feed_chunks(parser, cont(", world", true)),
            (std::vector<Event>{message(Opcode::Text, "Hello, world")}));
  EXPECT_FALSE(parser.in_message());
  const Bytes b = concat({binary({1, 2}, false), frame(Opcode::Continuation, {3}, true)});
  EXPECT_EQ(feed_chunks(parser, b),
            (std::vector<Event>{Event{Kind::Message, Opcode::Binary, {1, 2, 3}}}));
}

TEST(FrameParser, WS_FG_02_FailsOnContinuationWithoutMessage) {
  // Autobahn 5.9-5.17.
  EXPECT_EQ(error_code(parse_all(cont("x", true))), close_code::kProtocolError);
  EXPECT_EQ(error_code(parse_all(cont("x", false))), close_code::kProtocolError);
  EXPECT_EQ(error_code(parse_all(concat({text("a"), cont("x", true)}))),
            close_code::kProtocolError);
}

TEST(FrameParser, WS_FG_02_FailsOnNewMessageInsideFragmentedMessage) {
  // Autobahn 5.18: two text frames with FIN=0 then FIN=1.
  EXPECT_EQ(error_code(parse_all(concat({text("a", false), text("b", true)}))),
            close_code::kProtocolError);
  EXPECT_EQ(error_code(parse_all(concat({text("a", false), binary({1}, true)}))),
            close_code::kProtocolError);
}

TEST(FrameParser, WS_FG_03_DeliversControlFramesBetweenFragments) {
  // Autobahn 5.6-5.8: the ping is reported before the message completes.
  FrameParser parser(Role::Server, {});
  const auto first =
      feed_chunks(parser, concat({text("frag1", false), frame(Opcode::Ping, bytes_of("p"))}));
  EXPECT_EQ(first, (std::vector<Event>{ping("p")}));
  const auto second =
      feed_chunks(parser, concat({frame(Opcode::Pong, bytes_of("q")), cont("frag2", true)}));
  EXPECT_EQ(second, (std::vector<Event>{pong("q"), message(Opcode::Text, "frag1frag2")}));
}

TEST(FrameParser, WS_FG_04_AcceptsEmptyFragments) {
  // Autobahn 6.1.2 / 6.1.3.
  const Bytes wire = concat({text("", false), cont("", false), cont("", true), text("", false),
                             cont("a", false), cont("", true)});
  EXPECT_EQ(parse_all(wire),
            (std::vector<Event>{message(Opcode::Text, ""), message(Opcode::Text, "a")}));
}

TEST(FrameParser, WS_FG_05_LongStreamOfSmallFramesIsCappedByMessageLimit) {
  Limits limits;
  limits.max_message = 100;
  limits.max_fragments = 0;
  Bytes wire = text("0123456789", false);
  for (int i = 0; i < 20; ++i) wire = concat({wire, cont("0123456789", false)});
  const auto events = parse_all(wire, Role::Server, limits);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kMessageTooBig);
}

// WS-FG-06 is a note, not a parser rule: the gateway is an endpoint, so it
// reassembles and may re-frame. This checks the property that makes that
// safe: a fragmented message comes out as one event, which the writer can
// send as one frame that the peer parses to the same message.
TEST(FrameParser, WS_FG_06_ReassembledMessageCanBeReframedFreely) {
  const auto in = parse_all(concat({text("re", false), cont("fra", false), cont("med", true)}));
  ASSERT_EQ(in.size(), 1u);
  const Bytes out = frame(in[0].opcode, in[0].payload, true, Role::Server);
  EXPECT_EQ(parse_all(out, Role::Client), in);
}

TEST(FrameParser, WS_CT_01_FailsOnControlPayloadOver125) {
  for (Opcode op : {Opcode::Ping, Opcode::Pong, Opcode::Close}) {
    Bytes payload(126, 'a');
    if (op == Opcode::Close) payload[0] = 0x03, payload[1] = 0xE8;
    EXPECT_EQ(error_code(parse_all(frame(op, payload))), close_code::kProtocolError) << int(op);
  }
  EXPECT_EQ(parse_all(frame(Opcode::Ping, Bytes(125, 'a'))),
            (std::vector<Event>{ping(std::string(125, 'a'))}));
}

TEST(FrameParser, WS_CT_01_FailsOnFragmentedControlFrame) {
  // Autobahn 5.1 / 5.2.
  EXPECT_EQ(error_code(parse_all(frame(Opcode::Ping, bytes_of("x"), false))),
            close_code::kProtocolError);
  EXPECT_EQ(error_code(parse_all(frame(Opcode::Pong, bytes_of("x"), false))),
            close_code::kProtocolError);
  EXPECT_EQ(error_code(parse_all(frame(Opcode::Close, {}, false))), close_code::kProtocolError);
}

TEST(FrameParser, WS_CT_02_PingPayloadIsDeliveredVerbatimForThePong) {
  // Autobahn 2.2, 2.4, 2.10: every ping reported, binary payload intact.
  Bytes payload(125);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(0xFF - i);
  Bytes wire;
  for (int i = 0; i < 10; ++i) wire = concat({wire, frame(Opcode::Ping, payload)});
  const auto events = parse_all(wire, Role::Server, {}, 1);
  ASSERT_EQ(events.size(), 10u);
  for (const Event& e : events) {
    EXPECT_EQ(e.kind, Kind::Ping);
    EXPECT_EQ(e.payload, payload);
  }
  // The pong built from it reaches the client unchanged.
  const auto at_client =
      parse_all(frame(Opcode::Pong, events[0].payload, true, Role::Server), Role::Client);
  ASSERT_EQ(at_client.size(), 1u);
  EXPECT_EQ(at_client[0].kind, Kind::Pong);
  EXPECT_EQ(at_client[0].payload, payload);
}

TEST(FrameParser, WS_CT_03_UnsolicitedPongIsReportedAsPongNotPing) {
  // Autobahn 2.7-2.9: the connection ignores it, so it must be recognisable.
  const auto events =
      parse_all(concat({frame(Opcode::Pong, bytes_of("unsolicited")), text("after")}));
  EXPECT_EQ(events, (std::vector<Event>{pong("unsolicited"), message(Opcode::Text, "after")}));
}

TEST(FrameParser, WS_CT_04_PingAndPongPayloadsAreNotUtf8Validated) {
  // Autobahn 2.3: binary ping payload.
  const Bytes junk{0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80};
  const auto events = parse_all(concat({frame(Opcode::Ping, junk), frame(Opcode::Pong, junk)}));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].payload, junk);
  EXPECT_EQ(events[1].payload, junk);
}

TEST(FrameParser, WS_U8_01_FailsInvalidTextWith1007AndAcceptsSameBytesAsBinary) {
  const Bytes junk{'a', 0xC0, 0x80};
  EXPECT_EQ(error_code(parse_all(frame(Opcode::Text, junk))), close_code::kInvalidPayload);
  EXPECT_EQ(parse_all(frame(Opcode::Binary, junk)),
            (std::vector<Event>{Event{Kind::Message, Opcode::Binary, junk}}));
}

TEST(FrameParser, WS_U8_02_FailsFastInsideAnIncompleteFrame) {
  // Autobahn 6.4.1: the frame declares 20 bytes; only the first 13 arrive,
  // and the 13th makes the text invalid. The parser must fail now.
  Bytes payload = bytes_of(
      "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x90\x80\x80"
      "edite");
  ASSERT_EQ(payload.size(), 20u);
  const Bytes wire = frame(Opcode::Text, payload);
  const Bytes head(wire.begin(), wire.end() - 7);  // header + 13 payload bytes
  EXPECT_EQ(error_code(parse_all(head)), close_code::kInvalidPayload);
  const Bytes shorter(wire.begin(), wire.end() - 8);  // stops before the 0x90
  EXPECT_TRUE(parse_all(shorter).empty());
}

TEST(FrameParser, WS_U8_02_FailsFastOnFirstFragmentBeforeMessageEnds) {
  // Autobahn 6.4.2: invalid bytes in a FIN=0 fragment fail at once.
  EXPECT_EQ(error_code(parse_all(frame(Opcode::Text, {0xED, 0xA0}, false))),
            close_code::kInvalidPayload);
}

TEST(FrameParser, WS_U8_02_ValidatesCharactersSplitAcrossFragments) {
  // Autobahn 6.2.x: U+20AC split across three fragments.
  const Bytes wire =
      concat({frame(Opcode::Text, {0xE2}, false), frame(Opcode::Continuation, {0x82}, false),
              frame(Opcode::Continuation, {0xAC}, true)});
  EXPECT_EQ(parse_all(wire), (std::vector<Event>{message(Opcode::Text, "\xE2\x82\xAC")}));
}

TEST(FrameParser, WS_U8_03_FailsIncompleteSequenceAtEndOfMessage) {
  EXPECT_EQ(error_code(parse_all(frame(Opcode::Text, {0xE2, 0x82}))), close_code::kInvalidPayload);
  EXPECT_EQ(error_code(parse_all(frame(Opcode::Text, {0xE2, 0x82}), Role::Server, {}, 1)),
            close_code::kInvalidPayload);
  const Bytes fragmented =
      concat({frame(Opcode::Text, {0xE2}, false), frame(Opcode::Continuation, {0x82}, true)});
  EXPECT_EQ(error_code(parse_all(fragmented)), close_code::kInvalidPayload);
}

TEST(FrameParser, PMD_07_Rsv1FailsWhenNotNegotiated) {
  FrameParser parser(Role::Server, {});
  parser.set_rsv1_allowed(false);
  EXPECT_EQ(
      error_code(feed_chunks(parser, frame(Opcode::Text, bytes_of("x"), true, Role::Client, 0x40))),
      close_code::kProtocolError);
}

TEST(FrameParser, PMD_07_Rsv1AcceptedOnFirstDataFrameWhenAllowed) {
  FrameParser parser(Role::Server, {});
  parser.set_rsv1_allowed(true);
  // Compressed bytes are not UTF-8: the inflater validates text (WS-U8-06).
  const Bytes deflated{0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00};
  const Bytes wire = concat({frame(Opcode::Text, deflated, true, Role::Client, 0x40),
                             frame(Opcode::Binary, {1}, false, Role::Client, 0x40),
                             frame(Opcode::Continuation, {2}, true), text("plain")});
  const auto events = feed_chunks(parser, wire);
  // The one-frame compressed message is a Message; the fragmented one comes
  // in parts as its frames arrive (PMD-08).
  const std::vector<Event> expected{
      Event{Kind::Message, Opcode::Text, deflated, 0, {}, true},
      Event{Kind::MessagePart, Opcode::Binary, {1}, 0, {}, true, false},
      Event{Kind::MessagePart, Opcode::Binary, {2}, 0, {}, true, true},
      message(Opcode::Text, "plain")};
  EXPECT_EQ(events, expected);
}

// PMD-08: a compressed message is handed out as its bytes arrive, never
// buffered, whether fragmented or one frame split across reads; empty
// fragments give no part unless they end the message.
TEST(FrameParser, PMD_08_CompressedMessageComesInPartsAsItArrives) {
  const Bytes wire = concat({frame(Opcode::Text, bytes_of("abcd"), false, Role::Client, 0x40),
                             cont("", false), cont("efgh", false), cont("", true),
                             frame(Opcode::Binary, bytes_of("whole"), true, Role::Client, 0x40)});
  for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    FrameParser parser(Role::Server, {});
    parser.set_rsv1_allowed(true);
    const auto events = feed_chunks(parser, wire, chunk);
    EXPECT_EQ(parser.buffered_bytes(), 0u) << chunk;
    const std::vector<Event> expected{
        Event{Kind::Message, Opcode::Text, bytes_of("abcdefgh"), 0, {}, true},
        Event{Kind::Message, Opcode::Binary, bytes_of("whole"), 0, {}, true}};
    EXPECT_EQ(join_parts(events), expected) << chunk;
    if (chunk == wire.size()) {
      ASSERT_EQ(events.size(), 4u);
      EXPECT_EQ(events[2], (Event{Kind::MessagePart, Opcode::Text, {}, 0, {}, true, true}));
    }
  }
}

TEST(FrameParser, PMD_07_Rsv1OnContinuationFailsEvenWhenAllowed) {
  FrameParser parser(Role::Server, {});
  parser.set_rsv1_allowed(true);
  const Bytes wire = concat(
      {text("a", false), frame(Opcode::Continuation, bytes_of("b"), true, Role::Client, 0x40)});
  EXPECT_EQ(error_code(feed_chunks(parser, wire)), close_code::kProtocolError);
}

TEST(FrameParser, PMD_07_Rsv1OnControlFrameFailsEvenWhenAllowed) {
  for (Opcode op : {Opcode::Ping, Opcode::Pong, Opcode::Close}) {
    FrameParser parser(Role::Server, {});
    parser.set_rsv1_allowed(true);
    EXPECT_EQ(error_code(feed_chunks(parser, frame(op, {}, true, Role::Client, 0x40))),
              close_code::kProtocolError);
  }
}

TEST(FrameParser, PMD_07_Rsv2AndRsv3FailEvenWhenRsv1Allowed) {
  for (uint8_t rsv : {0x20, 0x10}) {
    FrameParser parser(Role::Server, {});
    parser.set_rsv1_allowed(true);
    EXPECT_EQ(error_code(
                  feed_chunks(parser, frame(Opcode::Text, bytes_of("x"), true, Role::Client, rsv))),
              close_code::kProtocolError);
  }
}

TEST(FrameParser, WholeFrameIsDeliveredAsViewOfInputWithoutBuffering) {
  Bytes wire = concat({text("zero-copy"), frame(Opcode::Ping, bytes_of("p"))});
  FrameParser parser(Role::Server, {});
  FrameEvent ev;
  size_t off = parser.parse(wire, ev);
  ASSERT_EQ(ev.kind, Kind::Message);
  EXPECT_GE(ev.payload.data(), wire.data());
  EXPECT_LE(ev.payload.data() + ev.payload.size(), wire.data() + wire.size());
  EXPECT_EQ(parser.buffered_bytes(), 0u);
  parser.parse({wire.data() + off, wire.size() - off}, ev);
  ASSERT_EQ(ev.kind, Kind::Ping);
  EXPECT_GE(ev.payload.data(), wire.data());
  EXPECT_LT(ev.payload.data(), wire.data() + wire.size());
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(FrameParser, HeaderSplitFromWholePayloadIsStillZeroCopy) {
  Bytes wire = text("payload after a header-only read");
  FrameParser parser(Role::Server, {});
  FrameEvent ev;
  EXPECT_EQ(parser.parse({wire.data(), 6}, ev), 6u);
  EXPECT_EQ(ev.kind, Kind::None);
  parser.parse({wire.data() + 6, wire.size() - 6}, ev);
  ASSERT_EQ(ev.kind, Kind::Message);
  EXPECT_EQ(ev.payload.data(), wire.data() + 6);
  EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(FrameParser, BufferedMessageIsReleasedByTheNextParse) {
  Bytes wire = text(std::string(5000, 'x'));
  FrameParser parser(Role::Server, {});
  FrameEvent ev;
  EXPECT_EQ(parser.parse({wire.data(), 100}, ev), 100u);
  EXPECT_GT(parser.buffered_bytes(), 0u);
  parser.parse({wire.data() + 100, wire.size() - 100}, ev);
  ASSERT_EQ(ev.kind, Kind::Message);
  EXPECT_EQ(ev.payload.size(), 5000u);
  EXPECT_GE(parser.buffered_bytes(), 5000u);  // the view points into it
  EXPECT_EQ(parser.parse({}, ev), 0u);
  EXPECT_EQ(ev.kind, Kind::None);
  EXPECT_EQ(parser.buffered_bytes(), 0u);  // idle: no buffer held
}

TEST(FrameParser, ResetDropsPartialMessageAndBuffer) {
  FrameParser parser(Role::Server, {});
  feed_chunks(parser, text("partial", false));
  EXPECT_TRUE(parser.in_message());
  EXPECT_GT(parser.buffered_bytes(), 0u);
  parser.reset();
  EXPECT_FALSE(parser.in_message());
  EXPECT_EQ(parser.buffered_bytes(), 0u);
  EXPECT_EQ(feed_chunks(parser, text("fresh")),
            (std::vector<Event>{message(Opcode::Text, "fresh")}));
}

// WS-U8-06, the parser's half: a compressed text message is handed on with
// compressed=true and is not UTF-8 checked (its bytes are deflate output);
// the same bytes uncompressed fail with 1007. The inflated bytes are
// validated by the inflater, which ships with permessage-deflate.
TEST(FrameParser, WS_U8_06_CompressedTextIsLeftForTheInflaterToValidate) {
  const Bytes not_utf8{0xF2, 0x48, 0xCD, 0xC9};
  FrameParser compressed(Role::Server, {});
  compressed.set_rsv1_allowed(true);
  const auto events =
      feed_chunks(compressed, frame(Opcode::Text, not_utf8, true, Role::Client, 0x40));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Message);
  EXPECT_TRUE(events[0].compressed);
  FrameParser plain(Role::Server, {});
  EXPECT_EQ(error_code(feed_chunks(plain, frame(Opcode::Text, not_utf8))),
            close_code::kInvalidPayload);
}

}  // namespace
}  // namespace wsgate::ws

namespace wsgate::ws {
namespace {

// Issue 10 item 7: the session times any unfinished frame, not only
// fragmented messages, so the parser says when it holds one.
TEST(FrameParser, SaysWhenAFrameIsUnfinished) {
  FrameParser parser(Role::Server, {});
  const Bytes whole = text("Hello", true);
  EXPECT_FALSE(parser.mid_frame_or_message());
  EXPECT_TRUE(feed_chunks(parser, Bytes(whole.begin(), whole.begin() + 1)).empty());
  EXPECT_TRUE(parser.mid_frame_or_message());  // half a header
  EXPECT_TRUE(feed_chunks(parser, Bytes(whole.begin() + 1, whole.end() - 2)).empty());
  EXPECT_TRUE(parser.mid_frame_or_message());  // part of the payload
  EXPECT_EQ(feed_chunks(parser, Bytes(whole.end() - 2, whole.end())),
            (std::vector<Event>{message(Opcode::Text, "Hello")}));
  EXPECT_FALSE(parser.mid_frame_or_message());
}

}  // namespace
}  // namespace wsgate::ws
