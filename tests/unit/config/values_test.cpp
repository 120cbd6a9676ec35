// Unit tests of the scalar value parsers and formatters (config/values.h).
#include "config/values.h"

#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

using namespace std::chrono_literals;

TEST(ParseBool, AcceptsOnlyTrueAndFalse) {
  EXPECT_EQ(parse_bool("true").value, true);
  EXPECT_EQ(parse_bool("false").value, false);
  for (const char* text : {"True", "TRUE", "yes", "no", "on", "off", "1", "0", "y", "", "truee"}) {
    EXPECT_FALSE(parse_bool(text)) << text;
  }
}

TEST(ParseBool, YamlOneOneSpellingsGetAHint) {
  EXPECT_EQ(parse_bool("yes").error,
            "must be true or false; write true (yes/no/on/off are not accepted)");
  EXPECT_EQ(parse_bool("off").error,
            "must be true or false; write false (yes/no/on/off are not accepted)");
  EXPECT_EQ(parse_bool("True").error,
            "must be true or false; write true (yes/no/on/off are not accepted)");
  EXPECT_EQ(parse_bool("maybe").error, "must be true or false");
}

TEST(ParseInt, AcceptsDecimalWithOptionalMinus) {
  EXPECT_EQ(parse_int("0").value, 0);
  EXPECT_EQ(parse_int("511").value, 511);
  EXPECT_EQ(parse_int("-3").value, -3);
  EXPECT_EQ(parse_int("9223372036854775807").value, INT64_MAX);
}

TEST(ParseInt, RejectsEverythingElse) {
  for (const char* text : {"", "-", "+1", "0x10", "1e3", "1_000", "1.0", " 1", "1 ", "ten"}) {
    EXPECT_EQ(parse_int(text).error, "must be a whole number") << text;
  }
  EXPECT_EQ(parse_int("9223372036854775808").error, "is too large");
}

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(parse_duration("0").value, 0ms);
  EXPECT_EQ(parse_duration("100ms").value, 100ms);
  EXPECT_EQ(parse_duration("120s").value, 120s);
  EXPECT_EQ(parse_duration("5m").value, 5min);
  EXPECT_EQ(parse_duration("1h").value, 1h);
  EXPECT_EQ(parse_duration("0s").value, 0ms);
}

TEST(ParseDuration, AcceptsCompoundsAndSpaces) {
  EXPECT_EQ(parse_duration("1m30s").value, 90s);
  EXPECT_EQ(parse_duration("1h 30m").value, 90min);
  EXPECT_EQ(parse_duration("30 s").value, 30s);
}

TEST(ParseDuration, RejectsNumbersWithoutUnit) {
  EXPECT_EQ(parse_duration("30").error, "needs a unit: ms, s, m or h (as in 30s)");
  EXPECT_EQ(parse_duration("1m30").error, "needs a unit after each number: ms, s, m or h");
}

TEST(ParseDuration, RejectsUnknownUnitsFractionsAndNegatives) {
  EXPECT_EQ(parse_duration("5x").error, "has unknown unit 'x'; use ms, s, m or h");
  EXPECT_EQ(parse_duration("2d").error, "has unknown unit 'd'; use ms, s, m or h");
  EXPECT_EQ(parse_duration("10S").error, "has unknown unit 'S'; use ms, s, m or h");
  EXPECT_EQ(parse_duration("1.5s").error,
            "must be whole numbers; use a smaller unit (1500ms, not 1.5s)");
  EXPECT_EQ(parse_duration("-5s").error, "must not be negative");
  EXPECT_EQ(parse_duration("").error, "is empty; write a duration such as 30s");
  EXPECT_EQ(parse_duration("s").error, "is not a duration; write for example 100ms, 30s, 5m or 1h");
  EXPECT_EQ(parse_duration("99999999999999999999h").error, "is too large");
}

TEST(ParseSize, AcceptsBinaryUnitsAndShortForms) {
  EXPECT_EQ(parse_size("512").value, 512u);
  EXPECT_EQ(parse_size("512B").value, 512u);
  EXPECT_EQ(parse_size("4k").value, 4096u);
  EXPECT_EQ(parse_size("4K").value, 4096u);
  EXPECT_EQ(parse_size("64KiB").value, 65536u);
  EXPECT_EQ(parse_size("1M").value, 1048576u);
  EXPECT_EQ(parse_size("1MiB").value, 1048576u);
  EXPECT_EQ(parse_size("1G").value, 1073741824u);
  EXPECT_EQ(parse_size("1GiB").value, 1073741824u);
  EXPECT_EQ(parse_size("64 KiB").value, 65536u);
  EXPECT_EQ(parse_size("0").value, 0u);
}

