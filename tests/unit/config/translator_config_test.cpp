// Unit tests of relay: translator routes: the routes[].translator keys and
// their defaults, the password file read by the loader, the exact text and
// position of every rule's error, and the trusted_proxies ranges
// (parse_address_range, address_in_ranges).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/translator_settings.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

using testing::errors_of;
using testing::load_text;
using testing::write_file;

// Evergreen's opensrf_core.xml <log_protect> match_strings, in its order.
const std::vector<std::string> kEvergreenLogProtect{
    "open-ils.auth.authenticate.verify",
    "open-ils.auth.authenticate.complete",
    "open-ils.auth_proxy.login",
    "open-ils.actor.patron.password_reset.commit",
    "open-ils.actor.user.password",
    "open-ils.actor.user.username",
    "open-ils.actor.user.email",
    "open-ils.actor.patron.update",
    "open-ils.cstore.direct.actor.user.create",
    "open-ils.cstore.direct.actor.user.update",
    "open-ils.cstore.direct.actor.user.delete",
    "open-ils.search.z3950.apply_credentials",
    "open-ils.vandelay.bib.process_spool",
    "open-ils.vandelay.auth.process_spool",
    "open-ils.acq.lineitem.search.ident",
    "open-ils.acq.lineitem.search",
    "open-ils.search.z3950.search_class",
};

// A config whose only route is /osrf with `relay` and then `body` (indented
// 4 spaces); the route item starts at 4:5, `body` on line 6.
std::string route(const std::string& body, const std::string& relay = "translator") {
  return "listen:\n"
         "  - address: 127.0.0.1:0\n"
         "routes:\n"
         "  - path: /osrf\n"
         "    relay: " +
         relay + "\n" + body;
}

// route() with a translator: map (at 6:5) holding `translator` (indented
// 6 spaces, from line 7).
std::string translator_route(const std::string& translator) {
  return route("    translator:\n" + translator);
}

// translator_route() with domain: public.localhost on line 7, then `more`
// from line 8.
std::string with_domain(const std::string& more) {
  return translator_route("      domain: public.localhost\n" + more);
}

TEST(TranslatorConfig, DefaultsWithOnlyADomain) {
  ConfigPtr config = load_text(with_domain(""));
  const RouteConfig& r = config->routes[0];
  EXPECT_EQ(r.relay, "translator");
  const TranslatorConfig& t = r.translator;
  EXPECT_EQ(t.domain, "public.localhost");
  EXPECT_EQ(t.port, 6379);
  EXPECT_EQ(t.username, "gateway");
  EXPECT_EQ(t.password_file, "");
  EXPECT_EQ(t.password, "");
  EXPECT_EQ(t.router_name, "router");
  EXPECT_EQ(t.max_sessions, 128u);
  EXPECT_EQ(t.max_message, 8u << 20);
  EXPECT_EQ(t.log_protect, kEvergreenLogProtect);
  EXPECT_TRUE(t.trusted_proxies.empty());
  // A translator route changes nothing else of the route.
  EXPECT_TRUE(r.subprotocols.empty());
  EXPECT_TRUE(r.exec.command.empty());
  EXPECT_EQ(r.proxy.upstream.kind, UpstreamAddress::Kind::None);
}

TEST(TranslatorConfig, OtherRoutesKeepTheStructDefaults) {
  ConfigPtr config = load_text(route("", "echo"));
  const TranslatorConfig& t = config->routes[0].translator;
  EXPECT_EQ(t.domain, "");
  EXPECT_EQ(t.password, "");
  EXPECT_TRUE(t.log_protect.empty());
  EXPECT_TRUE(t.trusted_proxies.empty());
}

