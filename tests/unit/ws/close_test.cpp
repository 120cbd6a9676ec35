// Tests of the closing handshake: Close frame parsing (WS-CL-03/04,
// WS-U8-05), error codes (WS-CL-07), sendable codes (WS-CL-05) and the
// CloseHandshake bookkeeping (WS-CL-01, WS-CL-02).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "ws/close_handshake.h"
#include "ws/frame_parser.h"
#include "ws/frame_writer.h"
#include "ws_test_support.h"

namespace wsgate::ws {
namespace {

using namespace test;
using Kind = FrameEvent::Kind;

TEST(Close, WS_CL_03_EmptyPayloadIsNoStatus) {
  const auto events = parse_all(frame(Opcode::Close, {}));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Close);
  EXPECT_EQ(events[0].code, close_code::kNoStatus);
  EXPECT_TRUE(events[0].reason.empty());
}

TEST(Close, WS_CL_03_FailsOnOneBytePayload) {
  // Autobahn 7.3.2. The frame sits at the very end of an exact-size heap
  // block, so a parser that read a second code byte is caught by ASan.
  const Bytes wire = frame(Opcode::Close, {0x03});
  for (size_t chop : {size_t{0}, size_t{1}}) {
    FrameParser parser(Role::Server, {});
    std::unique_ptr<uint8_t[]> exact(new uint8_t[wire.size()]);
    std::copy(wire.begin(), wire.end(), exact.get());
    std::vector<Event> events;
    const size_t step = chop == 0 ? wire.size() : chop;
    for (size_t at = 0; at < wire.size(); at += step)
      feed_piece(parser, exact.get() + at, std::min(step, wire.size() - at), events);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].code, close_code::kProtocolError);
    EXPECT_NE(events[0].reason.find("1 byte"), std::string::npos) << events[0].reason;
  }
}

TEST(Close, WS_CL_03_AcceptsCodeAndReasonUpTo123Bytes) {
  // Autobahn 7.3.3-7.3.5; 7.3.6 (124-byte reason) is a 126-byte control
  // payload and fails as WS-CT-01.
  const auto ok = parse_all(close_frame(1000, Bytes(123, 'r')));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].kind, Kind::Close);
  EXPECT_EQ(ok[0].code, 1000);
  EXPECT_EQ(ok[0].reason, std::string(123, 'r'));
  EXPECT_EQ(parse_all(close_frame(1000))[0].code, 1000);
  EXPECT_EQ(error_code(parse_all(close_frame(1000, Bytes(124, 'r')))), close_code::kProtocolError);
}

TEST(Close, WS_CL_04_AcceptsEveryValidReceivedCode) {
  // Autobahn 7.7.x plus 1012-1014 (IANA).
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                        3000, 3999, 4000, 4999}) {
    const auto events = parse_all(close_frame(code, bytes_of("bye")));
    ASSERT_EQ(events.size(), 1u) << code;
    EXPECT_EQ(events[0].kind, Kind::Close) << code;
    EXPECT_EQ(events[0].code, code);
    EXPECT_EQ(events[0].reason, "bye");
  }
}

TEST(Close, WS_CL_04_FailsOnInvalidReceivedCodes) {
  // Autobahn 7.9.x and 7.13.x.
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    EXPECT_EQ(error_code(parse_all(close_frame(code))), close_code::kProtocolError) << code;
  }
}

TEST(Close, WS_U8_05_FailsOnInvalidUtf8Reason) {
  // Autobahn 7.5.1.
  const Bytes bad{0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83,
                  0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80};
  EXPECT_EQ(error_code(parse_all(close_frame(1000, bad))), close_code::kInvalidPayload);
  // Split across reads the reason is checked the same way.
  EXPECT_EQ(error_code(parse_all(close_frame(1000, bad), Role::Server, {}, 1)),
            close_code::kInvalidPayload);
}

TEST(Close, WS_CL_05_NeverSendsReservedCodes) {
  for (uint32_t code = 0; code <= 0xFFFF; ++code) {
    const bool allowed = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                         (code >= 3000 && code <= 4999);
    ASSERT_EQ(is_sendable_close_code(static_cast<uint16_t>(code)), allowed) << code;
    const ClosePayload p = make_close_payload(static_cast<uint16_t>(code), "r");
    if (p.size == 0) continue;
    const uint16_t on_wire = static_cast<uint16_t>((p.bytes[0] << 8) | p.bytes[1]);
    ASSERT_TRUE(is_sendable_close_code(on_wire)) << code;
  }
  EXPECT_EQ(make_close_payload(close_code::kNoStatus).size, 0);
  EXPECT_EQ(make_close_payload(close_code::kAbnormal).view()[1], close_code::kInternalError & 0xFF);
}

