// Opening-handshake rules of RFC 6455 §4.2 (checklist WS-HS-01..11).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/handshake.h"
#include "http_test_support.h"

namespace wsgate::http {
namespace {

const std::vector<std::string> kUpgradeLines = {
    "Host: server.example.com",  "Upgrade: websocket",
    "Connection: Upgrade",       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
};

// The RFC 6455 §1.2 request with the line named `drop` left out and the
// `extra` lines appended.
std::string upgrade_head(const std::vector<std::string>& extra = {}, std::string_view drop = {},
                         std::string_view request_line = "GET /chat HTTP/1.1") {
  std::string out = std::string(request_line) + "\r\n";
  for (const std::string& line : kUpgradeLines) {
    if (!drop.empty() && line.starts_with(std::string(drop) + ":")) continue;
    out += line + "\r\n";
  }
  for (const std::string& line : extra) out += line + "\r\n";
  return out + "\r\n";
}

using testing::Outcome;
using testing::parse;

// validate_upgrade() of a head that must parse; a parse failure fails the test.
std::optional<HttpError> judge(std::string_view bytes) {
  const Outcome outcome = parse(bytes);
  EXPECT_EQ(outcome.status, RequestHeadParser::Status::Complete) << outcome.error.reason;
  return validate_upgrade(outcome.request);
}

void expect_parse_error(std::string_view bytes, int status, std::string_view reason) {
  const Outcome outcome = parse(bytes);
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Error);
  EXPECT_EQ(outcome.error.status, status);
  EXPECT_EQ(outcome.error.reason, reason);
}

void expect_refused(std::string_view bytes, int status) {
  const auto error = judge(bytes);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, status) << error->reason;
}

TEST(Handshake, AcceptsTheRfc6455ExampleRequest) {
  const Outcome outcome = parse(upgrade_head());
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Complete);
  EXPECT_FALSE(validate_upgrade(outcome.request).has_value());
  EXPECT_TRUE(wants_upgrade(outcome.request));
  EXPECT_EQ(outcome.request.host, "server.example.com");
  EXPECT_EQ(outcome.request.key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(outcome.request.version, "13");
}

// --- WS-HS-01: GET with HTTP/1.1 or higher; origin-form or absolute-form.

TEST(Handshake, WS_HS_01_RejectsPostWith405) {
  const auto error = judge(upgrade_head({}, {}, "POST /chat HTTP/1.1"));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 405);
}

TEST(Handshake, WS_HS_01_RejectsHeadWith405) {
  expect_refused(upgrade_head({}, {}, "HEAD /chat HTTP/1.1"), 405);
}

TEST(Handshake, WS_HS_01_RejectsHttp10UpgradeWith400) {
  expect_refused(upgrade_head({}, {}, "GET /chat HTTP/1.0"), 400);
}

TEST(Handshake, WS_HS_01_AcceptsAbsoluteFormTarget) {
  const Outcome outcome =
      parse(upgrade_head({}, {}, "GET ws://server.example.com/chat?room=1 HTTP/1.1"));
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Complete) << outcome.error.reason;
  EXPECT_EQ(outcome.request.target, "ws://server.example.com/chat?room=1");
  EXPECT_EQ(outcome.request.path, "/chat");
  EXPECT_EQ(outcome.request.query, "room=1");
  EXPECT_FALSE(validate_upgrade(outcome.request).has_value());
}

TEST(Handshake, WS_HS_01_AcceptsHttp11OrHigherMinorVersion) {
  Request request = parse(upgrade_head()).request;
  request.http_minor = 2;
  EXPECT_FALSE(validate_upgrade(request).has_value());
  request.http_minor = 0;
  EXPECT_EQ(validate_upgrade(request)->status, 400);
}

// --- WS-HS-02: exactly one valid Host.

TEST(Handshake, WS_HS_02_RejectsMissingHost) {
  expect_parse_error(upgrade_head({}, "Host"), 400, "missing Host header");
}

TEST(Handshake, WS_HS_02_RejectsDuplicateHost) {
  expect_parse_error(upgrade_head({"Host: other.example.com"}), 400, "duplicate Host header");
}

TEST(Handshake, WS_HS_02_RejectsEmptyHost) {
  expect_parse_error(upgrade_head({"Host:"}, "Host"), 400, "empty Host header");
}

