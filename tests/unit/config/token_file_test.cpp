// Unit tests of the websockify token file parser: the format websockify's
// TokenFile plugin reads, wsgate's unix: targets, and each error's text.
#include "config/token_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wsgate::config {
namespace {

using Kind = UpstreamAddress::Kind;

std::vector<std::string> errors_of(const std::string& text) {
  return parse_token_file(text, "/etc/wsgate/tokens").errors;
}

TEST(TokenFile, ReadsWebsockifyLinesWithCommentsBlanksAndSpaces) {
  TokenFile file = parse_token_file(
      "# VNC desks\n"
      "\n"
      "desk1: 10.0.0.5:5900\n"
      "  desk2 :\t vnc.example.net:5901  \r\n"
      "   # indented comment\n"
      "v6: [2001:db8::1]:5902\n"
      "sock: unix:/run/vnc/../vnc.sock",
      "tokens");
  EXPECT_TRUE(file.errors.empty()) << file.errors[0];
  ASSERT_EQ(file.tokens.size(), 4u);
  const UpstreamAddress& desk1 = file.tokens.at("desk1");
  EXPECT_EQ(desk1.kind, Kind::Tcp);
  EXPECT_EQ(desk1.host, "10.0.0.5");
  EXPECT_EQ(desk1.port, 5900);
  EXPECT_EQ(desk1.text, "10.0.0.5:5900");
  EXPECT_EQ(file.tokens.at("desk2").host, "vnc.example.net");
  EXPECT_EQ(file.tokens.at("desk2").port, 5901);
  EXPECT_EQ(file.tokens.at("v6").host, "2001:db8::1");
  EXPECT_EQ(file.tokens.at("v6").text, "[2001:db8::1]:5902");
  EXPECT_EQ(file.tokens.at("sock").kind, Kind::Unix);
  EXPECT_EQ(file.tokens.at("sock").path, "/run/vnc.sock");
  EXPECT_EQ(file.tokens.at("sock").text, "unix:/run/vnc/../vnc.sock");
  EXPECT_EQ(file.lines.at("desk2"), 4);
}

TEST(TokenFile, EmptyFileHasNoTokensAndNoErrors) {
  TokenFile file = parse_token_file("", "tokens");
  EXPECT_TRUE(file.tokens.empty());
  EXPECT_TRUE(file.errors.empty());
  EXPECT_TRUE(parse_token_file("# nothing yet\n\n", "tokens").errors.empty());
}

TEST(TokenFile, BadTargetsNameFileLineAndTarget) {
  EXPECT_EQ(errors_of("a: 1.2.3.4:1\nb: 1.2.3.4:2\nc: x\n"),
            std::vector<std::string>{
                "/etc/wsgate/tokens:3: bad target \"x\" (want host:port or unix:/path)"});
  EXPECT_EQ(errors_of("a: host:0\n"),
            std::vector<std::string>{"/etc/wsgate/tokens:1: bad target \"host:0\": port must be a "
                                     "number from 1 to 65535 (want host:port or unix:/path)"});
  EXPECT_EQ(errors_of("a: host:65536\n")[0],
            "/etc/wsgate/tokens:1: bad target \"host:65536\": port must be a number from 1 to "
            "65535 (want host:port or unix:/path)");
  EXPECT_EQ(errors_of("a: :5900\n")[0],
            "/etc/wsgate/tokens:1: bad target \":5900\": needs a host before :PORT (want "
            "host:port or unix:/path)");
  EXPECT_EQ(errors_of("a: ::1:5900\n")[0],
            "/etc/wsgate/tokens:1: bad target \"::1:5900\": needs brackets around an IPv6 "
            "address, as in [::1]:5900 (want host:port or unix:/path)");
  EXPECT_EQ(errors_of("a: [::g]:5900\n")[0],
            "/etc/wsgate/tokens:1: bad target \"[::g]:5900\": has an invalid IPv6 address in [ ] "
            "(want host:port or unix:/path)");
  EXPECT_EQ(errors_of("a: 10.0.0.300:5900\n")[0],
            "/etc/wsgate/tokens:1: bad target \"10.0.0.300:5900\": has an invalid IPv4 address "
            "(want host:port or unix:/path)");
  EXPECT_EQ(errors_of("a: bad_host!:5900\n")[0],
            "/etc/wsgate/tokens:1: bad target \"bad_host!:5900\": has a host that is neither a "
            "DNS name nor an IP address (want host:port or unix:/path)");
  EXPECT_EQ(errors_of("a: unix:run/vnc.sock\n")[0],
            "/etc/wsgate/tokens:1: bad target \"unix:run/vnc.sock\": needs an absolute path after "
            "unix:, as in unix:/run/vnc.sock (want host:port or unix:/path)");
  EXPECT_EQ(errors_of("a: tcp://h:1\n")[0],
            "/etc/wsgate/tokens:1: bad target \"tcp://h:1\": has a scheme such as tcp://, "
            "which a token target does not take (want host:port or unix:/path)");
}

TEST(TokenFile, LinesWithoutTokenOrSeparatorAreErrors) {
  EXPECT_EQ(errors_of("desk1 10.0.0.5:5900\n")[0],
            "/etc/wsgate/tokens:1: want \"token: host:port\" (got \"desk1 10.0.0.5:5900\")");
  // websockify splits at ": ", so a colon without a space does not separate.
  EXPECT_EQ(errors_of("desk1:10.0.0.5:5900\n")[0],
            "/etc/wsgate/tokens:1: want \"token: host:port\" (got \"desk1:10.0.0.5:5900\")");
  EXPECT_EQ(errors_of("desk1:\n")[0],
            "/etc/wsgate/tokens:1: want \"token: host:port\" (got \"desk1:\")");
  EXPECT_EQ(errors_of(": 10.0.0.5:5900\n")[0],
            "/etc/wsgate/tokens:1: has no token before \": \" (got \": 10.0.0.5:5900\")");
}

TEST(TokenFile, ADuplicateTokenIsAnErrorAndTheFirstStays) {
  TokenFile file = parse_token_file("a: h1:1\n# c\na: h2:2\n", "/etc/wsgate/tokens");
  EXPECT_EQ(file.errors,
            std::vector<std::string>{"/etc/wsgate/tokens:3: token \"a\" repeats line 1"});
  EXPECT_EQ(file.tokens.at("a").host, "h1");
}

TEST(TokenFile, EveryErrorIsReportedInLineOrder) {
  std::vector<std::string> errors = errors_of("x\ngood: h:1\ny: z\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_TRUE(errors[0].starts_with("/etc/wsgate/tokens:1: "));
  EXPECT_TRUE(errors[1].starts_with("/etc/wsgate/tokens:3: "));
}

}  // namespace
}  // namespace wsgate::config
