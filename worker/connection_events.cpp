// The connection-state events of a Connection (common/events.h): what each
// carries, in JSON, handed to the worker's feed. The members are listed
// in docs/events.md; every event has event, id, time, peer and route
// (null until a route is known).
#include "common/events.h"
#include "common/json.h"
#include "config/config.h"
#include "worker/connection.h"
#include "worker/worker_loop.h"

namespace wsgate {

std::string Connection::id() const {
  return format_connection_id(worker_.instance(), sequence_);
}

void Connection::begin_event(JsonWriter& json, std::string_view event,
                             const config::RouteConfig* route) const {
  begin_event_json(json, event, id(), peer_text(),
                   route ? std::string_view(route->path) : std::string_view());
}

void Connection::emit_event(JsonWriter& json, const config::RouteConfig* route) {
  json.end_object();
  worker_.add_event(route ? std::string_view(route->path) : std::string_view(), json.str());
}

void Connection::event_accepted(std::string_view listener) {
  JsonWriter json;
  begin_event(json, "accepted", nullptr);
  json.field("listener", listener).field("tls", tls_ != nullptr);
  emit_event(json, nullptr);
}

void Connection::event_upgraded(std::string_view extensions) {
  JsonWriter json;
  begin_event(json, "upgraded", route_);
  json.field("relay", route_->relay);
  string_or_null(json, "subprotocol",
                 subprotocol_ >= 0 ? std::string_view(route_->subprotocols[subprotocol_]) : "");
  json.field("extensions", extensions);
  json.key("tls");
  if (tls_ && tls_->handshake_done()) {
    json.begin_object().field("version", tls_->version()).field("cipher", tls_->cipher());
    string_or_null(json, "sni", tls_->server_name());
    string_or_null(json, "alpn", tls_->alpn());
    json.field("resumed", tls_->resumed());
    string_or_null(json, "client_subject", tls_->client_subject());
    json.end_object();
  } else {
    json.null();
  }
  emit_event(json, route_);
}

void Connection::event_refused(int status, std::string_view reason,
                               const config::RouteConfig* route) {
  JsonWriter json;
  begin_event(json, "refused", route);
  json.field("status", status).field("reason", reason);
  if (request_line_) json.field("request", *request_line_);
  emit_event(json, route);
}

void Connection::event_closed() {
  JsonWriter json;
  begin_event(json, "closed", route_);
  json.field("status", http_status_)
      .field("code", close_code_)
      .field("cause", close_cause_name(cause_))
      .field("closed_by", http_status_ == 101 && closed_by_client_ ? "client" : "server")
      .field("duration_ms", worker_.now() - accepted_at_)
      .field("bytes_in", bytes_in_)
      .field("bytes_out", bytes_out_)
      .field("messages_in", messages_in_)
      .field("messages_out", messages_out_);
  emit_event(json, route_);
}

}  // namespace wsgate
