// Serialized handshake responses and status texts.
#include <gtest/gtest.h>

#include <string>

#include "http/handshake.h"

namespace wsgate::http {
namespace {

TEST(Response, ErrorResponseHasExactLayout) {
  EXPECT_EQ(make_response(400, "bare LF in request head"),
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 24\r\n"
            "Connection: close\r\n"
            "\r\n"
            "bare LF in request head\n");
}

TEST(Response, MethodNotAllowedCarriesCallersAllowHeader) {
  const std::string response =
      make_response(405, "WebSocket upgrade requires GET", "Allow: GET\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_NE(response.find("\r\nConnection: close\r\nAllow: GET\r\n\r\n"), std::string::npos);
}

TEST(Response, ExtraHeadersWithoutFinalCrlfAreTerminated) {
  const std::string response = make_response(503, "busy", "Retry-After: 5");
  EXPECT_NE(response.find("\r\nRetry-After: 5\r\n\r\nbusy\n"), std::string::npos);
}

TEST(Response, Upgrade426AddsVersionAndUpgradeHeaders) {
  EXPECT_EQ(make_response(426, "not a WebSocket upgrade request"),
            "HTTP/1.1 426 Upgrade Required\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 32\r\n"
            "Connection: close\r\n"
            "Upgrade: websocket\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "\r\n"
            "not a WebSocket upgrade request\n");
}

TEST(Response, OtherStatusesHaveNoUpgradeHeaders) {
  EXPECT_EQ(make_response(400, "x").find("Sec-WebSocket-Version"), std::string::npos);
  EXPECT_EQ(make_response(400, "x").find("Upgrade:"), std::string::npos);
}

TEST(Response, EmptyBodyFallsBackToStatusText) {
  const std::string response = make_response(404, "");
  EXPECT_TRUE(response.ends_with("\r\n\r\nNot Found\n"));
  EXPECT_NE(response.find("Content-Length: 10\r\n"), std::string::npos);
}

TEST(Response, ProtocolThatIsNotATokenIsNeverWritten) {
  const std::string response = make_101_response("abc=", std::string("chat\r\nSet-Cookie: x=1"));
  EXPECT_EQ(response.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(response.find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(Response, StatusTextsOfEveryStatusWeSend) {
  const std::pair<int, const char*> expected[] = {
      {101, "Switching Protocols"},
      {200, "OK"},
      {400, "Bad Request"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {421, "Misdirected Request"},
      {426, "Upgrade Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
  };
  for (const auto& [status, text] : expected) {
    SCOPED_TRACE(status);
    EXPECT_EQ(status_text(status), text);
    EXPECT_TRUE(make_response(status, "x")
                    .starts_with("HTTP/1.1 " + std::to_string(status) + " " + text + "\r\n"));
  }
  EXPECT_EQ(status_text(299), "Unknown Status");
}

TEST(Response, AcceptKeyOfAnotherKey) {
  // Independently computed: base64(SHA-1("AQIDBAUGBwgJCgsMDQ4PEA==" + GUID)).
  EXPECT_EQ(accept_key("AQIDBAUGBwgJCgsMDQ4PEA=="), "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");
}

}  // namespace
}  // namespace wsgate::http
