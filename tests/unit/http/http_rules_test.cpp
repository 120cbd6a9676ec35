// Strict HTTP/1.1 head parsing (checklist HTTP-01..09) and every row of the
// §4.4 table of observed parser behaviour, so a llhttp upgrade keeps it.
#include <gtest/gtest.h>
#include <llhttp.h>

#include <string>
#include <string_view>

#include "http/handshake.h"
#include "http_test_support.h"

namespace wsgate::http {
namespace {

using Status = RequestHeadParser::Status;

using testing::Outcome;
using testing::parse;

void expect_error(std::string_view bytes, std::string_view reason) {
  const Outcome outcome = parse(bytes);
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 400);
  EXPECT_EQ(outcome.error.reason, reason);
}

constexpr std::string_view kUpgrade =
    "GET /chat HTTP/1.1\r\n"
    "Host: a.example\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n";

std::string upgrade_with(std::string_view lines) {
  return std::string(kUpgrade) + std::string(lines) + "\r\n";
}

// --- §4.4 table, one test per row.

TEST(HttpParsingTable, ObsFoldCve2024_27982IsRejected) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n",
               "obs-fold (line folding) in header");
}

TEST(HttpParsingTable, EmptyHeaderSeparatedByCrCve2023_30589IsRejected) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nx:\rTransfer-Encoding: chunked\r\n\r\n",
               "bare CR in request head");
}

TEST(HttpParsingTable, SpaceBeforeColonIsRejected) {
  expect_error("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "whitespace in header field name");
}

TEST(HttpParsingTable, BareLfLineEndingsAreRejected) {
  expect_error("GET / HTTP/1.1\nHost: a\n\n", "bare LF in request head");
}

TEST(HttpParsingTable, DuplicateHostIsRejected) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "duplicate Host header");
}

TEST(HttpParsingTable, DuplicateSecWebSocketKeyIsRejected) {
  expect_error(upgrade_with("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
               "duplicate Sec-WebSocket-Key header");
}

TEST(HttpParsingTable, UpgradeWithContentLengthBodyIsRejected) {
  const std::string head = upgrade_with("Content-Length: 4\r\n");
  const Outcome outcome = parse(head + "abcd");
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 400);
  EXPECT_EQ(outcome.error.reason, "request body not accepted");
  EXPECT_EQ(outcome.consumed, head.size());
}

TEST(HttpParsingTable, Http10UpgradeIsNotUpgraded) {
  std::string head = upgrade_with("");
  head.replace(head.find("HTTP/1.1"), 8, "HTTP/1.0");
  const Outcome outcome = parse(head);
  ASSERT_EQ(outcome.status, Status::Complete);
  const auto error = validate_upgrade(outcome.request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400);
}

TEST(HttpParsingTable, ContentLengthWithTransferEncodingIsRejected) {
  for (const char* lines : {"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                            "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"}) {
    SCOPED_TRACE(lines);
    const Outcome outcome = parse(std::string("GET / HTTP/1.1\r\nHost: a\r\n") + lines + "\r\n");
    ASSERT_EQ(outcome.status, Status::Error);
    EXPECT_EQ(outcome.error.status, 400);
  }
}

// --- HTTP-01: only four places matter; each is closed.

TEST(HttpRules, HTTP_01_PlainAnswersCloseTheConnection) {
  for (const int status : {200, 400, 403, 404, 405, 426, 431, 503}) {
    SCOPED_TRACE(status);
    EXPECT_NE(make_response(status, "x").find("\r\nConnection: close\r\n"), std::string::npos);
  }
}

TEST(HttpRules, HTTP_01_NonUpgradeRequestWithBodyIsRejected) {
  expect_error("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
               "request body not accepted");
}

TEST(HttpRules, HTTP_01_PlainGetWithoutBodyParses) {
  const Outcome outcome = parse("GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(outcome.status, Status::Complete);
  EXPECT_FALSE(wants_upgrade(outcome.request));
  EXPECT_FALSE(outcome.request.has_body);
}

// --- HTTP-02: obs-fold.

TEST(HttpRules, HTTP_02_RejectsObsFoldWithSpaceOrTab) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
               "obs-fold (line folding) in header");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n",
               "obs-fold (line folding) in header");
}