TEST(TranslatorConfig, EveryKeyIsRead) {
  ConfigPtr config = load_text(
      translator_route("      domain: 10.1.2.3\n"
                       "      port: 6380\n"
                       "      username: wsgate-gw\n"
                       "      router_name: router2\n"
                       "      max_sessions: 100000\n"
                       "      max_message: 1KiB\n"
                       "      log_protect: [open-ils.auth., my.secret.method]\n"
                       "      trusted_proxies: [10.0.0.0/8, \"::1\", 2001:db8::/32, 192.0.2.7]\n"));
  const TranslatorConfig& t = config->routes[0].translator;
  EXPECT_EQ(t.domain, "10.1.2.3");
  EXPECT_EQ(t.port, 6380);
  EXPECT_EQ(t.username, "wsgate-gw");
  EXPECT_EQ(t.router_name, "router2");
  EXPECT_EQ(t.max_sessions, 100000u);
  EXPECT_EQ(t.max_message, 1024u);
  EXPECT_EQ(t.log_protect, (std::vector<std::string>{"open-ils.auth.", "my.secret.method"}));
  ASSERT_EQ(t.trusted_proxies.size(), 4u);
  EXPECT_EQ(t.trusted_proxies[0].family, AF_INET);
  EXPECT_EQ(t.trusted_proxies[0].prefix, 8u);
  EXPECT_EQ(t.trusted_proxies[0].text, "10.0.0.0/8");
  EXPECT_EQ(t.trusted_proxies[1].family, AF_INET6);
  EXPECT_EQ(t.trusted_proxies[1].prefix, 128u);
  EXPECT_EQ(t.trusted_proxies[2].prefix, 32u);
  EXPECT_EQ(t.trusted_proxies[3].prefix, 32u);
}

TEST(TranslatorConfig, EmptyLogProtectRedactsNothing) {
  EXPECT_TRUE(
      load_text(with_domain("      log_protect: []\n"))->routes[0].translator.log_protect.empty());
}

TEST(TranslatorConfig, TranslatorSectionOnAnotherRouteIsAnError) {
  EXPECT_EQ(errors_of(route("    translator:\n      domain: public.localhost\n", "echo")),
            "f.yaml:6:5: routes[0].translator: is only read by routes whose relay is "
            "translator (got relay echo)");
  // An empty map is still a translator section.
  EXPECT_EQ(errors_of(route("    translator: {}\n", "echo")),
            "f.yaml:6:5: routes[0].translator: is only read by routes whose relay is "
            "translator (got relay echo)");
}

TEST(TranslatorConfig, RelayNamesTranslator) {
  EXPECT_EQ(errors_of(route("", "translators")),
            "f.yaml:5:12: routes[0].relay: must be one of echo, proxy, exec, translator, static, "
            "console (got "
            "translators)");
}

TEST(TranslatorConfig, DomainIsRequired) {
  // Reported at the route item when the key is not written at all.
  EXPECT_EQ(errors_of(route("")),
            "f.yaml:4:5: routes[0].translator.domain: is required by a relay: translator route "
            "(the bus domain, which is also the Redis host) (got nothing)");
  EXPECT_EQ(errors_of(translator_route("      port: 6379\n")),
            "f.yaml:4:5: routes[0].translator.domain: is required by a relay: translator route "
            "(the bus domain, which is also the Redis host) (got nothing)");
  EXPECT_EQ(errors_of(translator_route("      domain: \"\"\n")),
            "f.yaml:7:15: routes[0].translator.domain: is required by a relay: translator route "
            "(the bus domain, which is also the Redis host) (got \"\")");
}

TEST(TranslatorConfig, DomainIsAHostNameOrIPv4Address) {
  EXPECT_EQ(
      load_text(translator_route("      domain: private.localhost\n"))->routes[0].translator.domain,
      "private.localhost");
  EXPECT_EQ(load_text(translator_route("      domain: localhost\n"))->routes[0].translator.domain,
            "localhost");
  EXPECT_EQ(errors_of(translator_route("      domain: bad_host!\n")),
            "f.yaml:7:15: routes[0].translator.domain: must be a DNS name or an IPv4 address (the "
            "Redis host of the bus) (got bad_host!)");
  EXPECT_EQ(errors_of(translator_route("      domain: redis.example.net:6379\n")),
            "f.yaml:7:15: routes[0].translator.domain: must be a DNS name or an IPv4 address (the "
            "Redis host of the bus) (got redis.example.net:6379)");
  EXPECT_EQ(errors_of(translator_route("      domain: -bad.example\n")),
            "f.yaml:7:15: routes[0].translator.domain: must be a DNS name or an IPv4 address (the "
            "Redis host of the bus) (got -bad.example)");
  EXPECT_EQ(errors_of(translator_route("      domain: \"::1\"\n")),
            "f.yaml:7:15: routes[0].translator.domain: must not be an IPv6 address: the domain is "
            "a field of bus addresses, where ':' separates fields; use a DNS name (got ::1)");
}

