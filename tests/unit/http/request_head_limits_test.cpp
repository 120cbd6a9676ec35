// Streaming limits of the request-head parser (SEC-LIM-01..03, HTTP-07).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "http/handshake.h"

namespace wsgate::http {
namespace {

using Status = RequestHeadParser::Status;

struct Outcome {
  Status status;
  size_t consumed;
  HttpError error;
};

Outcome parse(std::string_view bytes, const HeadLimits& limits = {}) {
  RequestHeadParser parser(limits);
  size_t consumed = 0;
  const Status status =
      parser.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, consumed);
  return {status, consumed, parser.error()};
}

// A request line of exactly `length` bytes (CRLF not counted).
std::string request_line_of(size_t length) {
  const std::string_view prefix = "GET /";
  const std::string_view suffix = " HTTP/1.1";
  return std::string(prefix) + std::string(length - prefix.size() - suffix.size(), 'a') +
         std::string(suffix);
}

std::string head_with_request_line(size_t length) {
  return request_line_of(length) + "\r\nHost: a\r\n\r\n";
}

// A whole head (terminator included) of exactly `size` bytes.
std::string head_of_size(size_t size) {
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ";
  const std::string end = "\r\n\r\n";
  return start + std::string(size - start.size() - end.size(), 'f') + end;
}

// A head with `count` header lines in total (Host included).
std::string head_with_headers(size_t count) {
  std::string out = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 1; i < count; ++i) out += "X-" + std::to_string(i) + ": v\r\n";
  return out + "\r\n";
}

const HeadLimits kDefaults{};

// --- SEC-LIM-01: request line at most max_request_line bytes, else 414.

TEST(RequestHeadLimits, SEC_LIM_01_RequestLineBelowLimitPasses) {
  EXPECT_EQ(parse(head_with_request_line(kDefaults.max_request_line - 1)).status, Status::Complete);
}

TEST(RequestHeadLimits, SEC_LIM_01_RequestLineAtLimitPasses) {
  EXPECT_EQ(parse(head_with_request_line(kDefaults.max_request_line)).status, Status::Complete);
}

TEST(RequestHeadLimits, SEC_LIM_01_RequestLineAboveLimitGets414) {
  const Outcome outcome = parse(head_with_request_line(kDefaults.max_request_line + 1));
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 414);
  EXPECT_EQ(outcome.error.reason, "request line too long");
  EXPECT_EQ(outcome.consumed, kDefaults.max_request_line + 1);  // refused at the first extra byte
}

// --- SEC-LIM-02: the whole head at most max_header_bytes, else 431.

TEST(RequestHeadLimits, SEC_LIM_02_HeadBelowLimitPasses) {
  EXPECT_EQ(parse(head_of_size(kDefaults.max_header_bytes - 1)).status, Status::Complete);
}

TEST(RequestHeadLimits, SEC_LIM_02_HeadAtLimitPasses) {
  EXPECT_EQ(parse(head_of_size(kDefaults.max_header_bytes)).status, Status::Complete);
}

TEST(RequestHeadLimits, SEC_LIM_02_HeadAboveLimitGets431) {
  const Outcome outcome = parse(head_of_size(kDefaults.max_header_bytes + 1));
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 431);
  EXPECT_EQ(outcome.error.reason, "request head too large");
}

// --- SEC-LIM-03: at most max_headers header lines, else 431.

TEST(RequestHeadLimits, SEC_LIM_03_HeaderCountBelowLimitPasses) {
  EXPECT_EQ(parse(head_with_headers(kDefaults.max_headers - 1)).status, Status::Complete);
}

TEST(RequestHeadLimits, SEC_LIM_03_HeaderCountAtLimitPasses) {
  EXPECT_EQ(parse(head_with_headers(kDefaults.max_headers)).status, Status::Complete);
}

TEST(RequestHeadLimits, SEC_LIM_03_HeaderCountAboveLimitGets431) {
  const Outcome outcome = parse(head_with_headers(kDefaults.max_headers + 1));
  ASSERT_EQ(outcome.status, Status::Error);
  EXPECT_EQ(outcome.error.status, 431);
  EXPECT_EQ(outcome.error.reason, "too many header fields");
}

