// Unit tests of relay: proxy routes: the routes[].proxy keys and
// timeouts.upstream_connect, their defaults, the token file read by the
// loader, and the exact text of every rule's error.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config/config.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

using testing::errors_of;
using testing::load_text;
using testing::write_file;
using Kind = UpstreamAddress::Kind;

// A config whose only route is /vnc with `relay` and then `body` (indented
// 4 spaces); the route item starts at 4:5, `body` on line 6.
std::string route(const std::string& body, const std::string& relay = "proxy") {
  return "listen:\n"
         "  - address: 127.0.0.1:0\n"
         "routes:\n"
         "  - path: /vnc\n"
         "    relay: " +
         relay + "\n" + body;
}

// route() with a proxy: map (at 6:5) holding `proxy` (indented 6 spaces,
// from line 7).
std::string proxy_route(const std::string& proxy) {
  return route("    proxy:\n" + proxy);
}

TEST(ProxyConfig, EchoRouteHasNoUpstream) {
  ConfigPtr config = load_text(route("", "echo"));
  const RouteConfig& r = config->routes[0];
  EXPECT_EQ(r.relay, "echo");
  EXPECT_EQ(r.proxy.upstream.kind, Kind::None);
  EXPECT_TRUE(r.proxy.token_file.empty());
  EXPECT_TRUE(r.subprotocols.empty());
  EXPECT_EQ(config->timeouts.upstream_connect, Duration(10000));
}

TEST(ProxyConfig, TcpUpstreamWithDefaults) {
  ConfigPtr config = load_text(proxy_route("      upstream: tcp://127.0.0.1:5900\n"));
  const RouteConfig& r = config->routes[0];
  EXPECT_EQ(r.relay, "proxy");
  EXPECT_EQ(r.proxy.upstream.kind, Kind::Tcp);
  EXPECT_EQ(r.proxy.upstream.host, "127.0.0.1");
  EXPECT_EQ(r.proxy.upstream.port, 5900);
  EXPECT_EQ(r.proxy.upstream.text, "tcp://127.0.0.1:5900");
  EXPECT_TRUE(r.proxy.token_file.empty());
  EXPECT_TRUE(r.proxy.tokens.empty());
  EXPECT_EQ(r.proxy.upstream_message_max, 64u * 1024);
  EXPECT_FALSE(r.proxy.tls.enabled);
  EXPECT_TRUE(r.proxy.tls.verify);
  EXPECT_TRUE(r.proxy.tls.ca.empty());
  EXPECT_TRUE(r.proxy.tls.server_name.empty());
  // websockify and noVNC select "binary".
  EXPECT_EQ(r.subprotocols, std::vector<std::string>{"binary"});
}

TEST(ProxyConfig, WrittenSubprotocolsAreKeptEvenEmpty) {
  EXPECT_EQ(load_text(route("    subprotocols: [rfb, binary]\n    proxy:\n      upstream: "
                            "tcp://h:1\n"))
                ->routes[0]
                .subprotocols,
            (std::vector<std::string>{"rfb", "binary"}));
  EXPECT_TRUE(load_text(route("    subprotocols: []\n    proxy:\n      upstream: tcp://h:1\n"))
                  ->routes[0]
                  .subprotocols.empty());
}

TEST(ProxyConfig, UpstreamForms) {
  const UpstreamAddress name =
      load_text(proxy_route("      upstream: tcp://vnc.example.net:65535\n"))
          ->routes[0]
          .proxy.upstream;
  EXPECT_EQ(name.host, "vnc.example.net");
  EXPECT_EQ(name.port, 65535);
  const UpstreamAddress v6 =
      load_text(proxy_route("      upstream: tcp://[::1]:1\n"))->routes[0].proxy.upstream;
  EXPECT_EQ(v6.kind, Kind::Tcp);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 1);
  const UpstreamAddress absolute =
      load_text(proxy_route("      upstream: unix:/run/vnc.sock\n"))->routes[0].proxy.upstream;
  EXPECT_EQ(absolute.kind, Kind::Unix);
  EXPECT_EQ(absolute.path, "/run/vnc.sock");
  EXPECT_EQ(absolute.text, "unix:/run/vnc.sock");
  // A relative socket path resolves against the config file's directory.
  ConfigPtr config = load_text(proxy_route("      upstream: unix:run/../vnc.sock\n"));
  const UpstreamAddress& relative = config->routes[0].proxy.upstream;
  EXPECT_EQ(relative.path, config->dir + "/vnc.sock");
  EXPECT_EQ(relative.text, "unix:run/../vnc.sock");
}