TEST(TranslatorConfig, UsernameAndRouterNameAreRedisKeyFields) {
  EXPECT_EQ(errors_of(with_domain("      username: a:b\n")),
            "f.yaml:8:17: routes[0].translator.username: must not contain ':', which separates "
            "the fields of the bus's Redis keys (got a:b)");
  EXPECT_EQ(errors_of(with_domain("      username: \"\"\n")),
            "f.yaml:8:17: routes[0].translator.username: must not be empty: it is a field of the "
            "bus's Redis keys (got \"\")");
  EXPECT_EQ(errors_of(with_domain("      router_name: \"router:x\"\n")),
            "f.yaml:8:20: routes[0].translator.router_name: must not contain ':', which "
            "separates the fields of the bus's Redis keys (got router:x)");
  EXPECT_EQ(errors_of(with_domain("      router_name: \"\"\n")),
            "f.yaml:8:20: routes[0].translator.router_name: must not be empty: it is a field of "
            "the bus's Redis keys (got \"\")");
}

TEST(TranslatorConfig, NumbersKeepToTheirRanges) {
  EXPECT_EQ(errors_of(with_domain("      port: 0\n")),
            "f.yaml:8:13: routes[0].translator.port: must be between 1 and 65535 (got 0)");
  EXPECT_EQ(errors_of(with_domain("      port: 65536\n")),
            "f.yaml:8:13: routes[0].translator.port: must be between 1 and 65535 (got 65536)");
  EXPECT_EQ(errors_of(with_domain("      max_sessions: 0\n")),
            "f.yaml:8:21: routes[0].translator.max_sessions: must be between 1 and 100000 (got "
            "0)");
  EXPECT_EQ(errors_of(with_domain("      max_message: 1023\n")),
            "f.yaml:8:20: routes[0].translator.max_message: must be between 1KiB and 64MiB (got "
            "1023)");
  EXPECT_EQ(errors_of(with_domain("      max_message: 65MiB\n")),
            "f.yaml:8:20: routes[0].translator.max_message: must be between 1KiB and 64MiB (got "
            "65MiB)");
}

TEST(TranslatorConfig, EmptyLogProtectEntryIsAnError) {
  EXPECT_EQ(errors_of(with_domain("      log_protect:\n"
                                  "        - open-ils.auth.\n"
                                  "        - \"\"\n")),
            "f.yaml:10:11: routes[0].translator.log_protect[1]: must not be empty: an empty "
            "prefix would redact every method (write [] to redact none) (got \"\")");
}

TEST(TranslatorConfig, TrustedProxiesErrorsSayWhatIsWrongAtTheEntry) {
  EXPECT_EQ(errors_of(with_domain("      trusted_proxies:\n"
                                  "        - 10.0.0.0/8\n"
                                  "        - 10.0.0.0/33\n"
                                  "        - 2001:db8::/129\n"
                                  "        - proxy.example.net\n"
                                  "        - 10.0.0.1/8\n"
                                  "        - 10.0.0.0/\n"
                                  "        - \"[::1]\"\n")),
            "f.yaml:10:11: routes[0].translator.trusted_proxies[1]: has a prefix length over 32, "
            "the bits of an IPv4 address (got 10.0.0.0/33)\n"
            "f.yaml:11:11: routes[0].translator.trusted_proxies[2]: has a prefix length over "
            "128, the bits of an IPv6 address (got 2001:db8::/129)\n"
            "f.yaml:12:11: routes[0].translator.trusted_proxies[3]: is not a numeric IPv4 or "
            "IPv6 address (names are not resolved; an IPv6 address has no brackets) (got "
            "proxy.example.net)\n"
            "f.yaml:13:11: routes[0].translator.trusted_proxies[4]: has address bits set after "
            "the /8 prefix (the network is 10.0.0.0/8) (got 10.0.0.1/8)\n"
            "f.yaml:14:11: routes[0].translator.trusted_proxies[5]: needs a prefix length "
            "(decimal digits) after / (got 10.0.0.0/)\n"
            "f.yaml:15:11: routes[0].translator.trusted_proxies[6]: is not a numeric IPv4 or "
            "IPv6 address (names are not resolved; an IPv6 address has no brackets) (got "
            "[::1])");
}

