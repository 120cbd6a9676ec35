// Origin allow-list against Cross-Site WebSocket Hijacking (SEC-OR-01/02/04).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "http/handshake.h"

namespace wsgate::http {
namespace {

const std::vector<std::string> kAppOnly = {"https://app.example"};

bool allowed(const char* origin, const std::vector<std::string>& list = kAppOnly) {
  return origin_allowed(std::optional<std::string>(origin), list);
}

// --- SEC-OR-01: exact match of scheme, host and port; no substring or suffix.

TEST(Origin, SEC_OR_01_ExactOriginIsAllowed) {
  EXPECT_TRUE(allowed("https://app.example"));
}

TEST(Origin, SEC_OR_01_SubstringAndSuffixLookalikesAreRefused) {
  for (const char* origin :
       {"https://evil-app.example", "https://app.example.evil.net", "https://xapp.example",
        "https://app.exampl", "https://app.example/", "https://app.example/path",
        "https://user@app.example", " https://app.example", "https://app.examplex"}) {
    SCOPED_TRACE(origin);
    EXPECT_FALSE(allowed(origin));
  }
}

TEST(Origin, SEC_OR_01_SchemeAndPortMustMatch) {
  EXPECT_FALSE(allowed("http://app.example"));
  EXPECT_FALSE(allowed("wss://app.example"));
  EXPECT_FALSE(allowed("https://app.example:8443"));
  EXPECT_TRUE(allowed("https://app.example:8443", {"https://app.example:8443"}));
  EXPECT_FALSE(allowed("https://app.example", {"https://app.example:8443"}));
}

TEST(Origin, SEC_OR_01_SchemelessEntryMatchesNothing) {
  EXPECT_FALSE(allowed("http://app.example", {"app.example"}));
  EXPECT_FALSE(allowed("https://app.example", {"app.example"}));
}

TEST(Origin, SEC_OR_01_EmptyListMeansNoCheck) {
  EXPECT_TRUE(allowed("https://evil.example", {}));
  EXPECT_TRUE(origin_allowed(std::nullopt, {}));
}

// --- SEC-OR-02: "null" and a missing Origin.

TEST(Origin, SEC_OR_02_NullOriginIsRefusedUnlessListed) {
  EXPECT_FALSE(allowed("null"));
  EXPECT_TRUE(allowed("null", {"https://app.example", "null"}));
  EXPECT_FALSE(allowed("NULL", {"null"}));
}

TEST(Origin, SEC_OR_02_MissingOriginIsRefusedWhenListIsSet) {
  EXPECT_FALSE(origin_allowed(std::nullopt, kAppOnly));
  EXPECT_FALSE(origin_allowed(std::nullopt, {"null"}));
}

// --- SEC-OR-04: the test vectors.

TEST(Origin, SEC_OR_04_EvilOriginIsRefused) {
  EXPECT_FALSE(allowed("https://evil.example"));
}

TEST(Origin, SEC_OR_04_CaseVariantsOfSchemeAndHostMatch) {
  EXPECT_TRUE(allowed("HTTPS://APP.EXAMPLE"));
  EXPECT_TRUE(allowed("https://App.Example"));
  EXPECT_TRUE(allowed("https://app.example", {"HTTPS://App.Example"}));
}

TEST(Origin, SEC_OR_04_TrailingDotMatchesOnlyWhenListedExactly) {
  EXPECT_FALSE(allowed("https://app.example."));
  EXPECT_FALSE(allowed("https://app.example", {"https://app.example."}));
  EXPECT_TRUE(allowed("https://app.example.", {"https://app.example."}));
}

TEST(Origin, SEC_OR_04_ExplicitDefaultPortIsNormalised) {
  EXPECT_TRUE(allowed("https://app.example:443"));
  EXPECT_TRUE(allowed("https://app.example", {"https://app.example:443"}));
  EXPECT_TRUE(allowed("http://app.example:80", {"http://app.example"}));
  EXPECT_TRUE(allowed("ws://app.example:80", {"ws://app.example"}));
  EXPECT_TRUE(allowed("wss://app.example:443", {"wss://app.example"}));
  // Only the scheme's own default port is dropped.
  EXPECT_FALSE(allowed("https://app.example:80"));
  EXPECT_FALSE(allowed("http://app.example:443", {"http://app.example"}));
  EXPECT_FALSE(allowed("https://app.example:0443"));
}

TEST(Origin, SEC_OR_04_ParsedOriginFeedsTheCheck) {
  const std::string head =
      "GET /chat HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Origin:  https://App.Example:443 \r\n\r\n";
  RequestHeadParser parser(HeadLimits{});
  size_t consumed = 0;
  ASSERT_EQ(parser.feed({reinterpret_cast<const uint8_t*>(head.data()), head.size()}, consumed),
            RequestHeadParser::Status::Complete);
  ASSERT_EQ(parser.request().origin, "https://App.Example:443");
  EXPECT_TRUE(origin_allowed(parser.request().origin, kAppOnly));
  EXPECT_FALSE(origin_allowed(parser.request().origin, {"https://evil.example"}));
}

TEST(Origin, SEC_OR_04_IpLiteralOrigins) {
  EXPECT_TRUE(allowed("http://[::1]:8080", {"http://[::1]:8080"}));
  EXPECT_TRUE(allowed("http://[::1]:80", {"http://[::1]"}));
  EXPECT_FALSE(allowed("http://[::1]:8081", {"http://[::1]:8080"}));
}

}  // namespace
}  // namespace wsgate::http
