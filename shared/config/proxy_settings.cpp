// The proxy: section of a route (see proxy_settings.h).
#include "config/proxy_settings.h"

#include <array>

#include "config/file_reader.h"
#include "config/token_file.h"
#include "config/upstream_address.h"

namespace wsgate::config {
namespace {

constexpr std::string_view kProxy = "routes[].proxy";
constexpr std::string_view kUpstream = "routes[].proxy.upstream";
constexpr std::string_view kTokenFile = "routes[].proxy.token_file";
constexpr std::string_view kTls = "routes[].proxy.tls";
constexpr std::string_view kEnabled = "routes[].proxy.tls.enabled";
constexpr std::string_view kVerify = "routes[].proxy.tls.verify";
constexpr std::string_view kCa = "routes[].proxy.tls.ca";
constexpr std::string_view kServerName = "routes[].proxy.tls.server_name";

// True when verified TLS to `address` has no name to check: a Unix socket
// and no server_name.
bool lacks_tls_name(const ProxyTlsConfig& tls, const UpstreamAddress& address) {
  return tls.enabled && tls.verify && tls.server_name.empty() &&
         address.kind == UpstreamAddress::Kind::Unix;
}

// Reads and parses the token file; its errors are reported at the
// token_file key, each naming the key and where it was written.
void read_tokens(SectionReader& r, Diagnostics& errors, ProxyConfig& proxy) {
  const std::string named_by =
      " (token file of " + r.display(kTokenFile) + " at " + r.position(kTokenFile) + ")";
  std::string content;
  if (std::string why = read_whole_file(proxy.token_file, content); !why.empty()) {
    errors.add_message(r.where(kTokenFile), proxy.token_file + ": cannot read: " + why + named_by);
    r.mark_failed(kTokenFile);
    return;
  }
  TokenFile file = parse_token_file(content, proxy.token_file);
  for (const auto& [token, address] : file.tokens) {
    if (lacks_tls_name(proxy.tls, address)) {
      file.errors.push_back(proxy.token_file + ":" + std::to_string(file.lines[token]) +
                            ": token \"" + token +
                            "\" is a unix: target, which has no host name "
                            "for TLS to verify; set " +
                            r.display(kServerName) + " (or tls.verify: false)");
    }
  }
  for (std::string& error : file.errors) {
    errors.add_message(r.where(kTokenFile), std::move(error) + named_by);
  }
  if (!file.errors.empty()) r.mark_failed(kTokenFile);
  proxy.tokens = std::move(file.tokens);
}

void read_tls(SectionReader& r, ProxyTlsConfig& tls) {
  tls.enabled = r.boolean(kEnabled);
  tls.verify = r.boolean(kVerify);
  tls.ca = r.path(kCa);
  tls.server_name = r.text(kServerName);
  tls.origin = r.origin(kTls);
  if (!tls.enabled) {
    if (!r.ok(kEnabled)) return;
    for (std::string_view key : {kVerify, kCa, kServerName}) {
      if (!r.present(key)) continue;
      r.error(key, "must not be set while " + r.display(kEnabled) + " is false",
              got_text(key == kVerify ? (tls.verify ? "true" : "false")
                       : key == kCa   ? tls.ca
                                      : tls.server_name));
    }
    return;
  }
  if (!tls.verify && r.present(kCa) && !tls.ca.empty() && r.ok(kVerify)) {
    r.error(kCa, "is not used while " + r.display(kVerify) + " is false", got_text(tls.ca));
  }
  if (!tls.server_name.empty() && !is_host_name(tls.server_name) &&
      !is_ip_literal(tls.server_name)) {
    r.error(kServerName, "must be a DNS name or an IP address", got_text(tls.server_name));
  }
}

}  // namespace

void read_proxy(SectionReader& r, Diagnostics& errors, RouteConfig& route) {
  ProxyConfig& proxy = route.proxy;
  const std::string upstream = r.text(kUpstream);
  proxy.token_file = r.path(kTokenFile);
  proxy.upstream_message_max =
      static_cast<uint64_t>(r.number("routes[].proxy.upstream_message_max"));
  read_tls(r, proxy.tls);

  if (route.relay != "proxy") {
    if (r.present(kProxy) && r.ok("routes[].relay")) {
      r.error(kProxy, "is only read by routes whose relay is proxy",
              "relay " + got_text(route.relay));
    }
    proxy = ProxyConfig{};
    return;
  }
  if (!r.present("routes[].subprotocols")) route.subprotocols = {"binary"};

  if (!r.ok(kUpstream) || !r.ok(kTokenFile)) return;
  if (upstream.empty() == proxy.token_file.empty()) {
    r.error(kProxy, "set exactly one of upstream and token_file",
            upstream.empty() ? "neither" : "both");
    return;
  }
  if (!upstream.empty()) {
    Parsed<UpstreamAddress> address = parse_upstream(upstream, r.base_dir());
    if (!address) {
      r.error(kUpstream, address.error, got_text(upstream));
      return;
    }
    proxy.upstream = std::move(*address.value);
    if (lacks_tls_name(proxy.tls, proxy.upstream) && r.ok(kEnabled) && r.ok(kVerify)) {
      r.error(kEnabled,
              "needs " + r.display(kServerName) +
                  " with a unix: upstream, which has no host name to verify (or set verify: "
                  "false)",
              "true");
    }
    return;
  }
  read_tokens(r, errors, proxy);
}

}  // namespace wsgate::config