TEST(HttpRules, HTTP_02_RejectsWhitespaceBeforeFirstHeader) {
  expect_error("GET / HTTP/1.1\r\n Host: a\r\n\r\n", "obs-fold (line folding) in header");
}

// --- HTTP-03: whitespace between field name and colon.

TEST(HttpRules, HTTP_03_RejectsSpaceOrTabBeforeColon) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nUpgrade : websocket\r\n\r\n",
               "whitespace in header field name");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nUpgrade\t: websocket\r\n\r\n",
               "whitespace in header field name");
}

TEST(HttpRules, HTTP_03_RejectsEmptyFieldName) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n", "empty header field name");
}

TEST(HttpRules, HTTP_03_RejectsLineWithoutColon) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n", "header line without colon");
}

// --- HTTP-04: bare CR and bare LF anywhere in the head.

TEST(HttpRules, HTTP_04_RejectsBareCrInRequestLineHeaderAndBlankLine) {
  expect_error("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", "bare CR in request head");
  expect_error("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "bare CR in request head");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n", "bare CR in request head");
}

TEST(HttpRules, HTTP_04_RejectsBareLfAnywhere) {
  expect_error("GET / HTTP/1.1\r\nHost: a\n\r\n", "bare LF in request head");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\n\n", "bare LF in request head");
  expect_error("GET / HTTP/1.1\r\nX: a\nb\r\n\r\n", "bare LF in request head");
}

TEST(HttpRules, HTTP_04_RejectsLeadingEmptyLine) {
  expect_error("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "empty request line");
}

// --- HTTP-05: names are case-insensitive; singletons once; lists combined.

TEST(HttpRules, HTTP_05_NamesAreLowerCasedAndValuesTrimmed) {
  const Outcome outcome =
      parse("GET / HTTP/1.1\r\nHOST: A.Example\r\nX-Thing: \t v a l \t\r\n\r\n");
  ASSERT_EQ(outcome.status, Status::Complete);
  ASSERT_EQ(outcome.request.headers.size(), 2u);
  EXPECT_EQ(outcome.request.headers[0].first, "host");
  EXPECT_EQ(outcome.request.headers[1].first, "x-thing");
  EXPECT_EQ(outcome.request.headers[1].second, "v a l");
  EXPECT_EQ(outcome.request.header("x-thing"), "v a l");
  EXPECT_EQ(outcome.request.host, "a.example");
}

TEST(HttpRules, HTTP_05_DuplicateSingletonsInAnyCaseAreRejected) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n", "duplicate Host header");
  expect_error(upgrade_with("sec-websocket-version: 13\r\n"),
               "duplicate Sec-WebSocket-Version header");
  expect_error(upgrade_with("Origin: https://a.example\r\nORIGIN: https://a.example\r\n"),
               "duplicate Origin header");
}

TEST(HttpRules, HTTP_05_DuplicateContentLengthIsRejected) {
  const Outcome outcome =
      parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 400);
}

TEST(HttpRules, HTTP_05_ListHeadersAreCombinedAcrossLines) {
  const Outcome outcome = parse(
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: keep-alive\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  ASSERT_EQ(outcome.status, Status::Complete);
  EXPECT_TRUE(outcome.request.upgrade_websocket);
  EXPECT_TRUE(outcome.request.connection_upgrade);
  EXPECT_EQ(outcome.request.header("upgrade"), "h2c");  // header() gives the first line
}

// --- HTTP-06: NUL and other controls in a field value.

TEST(HttpRules, HTTP_06_RejectsNulInValue) {
  constexpr char kHead[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
  expect_error(std::string_view(kHead, sizeof(kHead) - 1), "NUL in header value");
}

TEST(HttpRules, HTTP_06_RejectsControlCharactersAndDelInValue) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n",
               "control character in header value");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\x1bz\r\n\r\n",
               "control character in header value");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n",
               "control character in header value");
}