TEST(Close, WS_CL_07_ProtocolErrorsCarryTheirCloseCode) {
  struct Row {
    const char* what;
    Bytes wire;
    Limits limits;
    uint16_t code;
  };
  Limits small;
  small.max_frame = 4;
  small.max_message = 6;
  small.max_fragments = 2;
  const Row rows[] = {
      {"reserved opcode", raw_frame(0x83, 0, {}, {}), {}, close_code::kProtocolError},
      {"unmasked", Bytes{0x81, 0x00}, {}, close_code::kProtocolError},
      {"bad close code", close_frame(1005), {}, close_code::kProtocolError},
      {"invalid text", frame(Opcode::Text, {0xFF}), {}, close_code::kInvalidPayload},
      {"frame too big", text("12345"), small, close_code::kMessageTooBig},
      {"message too big", concat({text("1234", false), cont("123", true)}), small,
       close_code::kMessageTooBig},
      {"too many fragments", concat({text("1", false), cont("2", false), cont("3", true)}), small,
       close_code::kPolicyViolation},
  };
  for (const Row& row : rows) {
    const auto events = parse_all(row.wire, Role::Server, row.limits);
    ASSERT_FALSE(events.empty()) << row.what;
    EXPECT_EQ(events.back().kind, Kind::Error) << row.what;
    EXPECT_EQ(events.back().code, row.code) << row.what;
    EXPECT_FALSE(events.back().reason.empty()) << row.what;
    // The code is one the gateway may put in its own Close (WS-CL-05).
    EXPECT_TRUE(is_sendable_close_code(events.back().code)) << row.what;
  }
}

TEST(Close, WS_CL_01_RepliesToFirstCloseWhenNoneWasSent) {
  CloseHandshake handshake;
  EXPECT_TRUE(handshake.on_close_received());
  EXPECT_FALSE(handshake.complete());
  handshake.on_close_sent();
  EXPECT_TRUE(handshake.complete());
  // A second Close from the peer gets no second reply.
  EXPECT_FALSE(handshake.on_close_received());

  // Two Closes before we got round to replying: one reply, not two.
  CloseHandshake slow;
  EXPECT_TRUE(slow.on_close_received());
  EXPECT_FALSE(slow.on_close_received());
}

TEST(Close, WS_CL_01_DoesNotReplyToTheAnswerToOurClose) {
  CloseHandshake handshake;
  handshake.on_close_sent();
  EXPECT_FALSE(handshake.complete());
  EXPECT_FALSE(handshake.on_close_received());
  EXPECT_TRUE(handshake.complete());
}

TEST(Close, WS_CL_01_ReplyEchoesTheReceivedCode) {
  EXPECT_EQ(CloseHandshake::reply_code(1001), 1001);
  EXPECT_EQ(CloseHandshake::reply_code(4000), 4000);
  EXPECT_EQ(CloseHandshake::reply_code(1014), 1014);
  EXPECT_EQ(CloseHandshake::reply_code(close_code::kNoStatus), close_code::kNormal);
  EXPECT_EQ(CloseHandshake::reply_code(1006), close_code::kNormal);
}

TEST(Close, WS_CL_02_NoDataMaySendAfterOurClose) {
  CloseHandshake handshake;
  EXPECT_TRUE(handshake.may_send_data());
  handshake.on_close_sent();
  EXPECT_FALSE(handshake.may_send_data());
}

TEST(Close, WS_CL_02_IgnoresDataPingsAndSecondCloseAfterClose) {
  // Autobahn 7.1.2-7.1.5.
  CloseHandshake handshake;
  for (Kind k : {Kind::Message, Kind::Ping, Kind::Pong, Kind::Close})
    EXPECT_FALSE(handshake.should_ignore(k));
  handshake.on_close_sent();
  EXPECT_TRUE(handshake.should_ignore(Kind::Message));
  EXPECT_TRUE(handshake.should_ignore(Kind::Ping));
  EXPECT_TRUE(handshake.should_ignore(Kind::Pong));
  EXPECT_FALSE(handshake.should_ignore(Kind::Close));  // the peer's answer completes the handshake
  EXPECT_FALSE(handshake.should_ignore(Kind::Error));
  handshake.on_close_received();
  EXPECT_TRUE(handshake.should_ignore(Kind::Close));

  CloseHandshake peer_first;
  peer_first.on_close_received();
  EXPECT_TRUE(peer_first.should_ignore(Kind::Ping));  // WS-CT-02: no pong after a Close
  EXPECT_TRUE(peer_first.should_ignore(Kind::Close));
}

TEST(Close, WS_CL_02_ParserKeepsReportingFramesAfterCloseForTheConnectionToIgnore) {
  const auto events = parse_all(
      concat({close_frame(1000), text("late"), frame(Opcode::Ping, {}), close_frame(1000)}));
  ASSERT_EQ(events.size(), 4u);
  CloseHandshake handshake;
  EXPECT_TRUE(handshake.on_close_received());
  handshake.on_close_sent();
  for (size_t i = 1; i < events.size(); ++i)
    EXPECT_TRUE(handshake.should_ignore(events[i].kind)) << i;
}

TEST(Close, ClosePayloadRoundTripsThroughTheParser) {
  const ClosePayload p = make_close_payload(close_code::kGoingAway, "worker draining");
  const Bytes wire = frame(Opcode::Close, Bytes(p.view().begin(), p.view().end()));
  const auto events = parse_all(wire);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kGoingAway);
  EXPECT_EQ(events[0].reason, "worker draining");
}

}  // namespace
}  // namespace wsgate::ws