TEST(TranslatorConfig, PasswordFileIsReadWithOneTrailingNewlineRemoved) {
  auto password_of = [](const std::string& content) {
    const std::string file = write_file("redis.password", content);
    ConfigPtr config = load_text(with_domain("      password_file: " + file + "\n"));
    EXPECT_EQ(config->routes[0].translator.password_file, file);
    return config->routes[0].translator.password;
  };
  EXPECT_EQ(password_of("s3cret\n"), "s3cret");
  EXPECT_EQ(password_of("s3cret"), "s3cret");
  // Only one newline, and no '\r' or spaces: those bytes are the password's.
  EXPECT_EQ(password_of("s3cret\n\n"), "s3cret\n");
  EXPECT_EQ(password_of("s3cret\r\n"), "s3cret\r");
  EXPECT_EQ(password_of(" s3cret \n"), " s3cret ");
}

TEST(TranslatorConfig, RelativePasswordFileResolvesAgainstTheConfigDirectory) {
  const std::string config_path =
      write_file("wsgate.yaml", with_domain("      password_file: redis.password\n"));
  const std::string dir = std::filesystem::path(config_path).parent_path().string();
  {
    std::FILE* file = std::fopen((dir + "/redis.password").c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("pw\n", file);
    std::fclose(file);
  }
  ConfigPtr config = load_config(config_path);
  EXPECT_EQ(config->routes[0].translator.password_file, dir + "/redis.password");
  EXPECT_EQ(config->routes[0].translator.password, "pw");
}

TEST(TranslatorConfig, MissingPasswordFileNamesFileReasonAndKey) {
  const std::string missing = write_file("x", "") + ".absent";
  EXPECT_EQ(errors_of(with_domain("      password_file: " + missing + "\n")),
            missing +
                ": cannot read: No such file or directory (password file of "
                "routes[0].translator.password_file at f.yaml:8:22)");
  const std::string directory = std::filesystem::path(missing).parent_path().string();
  EXPECT_EQ(errors_of(with_domain("      password_file: " + directory + "\n")),
            directory +
                ": cannot read: Is a directory (password file of "
                "routes[0].translator.password_file at f.yaml:8:22)");
}

TEST(TranslatorConfig, EmptyPasswordIsAnError) {
  for (const char* content : {"", "\n"}) {
    const std::string file = write_file("redis.password", content);
    EXPECT_EQ(errors_of(with_domain("      password_file: " + file + "\n")),
              file +
                  ": holds no password; write it in the file, or set password_file: \"\" for no "
                  "AUTH (password file of routes[0].translator.password_file at f.yaml:8:22)");
  }
}

TEST(TranslatorConfig, PasswordFileIsNotReadForOtherRoutes) {
  EXPECT_EQ(errors_of(route("    translator:\n      password_file: /nonexistent/pw\n", "echo")),
            "f.yaml:6:5: routes[0].translator: is only read by routes whose relay is "
            "translator (got relay echo)");
}

TEST(TranslatorConfig, AllErrorsOfARouteAreReportedTogether) {
  EXPECT_EQ(errors_of(translator_route("      domain: bad!\n"
                                       "      username: a:b\n"
                                       "      trusted_proxies: [300.0.0.1]\n")),
            "f.yaml:7:15: routes[0].translator.domain: must be a DNS name or an IPv4 address (the "
            "Redis host of the bus) (got bad!)\n"
            "f.yaml:8:17: routes[0].translator.username: must not contain ':', which separates "
            "the fields of the bus's Redis keys (got a:b)\n"
            "f.yaml:9:25: routes[0].translator.trusted_proxies[0]: is not a numeric IPv4 or IPv6 "
            "address (names are not resolved; an IPv6 address has no brackets) (got 300.0.0.1)");
}

// -- parse_address_range ------------------------------------------------------

AddressRange parsed(std::string_view text) {
  std::string error;
  std::optional<AddressRange> range = parse_address_range(text, error);
  EXPECT_TRUE(range) << text << ": " << error;
  EXPECT_EQ(error, "");
  return range.value_or(AddressRange{});
}

std::string error_of(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_address_range(text, error)) << text;
  return error;
}

