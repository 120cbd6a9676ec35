// Tests of the frame serializer: header bytes (WS-FR-02, WS-FR-05), masking,
// Close payloads, and client/server round trips through the parser.
#include "ws/frame_writer.h"

#include <gtest/gtest.h>

#include "ws/frame_parser.h"
#include "ws/utf8.h"
#include "ws_test_support.h"

namespace wsgate::ws {
namespace {

using namespace test;
using Kind = FrameEvent::Kind;

Bytes header_bytes(const FrameHeader& h) {
  return Bytes(h.bytes, h.bytes + h.size);
}

TEST(FrameWriter, WS_FR_02_ServerFramesAreNeverMasked) {
  for (Opcode op : {Opcode::Text, Opcode::Binary, Opcode::Continuation, Opcode::Close, Opcode::Ping,
                    Opcode::Pong}) {
    for (uint64_t length : {0, 1, 125, 126, 65535, 65536, 1 << 30}) {
      const FrameHeader h = make_frame_header(Role::Server, op, true, length, kKey);
      EXPECT_EQ(h.bytes[1] & 0x80, 0) << int(op) << " " << length;
      EXPECT_EQ(h.size, length < 126 ? 2 : length <= 0xFFFF ? 4 : 10);
    }
  }
}

TEST(FrameWriter, WS_FR_05_UsesMinimalLengthEncoding) {
  // RFC 6455 §5.7 examples and the Autobahn 1.1.x edges.
  EXPECT_EQ(header_bytes(make_frame_header(Role::Server, Opcode::Text, true, 5)),
            (Bytes{0x81, 0x05}));
  EXPECT_EQ(header_bytes(make_frame_header(Role::Server, Opcode::Binary, true, 125)),
            (Bytes{0x82, 125}));
  EXPECT_EQ(header_bytes(make_frame_header(Role::Server, Opcode::Binary, true, 126)),
            (Bytes{0x82, 126, 0x00, 126}));
  EXPECT_EQ(header_bytes(make_frame_header(Role::Server, Opcode::Binary, true, 256)),
            (Bytes{0x82, 0x7E, 0x01, 0x00}));
  EXPECT_EQ(header_bytes(make_frame_header(Role::Server, Opcode::Binary, true, 65535)),
            (Bytes{0x82, 126, 0xFF, 0xFF}));
  EXPECT_EQ(header_bytes(make_frame_header(Role::Server, Opcode::Binary, true, 65536)),
            (Bytes{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(header_bytes(make_frame_header(Role::Server, Opcode::Text, false, 3)),
            (Bytes{0x01, 0x03}));
  EXPECT_EQ(header_bytes(make_frame_header(Role::Server, Opcode::Text, true, 3, nullptr, true)),
            (Bytes{0xC1, 0x03}));
}

TEST(FrameWriter, ClientHeaderCarriesMaskBitAndKey) {
  // RFC 6455 §5.7: a masked "Hello".
  const FrameHeader h = make_frame_header(Role::Client, Opcode::Text, true, 5, kKey);
  EXPECT_EQ(header_bytes(h), (Bytes{0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D}));
  Bytes payload = bytes_of("Hello");
  mask_payload(payload, kKey);
  EXPECT_EQ(payload, (Bytes{0x7F, 0x9F, 0x4D, 0x51, 0x58}));
  const FrameHeader big = make_frame_header(Role::Client, Opcode::Binary, true, 70000, kKey);
  EXPECT_EQ(big.size, 14);
  EXPECT_EQ(Bytes(big.bytes + 10, big.bytes + 14), Bytes(kKey, kKey + 4));
}

TEST(FrameWriter, MaskPayloadMatchesBytewiseReferenceAtEveryOffset) {
  const uint8_t key[4] = {0x01, 0x80, 0xFE, 0x5A};
  for (size_t length = 0; length <= 100; ++length) {
    for (size_t offset = 0; offset < 9; ++offset) {
      Bytes data(length);
      for (size_t i = 0; i < length; ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
      Bytes expected = data;
      for (size_t i = 0; i < length; ++i) expected[i] ^= key[(offset + i) % 4];
      Bytes got = data;
      mask_payload(got, key, offset);
      ASSERT_EQ(got, expected) << length << " " << offset;
      mask_payload(got, key, offset);
      ASSERT_EQ(got, data);
    }
  }
}

TEST(FrameWriter, MaskingInPiecesEqualsMaskingWhole) {
  Bytes whole(77);
  for (size_t i = 0; i < whole.size(); ++i) whole[i] = static_cast<uint8_t>(i);
  Bytes pieces = whole;
  mask_payload(whole, kKey);
  for (size_t at = 0, step = 1; at < pieces.size(); at += step, step = step % 11 + 2) {
    const size_t n = std::min(step, pieces.size() - at);
    mask_payload({pieces.data() + at, n}, kKey, at);
  }
  EXPECT_EQ(pieces, whole);
}

TEST(FrameWriter, ClosePayloadHasCodeThenReason) {
  EXPECT_EQ(make_close_payload(0, "ignored").size, 0);
  const ClosePayload p = make_close_payload(close_code::kNormal, "bye");
  EXPECT_EQ(Bytes(p.view().begin(), p.view().end()), (Bytes{0x03, 0xE8, 'b', 'y', 'e'}));
}

TEST(FrameWriter, CloseReasonIsTruncatedTo123BytesAtCharacterBoundary) {
  // 122 ASCII bytes then a 2-byte character: 124 bytes, cut before "é".
  const std::string reason = std::string(122, 'a') + "\xC3\xA9" + "tail";
  const ClosePayload p = make_close_payload(close_code::kGoingAway, reason);
  EXPECT_EQ(p.size, 2 + 122);
  EXPECT_TRUE(is_valid_utf8(p.view().subspan(2)));
  const ClosePayload exact =
      make_close_payload(close_code::kGoingAway, std::string(121, 'a') + "\xC3\xA9x");
  EXPECT_EQ(exact.size, 2 + 123);
  EXPECT_LE(make_close_payload(1000, std::string(500, 'z')).size, kMaxControlPayload);
}

TEST(FrameWriter, WS_U8_07_InvalidUtf8InCloseReasonIsCutOff) {
  const ClosePayload p = make_close_payload(close_code::kInternalError,
                                            "ok\xFF"
                                            "after");
  EXPECT_EQ(p.size, 2 + 2);
  EXPECT_TRUE(is_valid_utf8(p.view().subspan(2)));
}

// Client writer -> server parser and server writer -> client parser, for
// every opcode class, edge lengths and a fragmented message.
TEST(FrameWriter, RoundTripsBetweenClientAndServerRoles) {
  for (Role writer : {Role::Client, Role::Server}) {
    const Role reader = writer == Role::Client ? Role::Server : Role::Client;
    for (uint64_t length : {0, 1, 125, 126, 65535, 65536, 100000}) {
      Bytes payload(length);
      for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>('A' + i % 50);
      const Bytes wire = frame(Opcode::Binary, payload, true, writer);
      for (size_t chop : {size_t{0}, size_t{1000}}) {
        const auto events = parse_all(wire, reader, {}, chop);
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].payload, payload) << length;
      }
    }
    const Bytes control = concat({frame(Opcode::Ping, bytes_of("ping"), true, writer),
                                  frame(Opcode::Text, bytes_of("frag"), false, writer),
                                  frame(Opcode::Pong, bytes_of("pong"), true, writer),
                                  frame(Opcode::Continuation, bytes_of("mented"), true, writer)});
    EXPECT_EQ(
        parse_all(control, reader),
        (std::vector<Event>{ping("ping"), pong("pong"), message(Opcode::Text, "fragmented")}));
  }
}

}  // namespace
}  // namespace wsgate::ws

namespace wsgate::ws {
namespace {

TEST(FrameWriter, WS_FR_05_AppendServerFrameMatchesHeaderPlusPayload) {
  for (Opcode opcode : {Opcode::Text, Opcode::Binary, Opcode::Ping, Opcode::Close}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{125}, size_t{126}, size_t{65535},
                        size_t{65536}, size_t{70000}}) {
      SCOPED_TRACE(size);
      std::vector<uint8_t> payload(size);
      for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(i * 7);
      const FrameHeader header = make_frame_header(Role::Server, opcode, true, size);
      std::string expected = "prefix";
      expected.append(reinterpret_cast<const char*>(header.bytes), header.size);
      expected.append(reinterpret_cast<const char*>(payload.data()), size);
      ByteBuffer out;
      out.append(std::string_view("prefix"));
      append_server_frame(out, opcode, payload.data(), size);
      EXPECT_EQ(out.view(), expected);
    }
  }
}

}  // namespace
}  // namespace wsgate::ws
