// Chopping tests (WS-FR-06, Autobahn "chops"): every test vector, valid or
// not, gives the same events whole, split in two at every byte, one byte at
// a time, and in pseudo-random pieces.
#include <gtest/gtest.h>

#include <random>

#include "ws/frame_parser.h"
#include "ws_test_support.h"

namespace wsgate::ws {
namespace {

using namespace test;
using Kind = FrameEvent::Kind;

struct Vector {
  std::string name;
  Bytes wire;
  std::vector<Event> expected;  // for errors only kind and code are compared
  Role role = Role::Server;
  Limits limits = {};
};

Event err(uint16_t code) {
  return Event{Kind::Error, Opcode::Continuation, {}, code, {}, false};
}

Event close_event(uint16_t code, std::string_view reason) {
  Bytes payload;
  if (code != close_code::kNoStatus)
    payload = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
  const Bytes r = bytes_of(reason);
  payload.insert(payload.end(), r.begin(), r.end());
  return Event{Kind::Close, Opcode::Close, payload, code, std::string(reason), false};
}

std::vector<Vector> vectors() {
  Limits small;
  small.max_frame = 20;
  small.max_message = 30;
  small.max_fragments = 3;
  const std::string s126(126, 'm'), s300(300, 'n');
  const Bytes euro = bytes_of("\xE2\x82\xAC");
  return {
      {"hello", text("Hello"), {message(Opcode::Text, "Hello")}},
      {"empty text", text(""), {message(Opcode::Text, "")}},
      {"binary 126",
       binary(bytes_of(s126)),
       {Event{Kind::Message, Opcode::Binary, bytes_of(s126)}}},
      {"text 300", text(s300), {message(Opcode::Text, s300)}},
      {"two messages",
       concat({text("a"), binary({0, 1, 2})}),
       {message(Opcode::Text, "a"), Event{Kind::Message, Opcode::Binary, {0, 1, 2}}}},
      {"fragmented with ping",
       concat({text("frag", false), frame(Opcode::Ping, bytes_of("p")), cont("ment", false),
               cont("ed", true)}),
       {ping("p"), message(Opcode::Text, "fragmented")}},
      {"euro split over fragments",
       concat(
           {frame(Opcode::Text, {0xE2}, false), frame(Opcode::Continuation, {0x82, 0xAC}, true)}),
       {Event{Kind::Message, Opcode::Text, euro}}},
      {"empty fragments",
       concat({text("", false), cont("", false), cont("", true)}),
       {message(Opcode::Text, "")}},
      {"ping pong close",
       concat({frame(Opcode::Ping, {}), frame(Opcode::Pong, bytes_of("x")),
               close_frame(1000, bytes_of("bye"))}),
       {ping(""), pong("x"), close_event(1000, "bye")}},
      {"empty close then text",
       concat({frame(Opcode::Close, {}), text("late")}),
       {close_event(close_code::kNoStatus, ""), message(Opcode::Text, "late")}},
      {"client role",
       concat({frame(Opcode::Text, bytes_of("srv"), true, Role::Server),
               frame(Opcode::Ping, bytes_of("p"), true, Role::Server)}),
       {message(Opcode::Text, "srv"), ping("p")},
       Role::Client},
      {"limits at edge",
       concat({binary(Bytes(20, 'x'), false), frame(Opcode::Continuation, Bytes(10, 'y'), true)}),
       {Event{Kind::Message, Opcode::Binary, concat({Bytes(20, 'x'), Bytes(10, 'y')})}},
       Role::Server,
       small},
      // Invalid streams.
      {"unmasked", Bytes{0x81, 0x01, 'a'}, {err(close_code::kProtocolError)}},
      {"rsv after valid",
       concat({text("ok"), frame(Opcode::Text, bytes_of("x"), true, Role::Client, 0x10)}),
       {message(Opcode::Text, "ok"), err(close_code::kProtocolError)}},
      {"reserved opcode then ping",
       concat({raw_frame(0x8B, 0, {}, {}), frame(Opcode::Ping, {})}),
       {err(close_code::kProtocolError)}},
      {"non-minimal 16-bit",
       raw_frame(0x82, 126, {0, 10}, Bytes(10)),
       {err(close_code::kProtocolError)}},
      {"non-minimal 64-bit",
       raw_frame(0x82, 127, {0, 0, 0, 0, 0, 0, 0, 200}, Bytes(200)),
       {err(close_code::kProtocolError)}},
      {"ping 126", frame(Opcode::Ping, Bytes(126)), {err(close_code::kProtocolError)}},
      {"fragmented ping",
       frame(Opcode::Ping, bytes_of("x"), false),
       {err(close_code::kProtocolError)}},
      {"orphan continuation", cont("x", true), {err(close_code::kProtocolError)}},
      {"text inside message",
       concat({text("a", false), text("b")}),
       {err(close_code::kProtocolError)}},
      {"invalid utf8 fail-fast",
       concat({text("\xCE\xBA\xE1\xBD\xB9", false),
               frame(Opcode::Continuation, {0xF4, 0x90, 0x80}, false), cont("edited", true)}),
       {err(close_code::kInvalidPayload)}},
      {"truncated utf8", text("\xE2\x82"), {err(close_code::kInvalidPayload)}},
      {"close 1 byte", frame(Opcode::Close, {0x03}), {err(close_code::kProtocolError)}},
      {"close code 1005", close_frame(1005), {err(close_code::kProtocolError)}},
      {"close reason bad utf8",
       close_frame(1000, {0xC0, 0xAF}),
       {err(close_code::kInvalidPayload)}},
      {"frame over limit",
       binary(Bytes(21, 'x')),
       {err(close_code::kMessageTooBig)},
       Role::Server,
       small},
      {"message over limit",
       concat({binary(Bytes(20, 'x'), false), frame(Opcode::Continuation, Bytes(11, 'y'), true)}),
       {err(close_code::kMessageTooBig)},
       Role::Server,
       small},
      {"fragments over limit",
       concat({text("a", false), cont("b", false), cont("c", false), cont("d", true)}),
       {err(close_code::kPolicyViolation)},
       Role::Server,
       small},
  };
}

void expect_matches(const std::vector<Event>& got, const std::vector<Event>& expected,
                    const std::string& how) {
  ASSERT_EQ(got.size(), expected.size()) << how;
  for (size_t i = 0; i < got.size(); ++i) {
    if (expected[i].kind == Kind::Error) {
      EXPECT_EQ(got[i].kind, Kind::Error) << how;
      EXPECT_EQ(got[i].code, expected[i].code) << how;
    } else {
      EXPECT_EQ(got[i], expected[i]) << how << " event " << i;
    }
  }
}

TEST(FrameParserChop, WS_FR_06_WholeStreamGivesExpectedEvents) {
  for (const Vector& v : vectors()) {
    FrameParser parser(v.role, v.limits);
    expect_matches(feed_chunks(parser, v.wire), v.expected, v.name + " whole");
  }
}

TEST(FrameParserChop, WS_FR_06_EveryTwoPieceSplitGivesIdenticalEvents) {
  for (const Vector& v : vectors()) {
    FrameParser whole_parser(v.role, v.limits);
    const auto whole = feed_chunks(whole_parser, v.wire);
    for (size_t split = 0; split <= v.wire.size(); ++split) {
      FrameParser parser(v.role, v.limits);
      const auto got = feed_split(parser, v.wire, split);
      ASSERT_EQ(got, whole) << v.name << " split at " << split;
    }
  }
}

TEST(FrameParserChop, WS_FR_06_OneByteAtATimeGivesIdenticalEvents) {
  for (const Vector& v : vectors()) {
    FrameParser whole_parser(v.role, v.limits);
    const auto whole = feed_chunks(whole_parser, v.wire);
    FrameParser parser(v.role, v.limits);
    EXPECT_EQ(feed_chunks(parser, v.wire, 1), whole) << v.name;
  }
}

TEST(FrameParserChop, WS_FR_06_RandomPiecesGiveIdenticalEvents) {
  std::mt19937 rng(6455);
  for (const Vector& v : vectors()) {
    FrameParser whole_parser(v.role, v.limits);
    const auto whole = feed_chunks(whole_parser, v.wire);
    for (int round = 0; round < 50; ++round) {
      FrameParser parser(v.role, v.limits);
      Bytes copy = v.wire;
      std::vector<Event> got;
      for (size_t at = 0; at < copy.size();) {
        const size_t n = std::min<size_t>(copy.size() - at, 1 + rng() % 9);
        feed_piece(parser, copy.data() + at, n, got);
        at += n;
      }
      ASSERT_EQ(got, whole) << v.name << " round " << round;
    }
  }
}

TEST(FrameParserChop, WS_U8_02_ChoppedStreamFailsAtTheSameByte) {
  // Autobahn 6.4.3/6.4.4: fed one byte at a time, the parser reports 1007 on
  // the read that carries the first impossible byte, not later.
  Bytes wire =
      concat({text("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", false),
              frame(Opcode::Continuation, {0xF4, 0x90, 0x80, 0x80}, false), cont("edited", true)});
  const size_t bad_at = 6 + 11 + 6 + 1;  // first frame, second header, F4, then 0x90
  FrameParser parser(Role::Server, {});
  for (size_t i = 0; i < wire.size(); ++i) {
    FrameEvent ev;
    parser.parse({wire.data() + i, 1}, ev);
    if (i < bad_at) {
      ASSERT_EQ(ev.kind, Kind::None) << i;
    } else {
      ASSERT_EQ(ev.kind, Kind::Error) << i;
      EXPECT_EQ(ev.close_code, close_code::kInvalidPayload);
      break;
    }
  }
}

}  // namespace
}  // namespace wsgate::ws
