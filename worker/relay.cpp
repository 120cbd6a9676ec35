// create_relay(): the one place that maps a route's relay kind to its class.
#include "worker/relay.h"

#include <string_view>

#include "config/config.h"
#include "http/percent_decode.h"
#include "tls/upstream_tls.h"
#include "worker/connection.h"
#include "worker/relays/console.h"
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

std::unique_ptr<Relay> create_translator(Connection& client, const config::RouteConfig& route,
                                         const http::Request& request,
                                         std::optional<http::HttpError>& refusal) {
  TranslatorBus* bus = client.worker().translator_bus(route);
  if (bus == nullptr) {
    refusal = http::HttpError{500, "translator bus not running"};
    return nullptr;
  }
  return std::make_unique<TranslatorRelay>(
      client, *bus, route.translator,
      TranslatorRelay::client_ip(client.peer_host(), route.translator, request));
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
  if (route.relay == "console") return std::make_unique<ConsoleRelay>(client);
  return std::make_unique<EchoRelay>(client);
}

}  // namespace wsgate