TEST(RequestHeadLimits, SEC_LIM_03_CustomLimitsAreHonoured) {
  const HeadLimits small{64, 256, 2};
  EXPECT_EQ(parse(head_with_headers(2), small).status, Status::Complete);
  EXPECT_EQ(parse(head_with_headers(3), small).error.status, 431);
  EXPECT_EQ(parse(head_with_request_line(65), small).error.status, 414);
  EXPECT_EQ(parse(head_of_size(257), small).error.status, 431);
}

// --- HTTP-07: limits apply while streaming, before any terminator.

TEST(RequestHeadLimits, HTTP_07_LongRequestLineFailsWithoutWaitingForCrlf) {
  RequestHeadParser parser(kDefaults);
  const std::string chunk(1024, 'a');
  size_t consumed = 0;
  Status status = parser.feed({reinterpret_cast<const uint8_t*>("GET /"), 5}, consumed);
  size_t fed = 5;
  while (status == Status::NeedMore && fed < 4 * kDefaults.max_request_line) {
    status = parser.feed({reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()}, consumed);
    fed += chunk.size();
  }
  ASSERT_EQ(status, Status::Error);
  EXPECT_EQ(parser.error().status, 414);
  EXPECT_LE(fed, kDefaults.max_request_line + chunk.size());
}

TEST(RequestHeadLimits, HTTP_07_EndlessHeadersFailWithBoundedBuffer) {
  RequestHeadParser parser(kDefaults);
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\n";
  size_t consumed = 0;
  Status status =
      parser.feed({reinterpret_cast<const uint8_t*>(start.data()), start.size()}, consumed);
  const std::string line = "X-Long: " + std::string(1000, 'v') + "\r\n";
  size_t largest_buffer = 0;
  for (int i = 0; i < 100 && status == Status::NeedMore; ++i) {
    status = parser.feed({reinterpret_cast<const uint8_t*>(line.data()), line.size()}, consumed);
    largest_buffer = std::max(largest_buffer, parser.buffered_bytes());
  }
  ASSERT_EQ(status, Status::Error);
  EXPECT_EQ(parser.error().status, 431);
  EXPECT_LE(largest_buffer, 2 * kDefaults.max_header_bytes);
}

TEST(RequestHeadLimits, HTTP_07_ByteAtATimeHitsTheSameLimit) {
  const std::string head = head_of_size(kDefaults.max_header_bytes + 1);
  RequestHeadParser parser(kDefaults);
  size_t consumed = 0;
  size_t fed = 0;
  Status status = Status::NeedMore;
  while (status == Status::NeedMore && fed < head.size()) {
    status = parser.feed({reinterpret_cast<const uint8_t*>(head.data()) + fed, 1}, consumed);
    ++fed;
  }
  ASSERT_EQ(status, Status::Error);
  EXPECT_EQ(parser.error().status, 431);
  EXPECT_EQ(fed, kDefaults.max_header_bytes + 1);
}

TEST(RequestHeadLimits, BufferIsReleasedOnceTheHeadIsParsed) {
  RequestHeadParser parser(kDefaults);
  const std::string head = head_of_size(8000);
  size_t consumed = 0;
  ASSERT_EQ(parser.feed({reinterpret_cast<const uint8_t*>(head.data()), head.size() - 1}, consumed),
            Status::NeedMore);
  EXPECT_GE(parser.buffered_bytes(), head.size() - 1);
  ASSERT_EQ(
      parser.feed({reinterpret_cast<const uint8_t*>(head.data()) + head.size() - 1, 1}, consumed),
      Status::Complete);
  EXPECT_LT(parser.buffered_bytes(), 64u);
}

TEST(RequestHeadLimits, ErrorIsStickyAndConsumesNothingMore) {
  RequestHeadParser parser(kDefaults);
  size_t consumed = 0;
  const std::string bad = "GET / HTTP/1.1\nHost: a\r\n\r\n";
  ASSERT_EQ(parser.feed({reinterpret_cast<const uint8_t*>(bad.data()), bad.size()}, consumed),
            Status::Error);
  EXPECT_EQ(consumed, 15u);  // up to and including the bare LF
  const std::string good = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(parser.feed({reinterpret_cast<const uint8_t*>(good.data()), good.size()}, consumed),
            Status::Error);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parser.error().status, 400);
}

}  // namespace
}  // namespace wsgate::http