TEST(ParseSize, RejectsDecimalUnitsWithAHintToUseBinaryOnes) {
  EXPECT_EQ(parse_size("64KB").error, "must say KiB rather than KB: sizes are powers of 1024");
  EXPECT_EQ(parse_size("64kB").error, "must say KiB rather than kB: sizes are powers of 1024");
  EXPECT_EQ(parse_size("1MB").error, "must say MiB rather than MB: sizes are powers of 1024");
  EXPECT_EQ(parse_size("1gb").error, "must say GiB rather than gb: sizes are powers of 1024");
}

TEST(ParseSize, RejectsOtherMistakes) {
  EXPECT_EQ(parse_size("1kib").error, "has unit 'kib' in the wrong case; write B, KiB, MiB or GiB");
  EXPECT_EQ(parse_size("1TiB").error,
            "has unknown unit 'TiB'; use B, KiB, MiB or GiB (or k, K, M, G)");
  EXPECT_EQ(parse_size("1m").error, "has unknown unit 'm'; use B, KiB, MiB or GiB (or k, K, M, G)");
  EXPECT_EQ(parse_size("1.5MiB").error,
            "must be a whole number; use a smaller unit (1536KiB, not 1.5MiB)");
  EXPECT_EQ(parse_size("-1").error, "must not be negative");
  EXPECT_EQ(parse_size("").error, "is empty; write a size such as 64KiB");
  EXPECT_EQ(parse_size("KiB").error, "is not a size; write for example 512, 64KiB, 1MiB or 1GiB");
  EXPECT_EQ(parse_size("1KiB2").error, "is not a size; write for example 512, 64KiB or 1MiB");
  EXPECT_EQ(parse_size("99999999999GiB").error, "is too large");
}

TEST(ParseAddress, AcceptsIpv4Ipv6AndWildcard) {
  Parsed<ListenAddress> v4 = parse_address("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4.value->host, "127.0.0.1");
  EXPECT_EQ(v4.value->port, 8080);
  EXPECT_FALSE(v4.value->ipv6);
  EXPECT_EQ(v4.value->text, "127.0.0.1:8080");

  Parsed<ListenAddress> v6 = parse_address("[::1]:8080");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6.value->host, "::1");
  EXPECT_TRUE(v6.value->ipv6);
  EXPECT_EQ(v6.value->canonical, "[::1]:8080");

  Parsed<ListenAddress> any = parse_address("*:8080");
  ASSERT_TRUE(any);
  EXPECT_EQ(any.value->host, "0.0.0.0");
  EXPECT_EQ(any.value->canonical, "0.0.0.0:8080");

  Parsed<ListenAddress> any6 = parse_address("[::]:443");
  ASSERT_TRUE(any6);
  EXPECT_EQ(any6.value->host, "::");
}

TEST(ParseAddress, AcceptsPortBoundaries) {
  EXPECT_EQ(parse_address("127.0.0.1:0").value->port, 0);
  EXPECT_EQ(parse_address("127.0.0.1:65535").value->port, 65535);
  EXPECT_EQ(parse_address("127.0.0.1:65536").error,
            "port must be a number from 0 to 65535 (0 picks any free port)");
  EXPECT_FALSE(parse_address("127.0.0.1:-1"));
  EXPECT_FALSE(parse_address("127.0.0.1:"));
  EXPECT_FALSE(parse_address("127.0.0.1:http"));
}

TEST(ParseAddress, CanonicalFormComparesEquivalentSpellings) {
  EXPECT_EQ(parse_address("[0:0::1]:80").value->canonical,
            parse_address("[::1]:80").value->canonical);
  EXPECT_EQ(parse_address("*:80").value->canonical, parse_address("0.0.0.0:80").value->canonical);
}

TEST(ParseAddress, RejectsHostNamesSayingTheyAreNotResolved) {
  EXPECT_EQ(parse_address("localhost:8080").error,
            "host must be a numeric IPv4 or IPv6 address; names are not resolved");
  EXPECT_EQ(parse_address("[localhost]:8080").error,
            "has an invalid IPv6 address in [ ]; names are not resolved");
}

