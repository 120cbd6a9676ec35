// The connection-state events of a Connection (common/events.h): what each
// carries, written into the worker's event feed. The members are listed
// in docs/events.md; every event has event, id, time, peer and route
// (null until a route is known).
#include "common/events.h"
#include "config/config.h"
#include "worker/connection.h"
#include "worker/event_feed.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

std::string_view path_of(const config::RouteConfig* route) {
  return route ? std::string_view(route->path) : std::string_view();
}

}  // namespace

std::string Connection::id() const {
  return format_connection_id(worker().instance(), sequence_);
}

void Connection::event_accepted(std::string_view listener) {
  EventJson event(worker().event_feed(), "accepted", worker().instance(), sequence_, peer_.sa, "");
  event.text("listener", listener).boolean("tls", tls_ != nullptr);
  worker().event_written(event.finish());
}

void Connection::event_upgraded(std::string_view extensions) {
  EventJson event(worker().event_feed(), "upgraded", worker().instance(), sequence_, peer_.sa,
                  route_->path);
  event.text("relay", route_->relay)
      .text_or_null("subprotocol",
                    subprotocol_ >= 0 ? std::string_view(route_->subprotocols[subprotocol_]) : "")
      .text("extensions", extensions);
  if (tls_ && tls_->session.handshake_done()) {
    event.begin_object("tls")
        .text("version", tls_->session.version())
        .text("cipher", tls_->session.cipher())
        .text_or_null("sni", tls_->session.server_name())
        .text_or_null("alpn", tls_->session.alpn())
        .boolean("resumed", tls_->session.resumed())
        .text_or_null("client_subject", tls_->session.client_subject())
        .end_object();
  } else {
    event.null("tls");
  }
  worker().event_written(event.finish());
}

void Connection::event_refused(int status, std::string_view reason,
                               const config::RouteConfig* route) {
  EventJson event(worker().event_feed(), "refused", worker().instance(), sequence_, peer_.sa,
                  path_of(route));
  event.number("status", static_cast<uint64_t>(status)).text("reason", reason);
  if (exchange_ && !exchange_->request_line.empty()) {
    event.text("request", exchange_->request_line);
  }
  worker().event_written(event.finish());
}

void Connection::event_closed() {
  EventJson event(worker().event_feed(), "closed", worker().instance(), sequence_, peer_.sa,
                  path_of(route_));
  event.number("status", static_cast<uint64_t>(http_status_))
      .number("code", close_code_)
      .text("cause", close_cause_name(cause_))
      .text("closed_by", http_status_ == 101 && closed_by_client_ ? "client" : "server")
      .number("duration_ms", worker().now() - accepted_at_)
      .number("bytes_in", bytes_in_)
      .number("bytes_out", bytes_out_)
      .number("messages_in", messages_in_)
      .number("messages_out", messages_out_);
  worker().event_written(event.finish());
}

}  // namespace wsgate