TEST(Handshake, WS_HS_02_RejectsHostWithSpaceSlashOrUserinfo) {
  for (const char* host :
       {"Host: a b", "Host: a/b", "Host: user@a", "Host: a:", "Host: a:65536", "Host: a:8x",
        "Host: [::1", "Host: :80", "Host: a%4", "Host: a%", "Host: a%zz"}) {
    SCOPED_TRACE(host);
    expect_parse_error(upgrade_head({host}, "Host"), 400, "invalid Host header");
  }
}

TEST(Handshake, WS_HS_02_AcceptsHostNamesPortsAndIpLiterals) {
  for (const char* host :
       {"Host: Example.COM", "Host: example.com:8080", "Host: 192.0.2.1:443",
        "Host: [2001:db8::1]:8443", "Host: [::1]", "Host: xn--bcher-kva.example", "Host: a%41b"}) {
    SCOPED_TRACE(host);
    const Outcome outcome = parse(upgrade_head({host}, "Host"));
    ASSERT_EQ(outcome.status, RequestHeadParser::Status::Complete) << outcome.error.reason;
  }
  EXPECT_EQ(parse(upgrade_head({"Host: Example.COM:80"}, "Host")).request.host, "example.com:80");
}

TEST(Handshake, WS_HS_02_AbsoluteFormAuthorityMustMatchHost) {
  expect_parse_error(upgrade_head({}, {}, "GET ws://elsewhere.example/chat HTTP/1.1"), 400,
                     "Host does not match the request-target authority");
  expect_parse_error(upgrade_head({}, {}, "GET ws://user@server.example.com/chat HTTP/1.1"), 400,
                     "userinfo in request target");
}

// --- WS-HS-03: Upgrade has the token "websocket", case-insensitively.

TEST(Handshake, WS_HS_03_AcceptsWebsocketTokenInAnyCaseAndInAList) {
  for (const char* line :
       {"Upgrade: WebSocket", "Upgrade: h2c, websocket", "Upgrade: foo/2, WEBSOCKET"}) {
    SCOPED_TRACE(line);
    EXPECT_FALSE(judge(upgrade_head({line}, "Upgrade")).has_value());
  }
}

TEST(Handshake, WS_HS_03_RejectsUpgradeWithoutWebsocketToken) {
  for (const char* line :
       {"Upgrade: h2c", "Upgrade: websockets", "Upgrade: websocket/13", "Upgrade:"}) {
    SCOPED_TRACE(line);
    expect_refused(upgrade_head({line}, "Upgrade"), 400);
  }
}

TEST(Handshake, WS_HS_03_RejectsMalformedUpgradeList) {
  expect_parse_error(upgrade_head({"Upgrade: web socket"}, "Upgrade"), 400,
                     "invalid Upgrade header");
}

TEST(Handshake, WS_HS_03_NoUpgradeHeaderIsNotAnUpgradeAnd426) {
  const Outcome outcome = parse(upgrade_head({}, "Upgrade"));
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Complete);
  EXPECT_FALSE(wants_upgrade(outcome.request));
  EXPECT_EQ(validate_upgrade(outcome.request)->status, 426);
}

// --- WS-HS-04: Connection includes "upgrade", as a token list over all lines.

TEST(Handshake, WS_HS_04_AcceptsUpgradeTokenInListAndRepeatedLines) {
  EXPECT_FALSE(judge(upgrade_head({"Connection: keep-alive, Upgrade"}, "Connection")).has_value());
  EXPECT_FALSE(judge(upgrade_head({"Connection: keep-alive", "Connection: UPGRADE"}, "Connection"))
                   .has_value());
}

TEST(Handshake, WS_HS_04_RejectsMissingOrNonUpgradeConnection) {
  expect_refused(upgrade_head({}, "Connection"), 400);
  expect_refused(upgrade_head({"Connection: keep-alive"}, "Connection"), 400);
  expect_refused(upgrade_head({"Connection: upgrades"}, "Connection"), 400);
}

// --- WS-HS-05: Sec-WebSocket-Key is base64 of exactly 16 bytes, once.

TEST(Handshake, WS_HS_05_AcceptKeyMatchesRfcVector) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, WS_HS_05_RejectsFifteenByteKey) {
  // base64 of 15 bytes: 20 characters, no padding.
  expect_refused(upgrade_head({"Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0O"}, "Sec-WebSocket-Key"),
                 400);
}

