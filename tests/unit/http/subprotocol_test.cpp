// Subprotocol and extension negotiation (checklist WS-SP-01..04).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/handshake.h"

namespace wsgate::http {
namespace {

using Status = RequestHeadParser::Status;

struct Outcome {
  Status status;
  HttpError error;
  Request request;
};

// The RFC 6455 §1.2 request plus `lines` (each CRLF-ended).
Outcome parse_with(std::string_view lines) {
  const std::string head = std::string(
                               "GET /chat HTTP/1.1\r\n"
                               "Host: server.example.com\r\n"
                               "Upgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Version: 13\r\n") +
                           std::string(lines) + "\r\n";
  RequestHeadParser parser(HeadLimits{});
  size_t consumed = 0;
  const Status status =
      parser.feed({reinterpret_cast<const uint8_t*>(head.data()), head.size()}, consumed);
  return {status, parser.error(), parser.request()};
}

void expect_error(std::string_view lines, std::string_view reason) {
  const Outcome outcome = parse_with(lines);
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 400);
  EXPECT_EQ(outcome.error.reason, reason);
}

// A list header line with `count` elements "p0, p1, ...".
std::string list_line(std::string_view name, size_t count) {
  std::string line = std::string(name) + ": ";
  for (size_t i = 0; i < count; ++i) line += (i ? ", p" : "p") + std::to_string(i);
  return line + "\r\n";
}

// A list header line whose value is exactly `bytes` long.
std::string sized_line(std::string_view name, size_t bytes) {
  return std::string(name) + ": " + std::string(bytes, 'x') + "\r\n";
}

using Strings = std::vector<std::string>;

// --- WS-SP-01: the selected subprotocol is one the client offered.

TEST(Subprotocol, WS_SP_01_SelectsServersFirstPreferenceThatWasOffered) {
  EXPECT_EQ(select_subprotocol({"chat", "superchat"}, {"superchat", "chat"}), "superchat");
  EXPECT_EQ(select_subprotocol({"v1.json", "v2.json"}, {"v3.json", "v2.json", "v1.json"}),
            "v2.json");
}

TEST(Subprotocol, WS_SP_01_NoMatchOrNoOfferSelectsNothing) {
  EXPECT_EQ(select_subprotocol({"chat"}, {"mqtt"}), std::nullopt);
  EXPECT_EQ(select_subprotocol({}, {"mqtt"}), std::nullopt);
  EXPECT_EQ(select_subprotocol({"chat"}, {}), std::nullopt);
}

TEST(Subprotocol, WS_SP_01_MatchIsExactAndNeverEmpty) {
  EXPECT_EQ(select_subprotocol({"Chat"}, {"chat"}), std::nullopt);
  EXPECT_EQ(select_subprotocol({"", "chat"}, {"", "chat"}), "chat");
}

TEST(Subprotocol, WS_SP_01_NoProtocolHeaderWithoutSelection) {
  const std::string response = make_101_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", std::nullopt);
  EXPECT_EQ(response.find("Sec-WebSocket-Protocol"), std::string::npos);
  EXPECT_EQ(make_101_response("x", std::string()).find("Sec-WebSocket-Protocol"),
            std::string::npos);
}

TEST(Subprotocol, WS_SP_01_EndToEndSelectionFromParsedOffer) {
  const Outcome outcome = parse_with("Sec-WebSocket-Protocol: chat, superchat\r\n");
  ASSERT_EQ(outcome.status, Status::Complete);
  const auto selected = select_subprotocol(outcome.request.protocols, {"superchat"});
  ASSERT_EQ(selected, "superchat");
  EXPECT_NE(make_101_response(accept_key(outcome.request.key), selected)
                .find("\r\nSec-WebSocket-Protocol: superchat\r\n"),
            std::string::npos);
}

// --- WS-SP-02: repeated lines form one list; elements are tokens.

TEST(Subprotocol, WS_SP_02_ProtocolLinesAreCombinedInOrder) {
  const Outcome outcome = parse_with(
      "Sec-WebSocket-Protocol: chat,  superchat\r\nSec-WebSocket-Protocol:\tv2.json \r\n");
  ASSERT_EQ(outcome.status, Status::Complete);
  EXPECT_EQ(outcome.request.protocols, (Strings{"chat", "superchat", "v2.json"}));
}

TEST(Subprotocol, WS_SP_02_RejectsNonTokenProtocol) {
  for (const char* line :
       {"Sec-WebSocket-Protocol: chat room\r\n", "Sec-WebSocket-Protocol: chat/1\r\n",
        "Sec-WebSocket-Protocol: \"chat\"\r\n", "Sec-WebSocket-Protocol: chat;v=1\r\n"}) {
    SCOPED_TRACE(line);
    expect_error(line, "invalid Sec-WebSocket-Protocol token");
  }
}

TEST(Subprotocol, WS_SP_02_RejectsEmptyProtocolElements) {
  for (const char* line :
       {"Sec-WebSocket-Protocol: chat,,superchat\r\n", "Sec-WebSocket-Protocol: chat,\r\n",
        "Sec-WebSocket-Protocol: , chat\r\n", "Sec-WebSocket-Protocol:\r\n"}) {
    SCOPED_TRACE(line);
    expect_error(line, "empty element in Sec-WebSocket-Protocol");
  }
}

TEST(Subprotocol, WS_SP_02_ExtensionLinesAreCombinedAsSent) {
  const Outcome outcome = parse_with(
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n"
      "Sec-WebSocket-Extensions: x-bar; p=\"a,b\";q = 1 ,, \r\n");
  ASSERT_EQ(outcome.status, Status::Complete) << outcome.error.reason;
  EXPECT_EQ(outcome.request.extensions, (Strings{"permessage-deflate; client_max_window_bits",
                                                 "x-foo", "x-bar; p=\"a,b\";q = 1"}));
}

TEST(Subprotocol, WS_SP_02_RejectsMalformedExtensionElements) {
  for (const char* line :
       {"Sec-WebSocket-Extensions: ;x\r\n", "Sec-WebSocket-Extensions: x;\r\n",
        "Sec-WebSocket-Extensions: x; =1\r\n", "Sec-WebSocket-Extensions: x; p=\r\n",
        "Sec-WebSocket-Extensions: x; p=\"open\r\n", "Sec-WebSocket-Extensions: x y\r\n",
        "Sec-WebSocket-Extensions: x; p=a b\r\n"}) {
    SCOPED_TRACE(line);
    expect_error(line, "invalid Sec-WebSocket-Extensions element");
  }
}

// --- WS-SP-03: bounded, single-pass list scanners.

TEST(Subprotocol, WS_SP_03_ThirtyTwoProtocolsPassAndThirtyThreeFail) {
  const Outcome outcome = parse_with(list_line("Sec-WebSocket-Protocol", 32));
  ASSERT_EQ(outcome.status, Status::Complete);
  EXPECT_EQ(outcome.request.protocols.size(), 32u);
  expect_error(list_line("Sec-WebSocket-Protocol", 33), "too many subprotocols offered");
}

TEST(Subprotocol, WS_SP_03_ProtocolListOfOneKibPassesAndOneMoreByteFails) {
  EXPECT_EQ(parse_with(sized_line("Sec-WebSocket-Protocol", 1024)).status, Status::Complete);
  expect_error(sized_line("Sec-WebSocket-Protocol", 1025), "Sec-WebSocket-Protocol too long");
}

TEST(Subprotocol, WS_SP_03_LengthBoundCountsAllLines) {
  // 600 + ',' + 423 = 1024 bytes combined; one more byte is too many.
  EXPECT_EQ(parse_with(sized_line("Sec-WebSocket-Protocol", 600) +
                       sized_line("Sec-WebSocket-Protocol", 423))
                .status,
            Status::Complete);
  expect_error(
      sized_line("Sec-WebSocket-Protocol", 600) + sized_line("Sec-WebSocket-Protocol", 424),
      "Sec-WebSocket-Protocol too long");
}

TEST(Subprotocol, WS_SP_03_ExtensionListIsBoundedToo) {
  EXPECT_EQ(parse_with(list_line("Sec-WebSocket-Extensions", 32)).status, Status::Complete);
  expect_error(list_line("Sec-WebSocket-Extensions", 33), "too many extensions offered");
  EXPECT_EQ(parse_with(sized_line("Sec-WebSocket-Extensions", 1024)).status, Status::Complete);
  expect_error(sized_line("Sec-WebSocket-Extensions", 1025), "Sec-WebSocket-Extensions too long");
}

TEST(Subprotocol, WS_SP_03_ReDoSShapedInputIsJustRejected) {
  // CVE-2021-32640 used many spaces around commas against a regex split.
  expect_error("Sec-WebSocket-Protocol: a" + std::string(900, ' ') + "b\r\n",
               "invalid Sec-WebSocket-Protocol token");
}

TEST(Subprotocol, WS_SP_03_ExtensionNamesLikeObjectKeysAreOrdinaryText) {
  const Outcome outcome =
      parse_with("Sec-WebSocket-Extensions: __proto__; constructor=1, toString\r\n");
  ASSERT_EQ(outcome.status, Status::Complete);
  EXPECT_EQ(outcome.request.extensions, (Strings{"__proto__; constructor=1", "toString"}));
}

// --- WS-SP-04: never answer with an extension the client did not offer (or any).

TEST(Subprotocol, WS_SP_04_OfferedExtensionIsNotAnswered) {
  const Outcome outcome = parse_with("Sec-WebSocket-Extensions: x-foo\r\n");
  ASSERT_EQ(outcome.status, Status::Complete);
  EXPECT_EQ(outcome.request.extensions, (Strings{"x-foo"}));
  EXPECT_FALSE(validate_upgrade(outcome.request).has_value());
  const std::string response = make_101_response(accept_key(outcome.request.key), std::nullopt);
  EXPECT_EQ(response.find("Sec-WebSocket-Extensions"), std::string::npos);
  EXPECT_EQ(response.find("x-foo"), std::string::npos);
}

TEST(Subprotocol, WS_SP_04_NoExtensionHeaderEvenWithProtocol) {
  const std::string response =
      make_101_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", std::string("chat"));
  EXPECT_EQ(response.find("Sec-WebSocket-Extensions"), std::string::npos);
}

}  // namespace
}  // namespace wsgate::http

// Issue 10 item 11: the 400 for a client none of whose offers is served.
namespace wsgate::http {
namespace {

TEST(Subprotocol, UnservedReasonNamesTheOffersAndWhatTheRouteServes) {
  EXPECT_EQ(unserved_subprotocols({"nope", "other"}, {"chat.v2", "chat.v1"}),
            "unsupported subprotocol: offered nope, other; this route serves: chat.v2, chat.v1");
  EXPECT_EQ(unserved_subprotocols({"nope"}, {}),
            "unsupported subprotocol: offered nope; this route serves no subprotocol");
}

}  // namespace
}  // namespace wsgate::http
