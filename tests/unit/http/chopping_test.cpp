// Chopped input (checklist WS-FR-06 applied to the head): every vector fed
// whole, in two pieces at every split point and one byte at a time must give
// the same status, position, error and Request.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/handshake.h"

namespace wsgate::http {
namespace {

using Status = RequestHeadParser::Status;

const std::string kUpgrade =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: https://app.example\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Sec-WebSocket-Version: 13\r\n";

const std::vector<std::string> kVectors = {
    // Valid heads, some with a tail.
    kUpgrade + "\r\n",
    kUpgrade + "\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
    kUpgrade + "\r\nGET /second HTTP/1.1\r\nHost: b\r\n\r\n",
    "GET /health HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET ws://a.example/p?q HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "HEAD / HTTP/1.0\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX:  v \r\n\r\n",
    // Invalid heads.
    "GET / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nx:\rTransfer-Encoding: chunked\r\n\r\n",
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "GET / HTTP/1.1\nHost: a\n\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    kUpgrade + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    kUpgrade + "Content-Length: 4\r\n\r\nabcd",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Protocol: a,,b\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\n",
    "\r\nGET / HTTP/1.1\r\n\r\n",
    "get / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /#x HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    // Incomplete: stays NeedMore.
    "GET / HTTP/1.1\r\nHost: a\r\n\r",
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += item + "\x1f";
  return out;
}

std::string describe(const Request& r) {
  std::string out = r.method + "|" + std::to_string(r.http_major) + "." +
                    std::to_string(r.http_minor) + "|" + r.target + "|" + r.path + "|" + r.query +
                    "|" + r.host + "|" + (r.origin ? "+" + *r.origin : "-") + "|" +
                    join(r.protocols) + "|" + join(r.extensions) + "|";
  for (const auto& [name, value] : r.headers) out += name + ":" + value + "\x1f";
  out += "|" + std::to_string(r.upgrade_websocket) + std::to_string(r.connection_upgrade) + "|" +
         r.key + "|" + r.version + "|" + std::to_string(r.has_body);
  return out;
}

// Feeds `bytes` cut at `cuts` (ascending offsets) and summarises the result:
// status, absolute end of the head or of the error, error and request.
std::string run(std::string_view bytes, const std::vector<size_t>& cuts) {
  RequestHeadParser parser(HeadLimits{});
  Status status = Status::NeedMore;
  size_t position = 0;
  size_t start = 0;
  for (size_t i = 0; i <= cuts.size() && status == Status::NeedMore; ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : bytes.size();
    size_t consumed = 0;
    status = parser.feed({reinterpret_cast<const uint8_t*>(bytes.data()) + start, end - start},
                         consumed);
    position = start + consumed;
    start = end;
  }
  return std::to_string(static_cast<int>(status)) + "@" + std::to_string(position) + "|" +
         std::to_string(parser.error().status) + " " + std::string(parser.error().reason) + "|" +
         describe(parser.request());
}

TEST(RequestHeadChopping, EverySplitPointGivesTheSameResult) {
  for (const std::string& vector : kVectors) {
    SCOPED_TRACE(testing::PrintToString(vector));
    const std::string whole = run(vector, {});
    for (size_t split = 0; split <= vector.size(); ++split) {
      ASSERT_EQ(run(vector, {split}), whole) << "split at " << split;
    }
  }
}

TEST(RequestHeadChopping, OneByteAtATimeGivesTheSameResult) {
  for (const std::string& vector : kVectors) {
    SCOPED_TRACE(testing::PrintToString(vector));
    std::vector<size_t> cuts;
    for (size_t i = 1; i < vector.size(); ++i) cuts.push_back(i);
    EXPECT_EQ(run(vector, cuts), run(vector, {}));
  }
}

TEST(RequestHeadChopping, VectorsCoverCompleteErrorAndNeedMore) {
  int complete = 0;
  int error = 0;
  int need_more = 0;
  for (const std::string& vector : kVectors) {
    const std::string summary = run(vector, {});
    const int status = summary[0] - '0';
    complete += status == static_cast<int>(Status::Complete);
    error += status == static_cast<int>(Status::Error);
    need_more += status == static_cast<int>(Status::NeedMore);
  }
  EXPECT_EQ(complete, 7);
  EXPECT_EQ(error, 15);
  EXPECT_EQ(need_more, 1);
}

TEST(RequestHeadChopping, ParsedFieldsOfTheFullUpgradeVector) {
  RequestHeadParser parser(HeadLimits{});
  const std::string head = kUpgrade + "\r\n";
  size_t consumed = 0;
  ASSERT_EQ(parser.feed({reinterpret_cast<const uint8_t*>(head.data()), head.size()}, consumed),
            Status::Complete);
  const Request& r = parser.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.http_major, 1);
  EXPECT_EQ(r.http_minor, 1);
  EXPECT_EQ(r.target, "/chat?room=1");
  EXPECT_EQ(r.path, "/chat");
  EXPECT_EQ(r.query, "room=1");
  EXPECT_EQ(r.host, "server.example.com");
  EXPECT_EQ(r.origin, "https://app.example");
  EXPECT_EQ(r.protocols, (std::vector<std::string>{"chat", "superchat"}));
  EXPECT_EQ(r.extensions, (std::vector<std::string>{"permessage-deflate; client_max_window_bits"}));
  EXPECT_EQ(r.headers.size(), 8u);
  EXPECT_TRUE(r.upgrade_websocket);
  EXPECT_TRUE(r.connection_upgrade);
  EXPECT_EQ(r.key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(r.version, "13");
  EXPECT_FALSE(r.has_body);
  EXPECT_FALSE(validate_upgrade(r).has_value());
}

}  // namespace
}  // namespace wsgate::http
