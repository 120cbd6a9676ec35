// create_relay(): the one place that maps a route's relay kind to its class.
#include "worker/relay.h"

#include "config/config.h"
#include "worker/relays/echo.h"

namespace wsgate {

std::unique_ptr<Relay> create_relay(Connection& client, const config::RouteConfig& route,
                                    const http::Request&, std::optional<http::HttpError>&) {
  // The loader accepts only known relay names, so anything else is echo's.
  (void)route;
  return std::make_unique<EchoRelay>(client);
}

}  // namespace wsgate