TEST(ProxyConfig, BadUpstreamSyntax) {
  EXPECT_EQ(errors_of(proxy_route("      upstream: 127.0.0.1:5900\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: must start with tcp:// or unix:, as in "
            "tcp://127.0.0.1:5900 or unix:/run/vnc.sock (got 127.0.0.1:5900)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://h:0\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: port must be a number from 1 to 65535 (got "
            "tcp://h:0)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://h:65536\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: port must be a number from 1 to 65535 (got "
            "tcp://h:65536)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://h\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: needs :PORT after the host (got tcp://h)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://:5900\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: needs a host before :PORT (got tcp://:5900)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://::1:5900\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: needs brackets around an IPv6 address, as in "
            "[::1]:5900 (got tcp://::1:5900)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://[::1]\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: needs :PORT after ] (got tcp://[::1])");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://a..b:1\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: has a host that is neither a DNS name nor an "
            "IP address (got tcp://a..b:1)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: 'unix:'\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: needs a socket path after unix: (got unix:)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: unix:///run/vnc.sock\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: must be unix:PATH without //, as in "
            "unix:/run/vnc.sock (got unix:///run/vnc.sock)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: unix:/" + std::string(120, 'x') + "\n")),
            "f.yaml:7:17: routes[0].proxy.upstream: has a socket path of 121 bytes once "
            "resolved; a Unix socket path is at most 107 (got unix:/" +
                std::string(54, 'x') + "...)");
}

TEST(ProxyConfig, ExactlyOneOfUpstreamAndTokenFile) {
  EXPECT_EQ(errors_of(route("")),
            "f.yaml:4:5: routes[0].proxy: set exactly one of upstream and token_file (got "
            "neither)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: \"\"\n      token_file: \"\"\n")),
            "f.yaml:6:5: routes[0].proxy: set exactly one of upstream and token_file (got "
            "neither)");
  const std::string tokens = write_file("tokens", "a: h:1\n");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://h:1\n      token_file: " + tokens + "\n")),
            "f.yaml:6:5: routes[0].proxy: set exactly one of upstream and token_file (got both)");
}

TEST(ProxyConfig, ProxySectionOnlyOnProxyRoutes) {
  EXPECT_EQ(errors_of(route("    proxy:\n      upstream: tcp://h:1\n", "echo")),
            "f.yaml:6:5: routes[0].proxy: is only read by routes whose relay is proxy (got relay "
            "echo)");
  EXPECT_EQ(errors_of(route("    proxy: {}\n", "echo")),
            "f.yaml:6:5: routes[0].proxy: is only read by routes whose relay is proxy (got relay "
            "echo)");
  // The default relay is echo.
  EXPECT_EQ(errors_of("listen:\n  - address: 127.0.0.1:0\nroutes:\n  - path: /a\n"
                      "    proxy:\n      tls:\n        enabled: true\n"),
            "f.yaml:5:5: routes[0].proxy: is only read by routes whose relay is proxy (got relay "
            "echo)");
  EXPECT_EQ(load_text(route("", "echo"))->routes[0].proxy.upstream.kind, Kind::None);
}

TEST(ProxyConfig, TokenFileIsReadByTheLoader) {
  const std::string tokens = write_file("tokens",
                                        "# desks\ndesk1: 10.0.0.5:5900\n"
                                        "desk2: unix:/run/vnc.sock\n");
  ConfigPtr config = load_text(proxy_route("      token_file: " + tokens + "\n"));
  const ProxyConfig& proxy = config->routes[0].proxy;
  EXPECT_EQ(proxy.upstream.kind, Kind::None);
  EXPECT_EQ(proxy.token_file, tokens);
  ASSERT_EQ(proxy.tokens.size(), 2u);
  EXPECT_EQ(proxy.tokens.at("desk1").host, "10.0.0.5");
  EXPECT_EQ(proxy.tokens.at("desk1").port, 5900);
  EXPECT_EQ(proxy.tokens.at("desk2").path, "/run/vnc.sock");
}