TEST(AddressRange, ParsesHostsAndNetworksOfBothFamilies) {
  AddressRange v4 = parsed("10.0.0.0/8");
  EXPECT_EQ(v4.family, AF_INET);
  EXPECT_EQ(v4.prefix, 8u);
  EXPECT_EQ(v4.bytes[0], 10);
  EXPECT_EQ(v4.text, "10.0.0.0/8");
  AddressRange host = parsed("192.0.2.7");
  EXPECT_EQ(host.family, AF_INET);
  EXPECT_EQ(host.prefix, 32u);
  EXPECT_EQ(host.bytes[3], 7);
  AddressRange loopback = parsed("::1");
  EXPECT_EQ(loopback.family, AF_INET6);
  EXPECT_EQ(loopback.prefix, 128u);
  EXPECT_EQ(loopback.bytes[15], 1);
  AddressRange doc = parsed("2001:db8::/32");
  EXPECT_EQ(doc.family, AF_INET6);
  EXPECT_EQ(doc.prefix, 32u);
  EXPECT_EQ(doc.bytes[0], 0x20);
  EXPECT_EQ(doc.bytes[3], 0xb8);
  EXPECT_EQ(parsed("0.0.0.0/0").prefix, 0u);
  EXPECT_EQ(parsed("::/0").prefix, 0u);
  EXPECT_EQ(parsed("10.0.0.0/032").prefix, 32u);
  EXPECT_EQ(parsed("172.16.0.0/12").prefix, 12u);
}

TEST(AddressRange, RefusalsSayWhatIsWrong) {
  EXPECT_EQ(error_of(""), "must be an IP address or ADDRESS/PREFIX, not empty");
  EXPECT_EQ(error_of("/8"), "needs a numeric IPv4 or IPv6 address before /");
  EXPECT_EQ(error_of("localhost"),
            "is not a numeric IPv4 or IPv6 address (names are not resolved; an IPv6 address has "
            "no brackets)");
  EXPECT_EQ(error_of("10.0.0"), error_of("localhost"));
  EXPECT_EQ(error_of("10.0.0.256"), error_of("localhost"));
  EXPECT_EQ(error_of("[::1]/128"), error_of("localhost"));
  EXPECT_EQ(error_of("fe80::1%eth0"), error_of("localhost"));
  EXPECT_EQ(error_of(" 10.0.0.1"), error_of("localhost"));
  EXPECT_EQ(error_of("10.0.0.0/33"), "has a prefix length over 32, the bits of an IPv4 address");
  EXPECT_EQ(error_of("::/129"), "has a prefix length over 128, the bits of an IPv6 address");
  EXPECT_EQ(error_of("10.0.0.0/"), "needs a prefix length (decimal digits) after /");
  EXPECT_EQ(error_of("10.0.0.0/-1"), "needs a prefix length (decimal digits) after /");
  EXPECT_EQ(error_of("10.0.0.0/+8"), "needs a prefix length (decimal digits) after /");
  EXPECT_EQ(error_of("10.0.0.0/8/8"), "needs a prefix length (decimal digits) after /");
  EXPECT_EQ(error_of("10.0.0.0/0008"), "needs a prefix length (decimal digits) after /");
  EXPECT_EQ(error_of("10.0.0.0/ 8"), "needs a prefix length (decimal digits) after /");
  EXPECT_EQ(error_of("10.0.0.1/8"),
            "has address bits set after the /8 prefix (the network is 10.0.0.0/8)");
  EXPECT_EQ(error_of("10.0.0.0/0"),
            "has address bits set after the /0 prefix (the network is 0.0.0.0/0)");
  EXPECT_EQ(error_of("2001:db8::1/32"),
            "has address bits set after the /32 prefix (the network is 2001:db8::/32)");
  EXPECT_EQ(error_of("172.31.0.0/12"),
            "has address bits set after the /12 prefix (the network is 172.16.0.0/12)");
}

// -- address_in_ranges --------------------------------------------------------

sockaddr_in ipv4(const char* text) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(40000);
  EXPECT_EQ(inet_pton(AF_INET, text, &address.sin_addr), 1) << text;
  return address;
}

sockaddr_in6 ipv6(const char* text) {
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(40000);
  EXPECT_EQ(inet_pton(AF_INET6, text, &address.sin6_addr), 1) << text;
  return address;
}

std::vector<AddressRange> ranges(std::initializer_list<std::string_view> texts) {
  std::vector<AddressRange> out;
  for (std::string_view text : texts) out.push_back(parsed(text));
  return out;
}

template <typename Address>
bool in(const std::vector<AddressRange>& list, const Address& address) {
  return address_in_ranges(list, reinterpret_cast<const sockaddr*>(&address));
}