TEST(HttpRules, HTTP_06_AllowsTabAndObsTextInValue) {
  const Outcome outcome = parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\tb \xc3\xa9\r\n\r\n");
  ASSERT_EQ(outcome.status, Status::Complete) << outcome.error.reason;
  EXPECT_EQ(outcome.request.header("x"), "a\tb \xc3\xa9");
}

TEST(HttpRules, HTTP_06_RejectsControlCharactersInRequestLine) {
  expect_error("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", "control character in request line");
}

// --- HTTP-07: see request_head_limits_test.cpp for the streaming limits;
// here the status codes of the two kinds.

TEST(HttpRules, HTTP_07_RequestLineOverLimitIs414AndHeadOverLimitIs431) {
  RequestHeadParser line_parser(HeadLimits{16, 1024, 8});
  size_t consumed = 0;
  const std::string long_line = "GET /0123456789abcdef HTTP/1.1\r\n";
  EXPECT_EQ(line_parser.feed({reinterpret_cast<const uint8_t*>(long_line.data()), long_line.size()},
                             consumed),
            Status::Error);
  EXPECT_EQ(line_parser.error().status, 414);
  RequestHeadParser head_parser(HeadLimits{64, 40, 8});
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n";
  EXPECT_EQ(
      head_parser.feed({reinterpret_cast<const uint8_t*>(head.data()), head.size()}, consumed),
      Status::Error);
  EXPECT_EQ(head_parser.error().status, 431);
}

// --- HTTP-08: Content-Length with Transfer-Encoding, or a final coding
// other than chunked.

TEST(HttpRules, HTTP_08_RejectsContentLengthWithTransferEncoding) {
  const Outcome outcome =
      parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 400);
}

TEST(HttpRules, HTTP_08_RejectsTransferEncodingNotEndingInChunked) {
  for (const char* coding : {"gzip", "chunked, gzip", "identity"}) {
    SCOPED_TRACE(coding);
    const Outcome outcome = parse(std::string("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") +
                                  coding + "\r\n\r\n");
    ASSERT_EQ(outcome.status, Status::Error);
    EXPECT_EQ(outcome.error.status, 400);
  }
}

TEST(HttpRules, HTTP_08_RejectsInvalidContentLength) {
  for (const char* value : {"+3", "1 2", "-1", "99999999999999999999999"}) {
    SCOPED_TRACE(value);
    const Outcome outcome =
        parse(std::string("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: ") + value + "\r\n\r\n");
    ASSERT_EQ(outcome.status, Status::Error);
    EXPECT_EQ(outcome.error.status, 400);
  }
}

// --- HTTP-09: llhttp 8.1.0 built strict, behind our own pre-scan.

TEST(HttpRules, HTTP_09_LlhttpIsBuiltInStrictMode) {
#ifdef LLHTTP_STRICT_MODE
  EXPECT_EQ(LLHTTP_STRICT_MODE, 1);
#else
  FAIL() << "LLHTTP_STRICT_MODE is not defined for llhttp users";
#endif
}

TEST(HttpRules, HTTP_09_LlhttpRejectionsSurfaceAs400WithItsReason) {
  const Outcome outcome = parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n");
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 400);
  EXPECT_EQ(outcome.error.reason, "Invalid character in Content-Length");
}

TEST(HttpRules, HTTP_09_RejectsHttp2PrefaceAndOtherMajorVersions) {
  EXPECT_EQ(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").status, Status::Error);
  expect_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "unsupported HTTP version");
}

}  // namespace
}  // namespace wsgate::http