TEST(ProxyConfig, RelativeTokenFileResolvesAgainstTheConfigDirectory) {
  const std::string config_path = write_file("wsgate.yaml", proxy_route("      token_file: t\n"));
  const std::string dir = std::filesystem::path(config_path).parent_path().string();
  {
    std::FILE* file = std::fopen((dir + "/t").c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("a: h:1\n", file);
    std::fclose(file);
  }
  ConfigPtr config = load_config(config_path);
  EXPECT_EQ(config->routes[0].proxy.token_file, dir + "/t");
  EXPECT_EQ(config->routes[0].proxy.tokens.size(), 1u);
}

TEST(ProxyConfig, TokenFileErrorsNameTheFileLineAndTheKey) {
  const std::string tokens = write_file("tokens", "a: h:1\n\nb: x\na: h:2\n");
  EXPECT_EQ(errors_of(proxy_route("      token_file: " + tokens + "\n")),
            tokens +
                ":3: bad target \"x\" (want host:port or unix:/path) (token file of "
                "routes[0].proxy.token_file at f.yaml:7:19)\n" +
                tokens +
                ":4: token \"a\" repeats line 1 (token file of "
                "routes[0].proxy.token_file at f.yaml:7:19)");
}

TEST(ProxyConfig, MissingTokenFileNamesFileAndReason) {
  const std::string missing = write_file("x", "") + ".absent";
  EXPECT_EQ(errors_of(proxy_route("      token_file: " + missing + "\n")),
            missing +
                ": cannot read: No such file or directory (token file of "
                "routes[0].proxy.token_file at f.yaml:7:19)");
}

TEST(ProxyConfig, TokenFileIsNotReadForEchoRoutesOrBadRoutes) {
  // On an echo route the proxy map is the error; the file is not opened.
  EXPECT_EQ(errors_of(route("    proxy:\n      token_file: /nonexistent/tokens\n", "echo")),
            "f.yaml:6:5: routes[0].proxy: is only read by routes whose relay is proxy (got relay "
            "echo)");
}

TEST(ProxyConfig, UpstreamMessageMaxRange) {
  EXPECT_EQ(load_text(proxy_route("      upstream: tcp://h:1\n      upstream_message_max: 1KiB\n"))
                ->routes[0]
                .proxy.upstream_message_max,
            1024u);
  EXPECT_EQ(load_text(proxy_route("      upstream: tcp://h:1\n      upstream_message_max: 16MiB\n"))
                ->routes[0]
                .proxy.upstream_message_max,
            16u << 20);
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://h:1\n      upstream_message_max: 1023\n")),
            "f.yaml:8:29: routes[0].proxy.upstream_message_max: must be between 1KiB and 16MiB "
            "(got 1023)");
}

TEST(ProxyConfig, UpstreamConnectTimeout) {
  EXPECT_EQ(load_text(std::string(testing::kMinimal) + "timeouts:\n  upstream_connect: 100ms\n")
                ->timeouts.upstream_connect,
            Duration(100));
  EXPECT_EQ(errors_of(std::string(testing::kMinimal) + "timeouts:\n  upstream_connect: 11m\n"),
            "f.yaml:4:21: timeouts.upstream_connect: must be between 100ms and 10m (got 11m)");
}

TEST(ProxyConfig, TlsSettingsAreRead) {
  const std::string ca = write_file("ca.pem", "");
  ConfigPtr config =
      load_text(proxy_route("      upstream: tcp://10.0.0.5:5901\n"
                            "      tls:\n"
                            "        enabled: true\n"
                            "        ca: " +
                            ca +
                            "\n"
                            "        server_name: vnc.example.net\n"));
  const ProxyTlsConfig& tls = config->routes[0].proxy.tls;
  EXPECT_TRUE(tls.enabled);
  EXPECT_TRUE(tls.verify);
  EXPECT_EQ(tls.ca, ca);
  EXPECT_EQ(tls.server_name, "vnc.example.net");
  EXPECT_EQ(tls.origin.substr(tls.origin.find(':')), ":8:7: routes[0].proxy.tls");
  ConfigPtr unverified = load_text(proxy_route(
      "      upstream: tcp://h:1\n      tls:\n        enabled: true\n        verify: false\n"));
  EXPECT_FALSE(unverified->routes[0].proxy.tls.verify);
  EXPECT_TRUE(
      load_text(proxy_route("      upstream: tcp://h:1\n      tls:\n        enabled: "
                            "true\n        server_name: 192.0.2.1\n")));
}