TEST(AddressInRanges, MatchesIPv4PrefixesBitByBit) {
  const auto list = ranges({"10.0.0.0/8", "192.0.2.7", "172.16.0.0/12"});
  EXPECT_TRUE(in(list, ipv4("10.0.0.0")));
  EXPECT_TRUE(in(list, ipv4("10.255.255.255")));
  EXPECT_FALSE(in(list, ipv4("11.0.0.0")));
  EXPECT_FALSE(in(list, ipv4("9.255.255.255")));
  EXPECT_TRUE(in(list, ipv4("192.0.2.7")));
  EXPECT_FALSE(in(list, ipv4("192.0.2.6")));
  EXPECT_FALSE(in(list, ipv4("192.0.2.8")));
  EXPECT_TRUE(in(list, ipv4("172.16.0.1")));
  EXPECT_TRUE(in(list, ipv4("172.31.255.255")));
  EXPECT_FALSE(in(list, ipv4("172.32.0.0")));
  EXPECT_FALSE(in(list, ipv4("172.15.255.255")));
}

TEST(AddressInRanges, MatchesIPv6Prefixes) {
  const auto list = ranges({"2001:db8::/32", "::1", "fc00::/7"});
  EXPECT_TRUE(in(list, ipv6("2001:db8::1")));
  EXPECT_TRUE(in(list, ipv6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(in(list, ipv6("2001:db9::")));
  EXPECT_TRUE(in(list, ipv6("::1")));
  EXPECT_FALSE(in(list, ipv6("::2")));
  EXPECT_TRUE(in(list, ipv6("fc00::1")));
  EXPECT_TRUE(in(list, ipv6("fdff::1")));
  EXPECT_FALSE(in(list, ipv6("fe00::1")));
  // IPv4 peers never match IPv6 ranges.
  EXPECT_FALSE(in(list, ipv4("127.0.0.1")));
}

TEST(AddressInRanges, IPv4MappedIPv6PeerMatchesIPv4Ranges) {
  const auto list = ranges({"10.0.0.0/8", "127.0.0.1"});
  EXPECT_TRUE(in(list, ipv6("::ffff:10.1.2.3")));
  EXPECT_TRUE(in(list, ipv6("::ffff:127.0.0.1")));
  EXPECT_FALSE(in(list, ipv6("::ffff:11.1.2.3")));
  // Only the mapped form carries an IPv4 address: not ::a.b.c.d, nor
  // anything else whose last four bytes happen to match.
  EXPECT_FALSE(in(list, ipv6("::10.1.2.3")));
  EXPECT_FALSE(in(list, ipv6("2001:db8::a01:203")));
  // A mapped range written as IPv6 matches mapped peers too.
  EXPECT_TRUE(in(ranges({"::ffff:0:0/96"}), ipv6("::ffff:192.0.2.1")));
  EXPECT_FALSE(in(ranges({"::ffff:0:0/96"}), ipv4("192.0.2.1")));
}

TEST(AddressInRanges, ZeroPrefixMatchesItsWholeFamily) {
  const auto any4 = ranges({"0.0.0.0/0"});
  EXPECT_TRUE(in(any4, ipv4("0.0.0.0")));
  EXPECT_TRUE(in(any4, ipv4("255.255.255.255")));
  EXPECT_TRUE(in(any4, ipv6("::ffff:203.0.113.9")));
  EXPECT_FALSE(in(any4, ipv6("2001:db8::1")));
  const auto any6 = ranges({"::/0"});
  EXPECT_TRUE(in(any6, ipv6("2001:db8::1")));
  EXPECT_TRUE(in(any6, ipv6("::")));
  EXPECT_FALSE(in(any6, ipv4("203.0.113.9")));
}

TEST(AddressInRanges, NoRangesNoPeerOrAnotherFamilyMatchNothing) {
  EXPECT_FALSE(in(std::vector<AddressRange>{}, ipv4("127.0.0.1")));
  EXPECT_FALSE(address_in_ranges(ranges({"0.0.0.0/0", "::/0"}), nullptr));
  sockaddr_un unix_peer{};
  unix_peer.sun_family = AF_UNIX;
  EXPECT_FALSE(in(ranges({"0.0.0.0/0", "::/0"}), unix_peer));
}

}  // namespace
}  // namespace wsgate::config