TEST(ParseAddress, ExplainsEachMalformedShape) {
  EXPECT_EQ(parse_address("").error,
            "is empty; write host:port such as 127.0.0.1:8080, [::1]:8080 or *:8080");
  EXPECT_EQ(parse_address("8080").error,
            "needs a host; write *:8080 for every IPv4 address or 127.0.0.1:8080");
  EXPECT_EQ(parse_address(":8080").error, "needs a host; write *:8080 for every IPv4 address");
  EXPECT_EQ(parse_address("127.0.0.1").error,
            "needs a port; write host:port such as 127.0.0.1:8080, [::1]:8080 or *:8080");
  EXPECT_EQ(parse_address("::1:8080").error,
            "needs brackets around an IPv6 address, as in [::1]:8080");
  EXPECT_EQ(parse_address("[::1]").error,
            "needs :port after ]; write host:port such as 127.0.0.1:8080, [::1]:8080 or *:8080");
  EXPECT_EQ(parse_address("[::1:8080").error, "has no ] after the IPv6 address");
  EXPECT_EQ(parse_address("256.0.0.1:80").error, "has an invalid IPv4 address");
  EXPECT_EQ(parse_address("1.2.3:80").error, "has an invalid IPv4 address");
}

TEST(CheckOrigin, AcceptsNullAndSchemeHostPort) {
  for (const char* text : {"null", "https://example.com", "http://example.com:8080", "ws://a.b",
                           "wss://x-y.example:8443", "https://[::1]:8443", "http://127.0.0.1"}) {
    EXPECT_EQ(check_origin(text), "") << text;
  }
}

TEST(CheckOrigin, RejectsWhatABrowserNeverSends) {
  EXPECT_EQ(check_origin("*"), "cannot be a wildcard; leave origins empty to allow any Origin");
  EXPECT_EQ(check_origin("example.com"),
            "must be null or scheme://host[:port], as in https://example.com");
  EXPECT_EQ(check_origin("ftp://example.com"), "must have scheme http, https, ws or wss");
  EXPECT_EQ(check_origin("HTTPS://example.com"), "must be lower case, as browsers send it");
  EXPECT_EQ(check_origin("https://Example.com"), "must be lower case, as browsers send it");
  EXPECT_EQ(check_origin("https://example.com/"),
            "must not end with /; an Origin is scheme://host[:port] only");
  EXPECT_EQ(check_origin("https://example.com/app"),
            "must not have a path, query or fragment; an Origin is scheme://host[:port] only");
  EXPECT_EQ(check_origin("https://user@example.com"), "must not contain user info (user@)");
  EXPECT_EQ(check_origin("https://example.com:443"),
            "must leave out the default port :443, as browsers do in Origin");
  EXPECT_EQ(check_origin("http://example.com:80"),
            "must leave out the default port :80, as browsers do in Origin");
  EXPECT_EQ(check_origin("https://example.com:99999"), "port must be a number from 1 to 65535");
  EXPECT_EQ(check_origin("https://"), "needs a host after the scheme");
  EXPECT_EQ(check_origin("https://exa mple.com"), "has an invalid character ' ' in its host");
}

TEST(IsToken, FollowsRfc7230Tchar) {
  EXPECT_TRUE(is_token("chat"));
  EXPECT_TRUE(is_token("v2.json"));
  EXPECT_TRUE(is_token("a!#$%&'*+-.^_`|~z"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("two words"));
  EXPECT_FALSE(is_token("a,b"));
  EXPECT_FALSE(is_token("a/b"));
  EXPECT_FALSE(is_token("\"q\""));
}

TEST(FormatDuration, UsesTheLargestWholeUnit) {
  EXPECT_EQ(format_duration(0ms), "0");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(600s), "10m");
  EXPECT_EQ(format_duration(24h), "24h");
}

TEST(FormatSize, UsesTheLargestWholeBinaryUnit) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(125), "125");
  EXPECT_EQ(format_size(1536), "1536");
  EXPECT_EQ(format_size(65536), "64KiB");
  EXPECT_EQ(format_size(1536 * 1024), "1536KiB");
  EXPECT_EQ(format_size(1u << 20), "1MiB");
  EXPECT_EQ(format_size(1u << 30), "1GiB");
}

}  // namespace
}  // namespace wsgate::config