TEST(ProxyConfig, TlsKeysNeedEnabled) {
  EXPECT_EQ(
      errors_of(proxy_route("      upstream: tcp://h:1\n      tls:\n        verify: false\n")),
      "f.yaml:9:17: routes[0].proxy.tls.verify: must not be set while "
      "routes[0].proxy.tls.enabled is false (got false)");
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://h:1\n      tls:\n        enabled: false\n"
                                  "        ca: /etc/ssl/ca.pem\n        server_name: a.test\n")),
            "f.yaml:10:13: routes[0].proxy.tls.ca: must not be set while "
            "routes[0].proxy.tls.enabled is false (got /etc/ssl/ca.pem)\n"
            "f.yaml:11:22: routes[0].proxy.tls.server_name: must not be set while "
            "routes[0].proxy.tls.enabled is false (got a.test)");
  // enabled: false alone is fine.
  EXPECT_TRUE(
      load_text(proxy_route("      upstream: tcp://h:1\n      tls:\n        enabled: false\n")));
}

TEST(ProxyConfig, CaIsNotUsedWithoutVerify) {
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://h:1\n      tls:\n        enabled: true\n"
                                  "        verify: false\n        ca: /etc/ssl/ca.pem\n")),
            "f.yaml:11:13: routes[0].proxy.tls.ca: is not used while routes[0].proxy.tls.verify "
            "is false (got /etc/ssl/ca.pem)");
}

TEST(ProxyConfig, ServerNameMustBeANameOrAnAddress) {
  EXPECT_EQ(errors_of(proxy_route("      upstream: tcp://h:1\n      tls:\n        enabled: true\n"
                                  "        server_name: '*.example.net'\n")),
            "f.yaml:10:22: routes[0].proxy.tls.server_name: must be a DNS name or an IP address "
            "(got *.example.net)");
}

TEST(ProxyConfig, VerifiedTlsToAUnixSocketNeedsAServerName) {
  EXPECT_EQ(errors_of(proxy_route("      upstream: unix:/run/vnc.sock\n      tls:\n"
                                  "        enabled: true\n")),
            "f.yaml:9:18: routes[0].proxy.tls.enabled: needs routes[0].proxy.tls.server_name with "
            "a unix: upstream, which has no host name to verify (or set verify: false) (got "
            "true)");
  EXPECT_TRUE(
      load_text(proxy_route("      upstream: unix:/run/vnc.sock\n      tls:\n"
                            "        enabled: true\n        server_name: vnc.test\n")));
  EXPECT_TRUE(
      load_text(proxy_route("      upstream: unix:/run/vnc.sock\n      tls:\n"
                            "        enabled: true\n        verify: false\n")));
  const std::string tokens = write_file("tokens", "a: h:1\nb: unix:/run/b.sock\n");
  EXPECT_EQ(errors_of(proxy_route("      token_file: " + tokens +
                                  "\n      tls:\n        enabled: true\n")),
            tokens +
                ":2: token \"b\" is a unix: target, which has no host name for TLS to "
                "verify; set routes[0].proxy.tls.server_name (or tls.verify: false) (token "
                "file of routes[0].proxy.token_file at f.yaml:7:19)");
}

TEST(ProxyConfig, ErrorsOfEveryRouteAreReportedTogether) {
  std::string text =
      "listen:\n  - address: 127.0.0.1:0\nroutes:\n"
      "  - path: /a\n    relay: proxy\n"
      "  - path: /b\n    relay: proxy\n    proxy:\n      upstream: tcp://b\n";
  EXPECT_EQ(errors_of(text),
            "f.yaml:4:5: routes[0].proxy: set exactly one of upstream and token_file (got "
            "neither)\n"
            "f.yaml:9:17: routes[1].proxy.upstream: needs :PORT after the host (got tcp://b)");
}

}  // namespace
}  // namespace wsgate::config
