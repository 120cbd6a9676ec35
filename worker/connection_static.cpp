// The static side of a connection: handing a plain request to its static
// route's StaticFile, and the small API that StaticFile answers through.
//
// A connection answering from a static route stays in Handshake (it has
// only its request to answer) but leaves the handshaking list, so
// limits.handshake_timeout does not cut a long download. What bounds it
// instead: a client whose queue stays above write_queue_high for
// write_queue_timeout is closed (the backpressured list, as for a slow
// WebSocket reader); a drain lets it finish up to timeouts.drain; a stop
// closes it at once; once the response is queued it is Closing, bounded by
// timeouts.close like every plain answer.
#include "common/log.h"
#include "worker/connection.h"
#include "worker/static_files.h"
#include "worker/worker_loop.h"

namespace wsgate {

// Defined here, where StaticFile is complete.
Connection::~Connection() = default;
Connection::Exchange::Exchange(const http::HeadLimits& limits)
    : head_parser(std::in_place, limits) {}
Connection::Exchange::~Exchange() = default;

void Connection::serve_static(const config::RouteConfig& route, const http::Request& request) {
  worker().handshaking.remove(*this);
  route_ = &route;  // for the access log
  exchange_->static_file = std::make_unique<StaticFile>(*this, route);
  exchange_->static_file->start(request);
  // The request lived in the parser; nothing reads it any more.
  exchange_->head_parser.reset();
}

void Connection::static_head(std::string_view head, int status) {
  if (state_ != State::Handshake) return;
  http_status_ = static_cast<uint16_t>(status);
  ws_output().append(head);
  ws_wrote();
}

void Connection::static_body(std::string_view bytes) {
  if (state_ != State::Handshake) return;
  bytes_out_ += bytes.size();
  ws_output().append(bytes);
  ws_wrote();
}

void Connection::static_refuse(int status, std::string_view reason,
                               std::string_view extra_headers) {
  if (state_ != State::Handshake) return;
  refuse(status, reason, extra_headers, route_);
}

void Connection::static_finished() {
  if (state_ != State::Handshake) return;
  cause_ = CloseCause::Http;
  enter_state(State::Closing);
  client_.shutdown_when_flushed();
}

// From on_stream_pressure (noexcept): nothing may leave it.
void Connection::static_pressure(bool above) {
  if (above) {
    if (state_ == State::Handshake && !pressure_hook.linked()) {
      above_high_since_ = worker().now();
      worker().backpressured.push_back(*this);
    }
    return;
  }
  worker().backpressured.remove(*this);
  try {
    exchange_->static_file->on_client_writable();
  } catch (const std::exception& e) {
    error_log().error("connection {}: {}", peer_text(), e.what());
    abort(CloseCause::Error);
  }
}

}  // namespace wsgate
