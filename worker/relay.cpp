// create_relay(): the one place that maps a route's relay kind to its class.
#include "worker/relay.h"

#include <string_view>

#include "common/log.h"
#include "config/config.h"
#include "config/translator_settings.h"
#include "http/percent_decode.h"
#include "tls/upstream_tls.h"
#include "worker/connection.h"
#include "worker/relays/echo.h"
#include "worker/relays/exec.h"
#include "worker/relays/proxy.h"
#include "worker/relays/translator.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

// The value of `name` in a query string (a=1&b=2), percent-decoded with
// '+' as a space, as websockify reads it (Python's parse_qs); nullopt when
// absent or malformed.
std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name || eq == std::string_view::npos) continue;
    std::optional<http::PercentDecoded> value = http::percent_decode(pair.substr(eq + 1), true);
    if (!value) return std::nullopt;
    return std::move(value->text);
  }
  return std::nullopt;
}

std::unique_ptr<Relay> create_proxy(Connection& client, const config::RouteConfig& route,
                                    const http::Request& request,
                                    std::optional<http::HttpError>& refusal) {
  const config::ProxyConfig& proxy = route.proxy;
  const config::UpstreamAddress* target = &proxy.upstream;
  if (!proxy.token_file.empty()) {
    // websockify's token lookup: ?token= in the query picks the target.
    const std::optional<std::string> token = query_value(request.query, "token");
    const auto found = token ? proxy.tokens.find(*token) : proxy.tokens.end();
    if (found == proxy.tokens.end()) {
      refusal = http::HttpError{404, token ? "unknown token" : "no token in the query"};
      return nullptr;
    }
    target = &found->second;
  }
  const config::Config& cfg = client.worker().config();
  const size_t index = static_cast<size_t>(&route - cfg.routes.data());
  const tls::UpstreamTls* contexts = client.worker().upstream_tls();
  SSL_CTX* tls_context = contexts != nullptr ? contexts->context(index) : nullptr;
  return std::make_unique<ProxyRelay>(client, *target, proxy, tls_context);
}

std::unique_ptr<Relay> create_exec(Connection& client, const config::RouteConfig& route,
                                   const http::Request& request,
                                   std::optional<http::HttpError>& refusal) {
  const config::ExecConfig& exec = route.exec;
  std::optional<ExecTarget> target = find_exec_target(exec, route.path, request.path);
  if (!target) {
    refusal = http::HttpError{404, "no such script"};
    return nullptr;
  }
  // websocketd's --maxforks: this route's children in this worker.
  if (client.worker().route_stats(route).exec_processes_running >= exec.max_processes) {
    refusal = http::HttpError{429, "too many processes on this route"};
    return nullptr;
  }
  return std::make_unique<ExecRelay>(client, exec, std::move(*target));
}

// Whether the numeric address `text` is in `ranges`.
bool trusted_address(const std::vector<config::AddressRange>& ranges, const std::string& text) {
  sockaddr_storage address{};
  if (uv_ip4_addr(text.c_str(), 0, reinterpret_cast<sockaddr_in*>(&address)) != 0 &&
      uv_ip6_addr(text.c_str(), 0, reinterpret_cast<sockaddr_in6*>(&address)) != 0) {
    return false;
  }
  return config::address_in_ranges(ranges, reinterpret_cast<const sockaddr*>(&address));
}

// The address the activity log names: the peer, or, when the peer is a
// trusted proxy, the nearest untrusted address of X-Forwarded-For (read
// from the right, as each proxy appends the address it saw).
std::string translator_client_ip(const Connection& client,
                                 const config::TranslatorConfig& translator,
                                 const http::Request& request) {
  std::string peer = client.peer_host();
  if (translator.trusted_proxies.empty() || !trusted_address(translator.trusted_proxies, peer))
    return peer;
  std::string forwarded;
  for (const auto& [name, value] : request.headers) {
    if (name != "x-forwarded-for") continue;
    if (!forwarded.empty()) forwarded += ',';
    forwarded += value;
  }
  std::string_view rest = forwarded;
  std::string chosen;
  while (!rest.empty()) {
    const size_t comma = rest.rfind(',');
    std::string_view entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (entry.empty()) continue;
    chosen = escape_for_log(entry, 64);
    if (!trusted_address(translator.trusted_proxies, chosen)) break;
  }
  return chosen.empty() ? peer : chosen;
}

std::unique_ptr<Relay> create_translator(Connection& client, const config::RouteConfig& route,
                                         const http::Request& request,
                                         std::optional<http::HttpError>& refusal) {
  TranslatorBus* bus = client.worker().translator_bus(route);
  if (bus == nullptr) {
    refusal = http::HttpError{500, "translator bus not running"};
    return nullptr;
  }
  return std::make_unique<TranslatorRelay>(client, *bus, route.translator,
                                           translator_client_ip(client, route.translator, request));
}

}  // namespace

void Relay::count(uint64_t WorkerStats::*worker_field, uint64_t RouteStats::*route_field,
                  uint64_t amount) {
  Worker& worker = client_.worker();
  worker.stats().*worker_field += amount;
  worker.route_stats(client_.route()).*route_field += amount;
}

std::unique_ptr<Relay> create_relay(Connection& client, const config::RouteConfig& route,
                                    const http::Request& request,
                                    std::optional<http::HttpError>& refusal) {
  // The loader accepts only these relay names.
  if (route.relay == "proxy") return create_proxy(client, route, request, refusal);
  if (route.relay == "exec") return create_exec(client, route, request, refusal);
  if (route.relay == "translator") return create_translator(client, route, request, refusal);
  return std::make_unique<EchoRelay>(client);
}

}  // namespace wsgate