TEST(Handshake, WS_HS_05_RejectsSeventeenByteKey) {
  // base64 of 17 bytes: 24 characters ending in a single '='.
  expect_refused(upgrade_head({"Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODxA="}, "Sec-WebSocket-Key"),
                 400);
}

TEST(Handshake, WS_HS_05_RejectsNonBase64Characters) {
  for (const char* line : {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!=",
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2-jZQ==",
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ===",
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"}) {
    SCOPED_TRACE(line);
    expect_refused(upgrade_head({line}, "Sec-WebSocket-Key"), 400);
  }
}

TEST(Handshake, WS_HS_05_RejectsMissingKey) {
  expect_refused(upgrade_head({}, "Sec-WebSocket-Key"), 400);
}

TEST(Handshake, WS_HS_05_RejectsDuplicateKey) {
  expect_parse_error(upgrade_head({"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="}), 400,
                     "duplicate Sec-WebSocket-Key header");
}

TEST(Handshake, WS_HS_05_KeyIsOwsTrimmedBeforeHashing) {
  const Outcome outcome = parse(
      upgrade_head({"Sec-WebSocket-Key: \t dGhlIHNhbXBsZSBub25jZQ== \t"}, "Sec-WebSocket-Key"));
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Complete);
  EXPECT_EQ(outcome.request.key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_FALSE(validate_upgrade(outcome.request).has_value());
}

// --- WS-HS-06: Sec-WebSocket-Version is exactly 13, once; else 426.

TEST(Handshake, WS_HS_06_RejectsVersion8With426) {
  expect_refused(upgrade_head({"Sec-WebSocket-Version: 8"}, "Sec-WebSocket-Version"), 426);
}

TEST(Handshake, WS_HS_06_RejectsVersion12With426) {
  expect_refused(upgrade_head({"Sec-WebSocket-Version: 12"}, "Sec-WebSocket-Version"), 426);
}

TEST(Handshake, WS_HS_06_RejectsVersion14With426) {
  expect_refused(upgrade_head({"Sec-WebSocket-Version: 14"}, "Sec-WebSocket-Version"), 426);
}

TEST(Handshake, WS_HS_06_RejectsLeadingZeroVersion013With426) {
  expect_refused(upgrade_head({"Sec-WebSocket-Version: 013"}, "Sec-WebSocket-Version"), 426);
}

TEST(Handshake, WS_HS_06_RejectsMissingVersionWith426) {
  expect_refused(upgrade_head({}, "Sec-WebSocket-Version"), 426);
}

TEST(Handshake, WS_HS_06_RejectsDuplicatedVersionWith400) {
  expect_parse_error(upgrade_head({"Sec-WebSocket-Version: 13"}), 400,
                     "duplicate Sec-WebSocket-Version header");
}

TEST(Handshake, WS_HS_06_Answer426CarriesVersionAndUpgrade) {
  const std::string response = make_response(426, "unsupported Sec-WebSocket-Version");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
  EXPECT_NE(response.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_NE(response.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
}

// --- WS-HS-07: any other ABNF violation is 400 and never a parsed request.

TEST(Handshake, WS_HS_07_RejectsMalformedRequestLine) {
  for (const char* line : {"GET  /chat HTTP/1.1", "GET /chat  HTTP/1.1", "GET /chat HTTP/1.1 ",
                           "GET /chat", "GET\t/chat HTTP/1.1"}) {
    SCOPED_TRACE(line);
    const Outcome outcome = parse(upgrade_head({}, {}, line));
    ASSERT_EQ(outcome.status, RequestHeadParser::Status::Error);
    EXPECT_EQ(outcome.error.status, 400);
  }
}

TEST(Handshake, WS_HS_07_RejectsInvalidHeaderNameCharacter) {
  expect_parse_error(upgrade_head({"X(y): 1"}), 400, "invalid character in header field name");
}

TEST(Handshake, WS_HS_07_LlhttpSyntaxErrorsAre400) {
  const Outcome outcome = parse(upgrade_head({}, {}, "get /chat HTTP/1.1"));
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Error);
  EXPECT_EQ(outcome.error.status, 400);
  EXPECT_TRUE(outcome.request.method.empty());  // nothing half-parsed is exposed
}

TEST(Handshake, WS_HS_07_RejectsFragmentInTarget) {
  expect_parse_error(upgrade_head({}, {}, "GET /chat#frag HTTP/1.1"), 400,
                     "fragment in request target");
}

// --- WS-HS-08: the 101 response.

TEST(Handshake, WS_HS_08_SwitchingProtocolsResponseIsExact) {
  EXPECT_EQ(make_101_response(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), std::nullopt),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
}

TEST(Handshake, WS_HS_08_SwitchingProtocolsNamesTheSelectedProtocolOnce) {
  const std::string response =
      make_101_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", std::string("chat"));
  EXPECT_TRUE(response.ends_with("Sec-WebSocket-Protocol: chat\r\n\r\n"));
  EXPECT_EQ(response.find("Sec-WebSocket-Protocol"), response.rfind("Sec-WebSocket-Protocol"));
}

// --- WS-HS-09: an unknown resource gets an error answer and the connection closes.

TEST(Handshake, WS_HS_09_NotFoundAnswerClosesTheConnection) {
  const std::string response = make_response(404, "no route for /nowhere");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_NE(response.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_TRUE(response.ends_with("\r\n\r\nno route for /nowhere\n"));
}

// --- WS-HS-10: an upgrade request with a body is refused.

TEST(Handshake, WS_HS_10_RejectsUpgradeWithContentLengthBody) {
  const std::string head = upgrade_head({"Content-Length: 4"});
  const Outcome outcome = parse(head + "abcd");
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Error);
  EXPECT_EQ(outcome.error.status, 400);
  EXPECT_EQ(outcome.error.reason, "request body not accepted");
  EXPECT_EQ(outcome.consumed, head.size());  // the body was never read
}

TEST(Handshake, WS_HS_10_RejectsUpgradeWithChunkedBody) {
  expect_parse_error(upgrade_head({"Transfer-Encoding: chunked"}) + "4\r\nabcd\r\n0\r\n\r\n", 400,
                     "request body not accepted");
}

TEST(Handshake, WS_HS_10_AcceptsZeroContentLength) {
  EXPECT_FALSE(judge(upgrade_head({"Content-Length: 0"})).has_value());
}

TEST(Handshake, WS_HS_10_ValidateRefusesRequestMarkedWithBody) {
  Request request = parse(upgrade_head()).request;
  request.has_body = true;
  const auto error = validate_upgrade(request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400);
}

// --- WS-HS-11: bytes after the head are handed back, never parsed.

TEST(Handshake, WS_HS_11_TailAfterHeadIsNotConsumed) {
  const std::string head = upgrade_head();
  const std::string frame = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";  // masked "Hello"
  const Outcome outcome = parse(head + frame);
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Complete);
  EXPECT_EQ(outcome.consumed, head.size());
}

TEST(Handshake, WS_HS_11_ConsumedCountsOnlyTheFinalCallsBytes) {
  const std::string head = upgrade_head();
  const std::string tail = "\x81\x80\x01\x02\x03\x04";
  const std::string all = head + tail;
  const size_t first = head.size() - 3;  // the terminator arrives split
  RequestHeadParser parser(HeadLimits{});
  size_t consumed = 0;
  ASSERT_EQ(parser.feed({reinterpret_cast<const uint8_t*>(all.data()), first}, consumed),
            RequestHeadParser::Status::NeedMore);
  EXPECT_EQ(consumed, first);
  ASSERT_EQ(parser.feed({reinterpret_cast<const uint8_t*>(all.data()) + first, all.size() - first},
                        consumed),
            RequestHeadParser::Status::Complete);
  EXPECT_EQ(consumed, 3u);
  // Later calls consume nothing and keep the result.
  EXPECT_EQ(parser.feed({reinterpret_cast<const uint8_t*>(tail.data()), tail.size()}, consumed),
            RequestHeadParser::Status::Complete);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parser.request().path, "/chat");
}

TEST(Handshake, WS_HS_11_PipelinedSecondRequestIsTailNotParsed) {
  const std::string first = upgrade_head();
  const std::string second = "GET /admin HTTP/1.1\r\nHost: server.example.com\r\n\r\n";
  const Outcome outcome = parse(first + second);
  ASSERT_EQ(outcome.status, RequestHeadParser::Status::Complete);
  EXPECT_EQ(outcome.consumed, first.size());
  EXPECT_EQ(outcome.request.path, "/chat");
}

}  // namespace
}  // namespace wsgate::http
