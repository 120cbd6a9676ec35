// One client connection: handshake, echo route, close handshake, teardown.
#include "worker/connection.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/log.h"
#include "config/config.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

ws::Limits frame_limits(const config::LimitsConfig& limits) {
  ws::Limits out;
  out.max_frame = limits.max_frame;
  out.max_message = limits.max_message;
  out.max_fragments = limits.max_fragments;
  return out;
}

http::HeadLimits head_limits(const config::LimitsConfig& limits) {
  http::HeadLimits out;
  out.max_request_line = limits.max_request_line;
  out.max_header_bytes = limits.max_header_bytes;
  out.max_headers = limits.max_headers;
  return out;
}

// The stats counter a refused handshake or plain request falls under.
void count_refusal(WorkerStats& stats, int status) {
  switch (status) {
    case 403:
      ++stats.handshakes_failed_forbidden;
      break;
    case 404:
      ++stats.handshakes_failed_not_found;
      break;
    case 408:
      ++stats.handshakes_failed_timeout;
      break;
    case 414:
    case 431:
      ++stats.handshakes_failed_too_large;
      break;
    case 426:
      ++stats.handshakes_failed_version;
      break;
    default:
      ++stats.handshakes_failed_bad_request;
      break;
  }
}

CloseCause cause_for_error(uint16_t code) {
  switch (code) {
    case ws::close_code::kMessageTooBig:
      return CloseCause::TooBig;
    case ws::close_code::kPolicyViolation:
      return CloseCause::Policy;
    default:
      return CloseCause::ProtocolError;
  }
}

}  // namespace

std::string_view close_cause_name(CloseCause cause) {
  switch (cause) {
    case CloseCause::None:
      return "none";
    case CloseCause::Client:
      return "client";
    case CloseCause::Http:
      return "http";
    case CloseCause::HandshakeTimeout:
      return "handshake_timeout";
    case CloseCause::Idle:
      return "idle";
    case CloseCause::PingTimeout:
      return "ping_timeout";
    case CloseCause::ProtocolError:
      return "protocol_error";
    case CloseCause::TooBig:
      return "too_big";
    case CloseCause::Policy:
      return "policy";
    case CloseCause::SlowConsumer:
      return "slow_consumer";
    case CloseCause::Drain:
      return "drain";
    case CloseCause::Shutdown:
      return "shutdown";
    case CloseCause::Error:
      return "error";
    case CloseCause::Tls:
      return "tls";
  }
  return "unknown";
}

Connection::Connection(Worker& worker)
    : worker_(worker),
      control_bucket_(worker.config().limits.control_frames_per_second,
                      worker.config().limits.control_frames_burst) {
  tcp_.data = this;
  phase_hook.owner = activity_hook.owner = keepalive_hook.owner = this;
  pressure_hook.owner = all_hook.owner = this;
}

int Connection::accept(uv_stream_t* server) {
  int rc = uv_tcp_init(worker_.loop(), &tcp_);
  if (rc != 0) return rc;
  worker_.all_.push_back(all_hook);
  accepted_at_ = phase_since_ = worker_.now();
  worker_.handshaking.push_back(phase_hook);
  rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_));
  if (rc != 0) return rc;
  int len = sizeof(peer_);
  uv_tcp_getpeername(&tcp_, &peer_.sa, &len);
  uv_tcp_nodelay(&tcp_, 1);
  head_parser_ = std::make_unique<http::RequestHeadParser>(head_limits(worker_.config().limits));
  return uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read);
}

void Connection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  *buf = static_cast<Connection*>(handle->data)->worker_.read_buffer();
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<Connection*>(stream->data);
  try {
    self->handle_read(nread, buf);
  } catch (const std::exception& e) {
    // Only allocation can throw here; the connection cannot go on, and its
    // corked output must not reach the next connection that flushes.
    error_log().error("connection: {}", e.what());
    self->worker_.discard_corked_output();
    self->abort(CloseCause::Error);
  }
}

void Connection::handle_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0) return;
  if (nread < 0) {
    end_of_stream(nread);
    return;
  }
  auto* data = reinterpret_cast<uint8_t*>(buf->base);
  const size_t size = static_cast<size_t>(nread);
  if (tls_) {
    handle_tls_bytes(data, size);
  } else {
    handle_bytes(data, size);
  }
  flush();
}

void Connection::end_of_stream(ssize_t nread) {
  // EOF or a socket error. In Closing this is the expected end.
  if (tls_ && !tls_->handshake_done() && tls_->failure() == tls::HandshakeFailure::None) {
    ++worker_.stats().tls_handshakes_failed_closed;
    abort(CloseCause::Tls);
    return;
  }
  if (state_ == State::Open) {
    closed_by_client_ = true;
    close_code_ = ws::close_code::kAbnormal;
    abort(nread == UV_EOF ? CloseCause::Client : CloseCause::Error);
  } else {
    abort(cause_ != CloseCause::None ? cause_ : CloseCause::Client);
  }
}

void Connection::handle_bytes(uint8_t* data, size_t size) {
  switch (state_) {
    case State::Handshake:
      handle_handshake_bytes(data, size);
      break;
    case State::Open:
      last_inbound_ = worker_.now();
      if (keepalive_hook.linked()) {
        worker_.pong_due.remove(keepalive_hook);
        worker_.ping_due.move_to_back(keepalive_hook);
      }
      handle_frames(data, size);
      break;
    case State::Closing:
      // After our FIN only EOF matters; before it, the peer's Close does.
      if (!shutdown_sent_ && frames_) handle_frames(data, size);
      break;
    case State::Closed:
      break;
  }
}

void Connection::handle_handshake_bytes(uint8_t* data, size_t size) {
  size_t consumed = 0;
  switch (head_parser_->feed({data, size}, consumed)) {
    case http::RequestHeadParser::Status::NeedMore:
      return;
    case http::RequestHeadParser::Status::Error: {
      const http::HttpError& error = head_parser_->error();
      count_refusal(worker_.stats(), error.status);
      refuse(error.status, error.reason);
      return;
    }
    case http::RequestHeadParser::Status::Complete:
      answer_request(head_parser_->request(), data + consumed, size - consumed);
      return;
  }
}

void Connection::answer_request(const http::Request& request, uint8_t* tail, size_t tail_size) {
  const config::Config& cfg = worker_.config();
  WorkerStats& stats = worker_.stats();
  const config::RouteConfig* route = nullptr;
  for (const config::RouteConfig& candidate : cfg.routes) {
    if (candidate.path == request.path) {
      route = &candidate;
      break;
    }
  }

  if (!http::wants_upgrade(request)) {
    ++stats.http_requests;
    request_line_ =
        std::make_unique<std::string>(request.method + " " + escape_for_log(request.target, 128));
    const bool get_or_head = request.method == "GET" || request.method == "HEAD";
    if (!cfg.health_path.empty() && request.path == cfg.health_path && get_or_head) {
      refuse(200, "ok");
    } else if (route != nullptr) {
      refuse(426, "this is a WebSocket endpoint; send a WebSocket upgrade request");
    } else {
      refuse(404, "not found");
    }
    return;
  }

  std::optional<http::HttpError> error;
  if (route == nullptr) {
    error = http::HttpError{404, "no WebSocket route at this path"};
  } else if ((error = http::validate_upgrade(request))) {
  } else if (!http::origin_allowed(request.origin, route->origins)) {
    error = http::HttpError{403, "origin not allowed"};
  }
  if (error) {
    request_line_ =
        std::make_unique<std::string>(request.method + " " + escape_for_log(request.target, 128));
    count_refusal(stats, error->status);
    refuse(error->status, error->reason, error->status == 405 ? "Allow: GET\r\n" : "");
    return;
  }

  std::optional<std::string> protocol =
      http::select_subprotocol(request.protocols, route->subprotocols);
  if (protocol) {
    for (size_t i = 0; i < route->subprotocols.size(); ++i) {
      if (route->subprotocols[i] == *protocol) subprotocol_ = static_cast<int8_t>(i);
    }
  }
  const std::string accept = http::accept_key(request.key);
  if (accept.empty()) {
    // Only an OpenSSL failure (out of memory) gets here.
    refuse(500, "internal error");
    return;
  }
  out() += http::make_101_response(accept, protocol);
  ++stats.handshakes_ok;
  http_status_ = 101;
  route_ = route;
  head_parser_.reset();
  frames_.emplace(ws::Role::Server, frame_limits(cfg.limits));
  enter_state(State::Open);
  // WS-HS-11: bytes after the head belong to the frame parser only now.
  if (tail_size > 0) handle_frames(tail, tail_size);
}

void Connection::refuse(int status, std::string_view reason, std::string_view extra_headers) {
  http_status_ = status;
  cause_ = CloseCause::Http;
  std::string response = http::make_response(status, reason, extra_headers);
  if (request_line_ && request_line_->starts_with("HEAD ")) {
    response.resize(response.find("\r\n\r\n") + 4);
  }
  out() += response;
  head_parser_.reset();
  enter_state(State::Closing);
  shutdown_when_flushed();
}

void Connection::handshake_timed_out() {
  if (tls_ && !tls_->handshake_done()) {
    // No TLS session to carry a 408: the socket is just closed.
    ++worker_.stats().tls_handshakes_failed_timeout;
    abort(CloseCause::HandshakeTimeout);
    return;
  }
  count_refusal(worker_.stats(), 408);
  refuse(408, "request head not received in time");
  cause_ = CloseCause::HandshakeTimeout;
  flush();
}

void Connection::handle_frames(uint8_t* data, size_t size) {
  size_t offset = 0;
  while (offset < size && state_ != State::Closed && !shutdown_sent_) {
    ws::FrameEvent event;
    offset += frames_->parse({data + offset, size - offset}, event);
    if (frames_->in_message()) {
      const uint64_t now = worker_.now();
      if (message_started_ == 0) {
        message_started_ = now;
      } else if (now - message_started_ >
                 static_cast<uint64_t>(worker_.config().limits.message_timeout.count())) {
        // SEC-LIM-08: a fragmented message must complete in time. Checked
        // when its frames arrive; a silent one ends at the idle timeout.
        ws::FrameEvent timeout;
        timeout.kind = ws::FrameEvent::Kind::Error;
        timeout.close_code = ws::close_code::kPolicyViolation;
        timeout.reason = "fragmented message took too long";
        handle_frame_event(timeout);
        return;
      }
    } else {
      message_started_ = 0;
    }
    if (event.kind == ws::FrameEvent::Kind::None) break;
    handle_frame_event(event);
  }
  // The last message may still sit in the parser's buffer; an empty parse
  // frees it, so an idle connection holds no message memory.
  if (state_ != State::Closed && frames_) {
    ws::FrameEvent drained;
    frames_->parse({}, drained);
  }
}

void Connection::handle_frame_event(const ws::FrameEvent& event) {
  using Kind = ws::FrameEvent::Kind;
  if (close_.should_ignore(event.kind)) return;  // WS-CL-02
  WorkerStats& stats = worker_.stats();
  switch (event.kind) {
    case Kind::None:
      return;
    case Kind::Message:
      ++messages_in_;
      bytes_in_ += event.payload.size();
      ++stats.messages_in;
      stats.bytes_in += event.payload.size();
      last_message_ = worker_.now();
      worker_.idle.move_to_back(activity_hook);
      // The echo route: every message goes back as it came.
      send_frame(event.opcode, event.payload.data(), event.payload.size());
      ++messages_out_;
      bytes_out_ += event.payload.size();
      ++stats.messages_out;
      stats.bytes_out += event.payload.size();
      return;
    case Kind::Ping:
      if (!control_bucket_.take(worker_.now())) {
        start_close(ws::close_code::kPolicyViolation, "control frame flood", CloseCause::Policy);
        return;
      }
      send_frame(ws::Opcode::Pong, event.payload.data(), event.payload.size());
      return;
    case Kind::Pong:
      return;  // WS-CT-03; keepalive was refreshed by the read itself
    case Kind::Close:
      if (close_.on_close_received()) {
        // WS-CL-01: answer with the peer's code (1000 if it sent none).
        closed_by_client_ = true;
        close_code_ = event.close_code;
        cause_ = CloseCause::Client;
        send_close_frame(ws::CloseHandshake::reply_code(event.close_code), {});
        enter_state(State::Closing);
      }
      shutdown_when_flushed();
      return;
    case Kind::Error:
      // WS-CL-07: fail the connection with a code, then process nothing more.
      error_log().debug("closing connection: {} ({})", event.reason, event.close_code);
      if (!close_.close_sent()) {
        close_code_ = event.close_code;
        cause_ = cause_for_error(event.close_code);
        send_close_frame(event.close_code, event.reason);
      }
      enter_state(State::Closing);
      shutdown_when_flushed();
      return;
  }
}

void Connection::start_close(uint16_t code, std::string_view reason, CloseCause cause) {
  if (state_ == State::Closed || close_.close_sent()) return;
  if (state_ == State::Handshake) {
    abort(cause);
    return;
  }
  cause_ = cause;
  close_code_ = code;
  send_close_frame(code, reason);
  enter_state(State::Closing);
  flush();
}

void Connection::send_keepalive_ping() {
  if (state_ != State::Open) return;
  ping_sent_ = worker_.now();
  worker_.ping_due.remove(keepalive_hook);
  worker_.pong_due.push_back(keepalive_hook);
  send_frame(ws::Opcode::Ping, nullptr, 0);
  flush();
}

void Connection::abort(CloseCause cause) {
  if (state_ == State::Closed) return;
  if (cause_ == CloseCause::None) cause_ = cause;
  enter_state(State::Closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
}

void Connection::on_close(uv_handle_t* handle) noexcept {
  auto* self = static_cast<Connection*>(handle->data);
  if (self->tls_ && self->tls_->handshake_done()) --self->worker_.stats().tls_connections_active;
  self->write_access_log();
  self->worker_.connection_closed(self);
  delete self;
}

void Connection::enter_state(State state) {
  Worker& w = worker_;
  const uint64_t now = w.now();
  if (state == state_ && state != State::Handshake) return;
  switch (state) {
    case State::Handshake:
      break;
    case State::Open:
      w.handshaking.remove(phase_hook);
      last_message_ = last_inbound_ = now;
      w.idle.push_back(activity_hook);
      if (w.config().timeouts.ping_interval.count() > 0) w.ping_due.push_back(keepalive_hook);
      break;
    case State::Closing:
      leave_open_lists();
      phase_since_ = now;
      w.closing.push_back(phase_hook);
      break;
    case State::Closed:
      leave_open_lists();
      w.closing.remove(phase_hook);
      break;
  }
  state_ = state;
}

void Connection::leave_open_lists() {
  Worker& w = worker_;
  w.handshaking.remove(phase_hook);
  w.drain_pending.remove(phase_hook);
  w.idle.remove(activity_hook);
  w.ping_due.remove(keepalive_hook);
  w.pong_due.remove(keepalive_hook);
  w.backpressured.remove(pressure_hook);
}

// ---- output path ----------------------------------------------------------

std::string& Connection::out() {
  return tls_ ? worker_.tls_plain() : wire();
}

std::string& Connection::wire() {
  // Order matters: once anything waits in the queue, new bytes go after it.
  if (write_in_flight_ || !queued_.empty()) return queued_;
  return worker_.scratch();
}

void Connection::send_frame(ws::Opcode opcode, const uint8_t* data, size_t size) {
  ws::append_server_frame(out(), opcode, data, size);
}

void Connection::send_close_frame(uint16_t code, std::string_view reason) {
  const ws::ClosePayload payload = ws::make_close_payload(code, reason);
  send_frame(ws::Opcode::Close, payload.bytes, payload.size);
  close_.on_close_sent();
}

void Connection::flush() {
  std::string& scratch = worker_.scratch();
  if (state_ == State::Closed) {
    scratch.clear();
    worker_.tls_plain().clear();
    return;
  }
  if (tls_) {
    std::string& plain = worker_.tls_plain();
    if (cause_ == CloseCause::Tls) {
      // The session failed: nothing more can be encrypted, but the alert
      // OpenSSL queued in wire() still goes out before the FIN.
      plain.clear();
    } else if (!plain.empty()) {
      // Cleared before anything can throw, so no plaintext outlives this call.
      std::string pending;
      pending.swap(plain);
      const bool ok = tls_->write(pending, wire());
      if (pending.capacity() <= 4 * Worker::kReadBufferSize) {
        pending.clear();
        pending.swap(plain);  // keep the buffer for the next connection
      }
      if (!ok) {
        error_log().debug("TLS write failed: {}", tls_->error_text());
        scratch.clear();
        abort(CloseCause::Tls);
        return;
      }
    }
    // close_notify goes after the last record, before the FIN (clean close).
    if (shutdown_after_flush_ && cause_ != CloseCause::Tls) tls_->shutdown(wire());
  }
  if (!scratch.empty()) {
    // Nothing is queued or in flight (out() would have chosen queued_), so
    // a direct write keeps order and usually avoids any copy.
    uv_buf_t buf = uv_buf_init(scratch.data(), static_cast<unsigned>(scratch.size()));
    int written = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
    if (written == UV_EAGAIN) written = 0;
    if (written < 0) {
      scratch.clear();
      error_log().debug("uv_try_write to {}: {}", peer_text(), uv_strerror(written));
      abort(CloseCause::Error);
      return;
    }
    if (static_cast<size_t>(written) < scratch.size()) queued_.assign(scratch, written);
    scratch.clear();
    if (scratch.capacity() > 4 * Worker::kReadBufferSize) std::string().swap(scratch);
  }
  if (!write_in_flight_ && !queued_.empty()) start_write();
  if (state_ == State::Closed) return;
  after_queue_change();
  if (shutdown_after_flush_ && !shutdown_sent_ && !write_in_flight_ && queued_.empty() &&
      state_ != State::Closed) {
    shutdown_sent_ = true;
    shutdown_req_ = std::make_unique<uv_shutdown_t>();
    shutdown_req_->data = this;
    int rc = uv_shutdown(shutdown_req_.get(), reinterpret_cast<uv_stream_t*>(&tcp_), on_shutdown);
    if (rc != 0) {
      error_log().debug("uv_shutdown on {}: {}", peer_text(), uv_strerror(rc));
      abort(CloseCause::Error);
    }
  }
}

void Connection::start_write() {
  inflight_.swap(queued_);
  if (!write_req_) {
    write_req_ = std::make_unique<uv_write_t>();
    write_req_->data = this;
  }
  uv_buf_t buf = uv_buf_init(inflight_.data(), static_cast<unsigned>(inflight_.size()));
  int rc = uv_write(write_req_.get(), reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, on_write);
  if (rc != 0) {
    error_log().debug("uv_write to {}: {}", peer_text(), uv_strerror(rc));
    abort(CloseCause::Error);
    return;
  }
  write_in_flight_ = true;
}

void Connection::on_write(uv_write_t* req, int status) noexcept {
  auto* self = static_cast<Connection*>(req->data);
  self->write_in_flight_ = false;
  // An idle connection holds no output buffer.
  std::string().swap(self->inflight_);
  if (status < 0) {
    if (status != UV_ECANCELED) {
      error_log().debug("uv_write to {}: {}", self->peer_text(), uv_strerror(status));
      self->abort(CloseCause::Error);
    }
    return;
  }
  try {
    self->flush();
  } catch (const std::exception& e) {
    error_log().error("connection: {}", e.what());
    self->worker_.discard_corked_output();
    self->abort(CloseCause::Error);
    return;
  }
  // Caught up: the request is not needed until the kernel pushes back again.
  if (!self->write_in_flight_) self->write_req_.reset();
}

void Connection::after_queue_change() {
  const config::LimitsConfig& limits = worker_.config().limits;
  const uint64_t queued = queued_bytes();
  if (state_ == State::Open && queued > limits.write_queue_max) {
    // SEC-BP-02: past the hard cap the consumer is evicted.
    start_close(ws::close_code::kPolicyViolation, "slow consumer", CloseCause::SlowConsumer);
    return;
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (!read_paused_ && state_ == State::Open && queued > limits.write_queue_high) {
    // SEC-BP-01: stop reading the source that feeds this queue (for echo,
    // the client itself) until the client drains it below the low mark.
    uv_read_stop(stream);
    read_paused_ = true;
    above_high_since_ = worker_.now();
    worker_.backpressured.push_back(pressure_hook);
  } else if (read_paused_ && queued <= limits.write_queue_low) {
    read_paused_ = false;
    worker_.backpressured.remove(pressure_hook);
    int rc = uv_read_start(stream, on_alloc, on_read);
    if (rc != 0) {
      error_log().debug("uv_read_start on {}: {}", peer_text(), uv_strerror(rc));
      abort(CloseCause::Error);
    }
  }
}

void Connection::shutdown_when_flushed() {
  shutdown_after_flush_ = true;
}

void Connection::on_shutdown(uv_shutdown_t* req, int status) noexcept {
  auto* self = static_cast<Connection*>(req->data);
  if (status < 0) {
    if (status != UV_ECANCELED) {
      error_log().debug("uv_shutdown to {}: {}", self->peer_text(), uv_strerror(status));
    }
    self->abort(CloseCause::Error);
    return;
  }
  if (self->state_ == State::Closed) return;
  // Reading goes on until EOF (bounded by timeouts.close) so the kernel
  // never answers unread bytes with a reset. A paused reader resumes.
  if (self->read_paused_) {
    self->read_paused_ = false;
    const int rc =
        uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), on_alloc, on_read);
    if (rc != 0) {
      error_log().debug("uv_read_start on {}: {}", self->peer_text(), uv_strerror(rc));
      self->abort(CloseCause::Error);
    }
  }
}

std::string Connection::peer_text() const {
  char host[INET6_ADDRSTRLEN] = "-";
  int port = 0;
  if (peer_.sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &peer_.in4.sin_addr, host, sizeof(host));
    port = ntohs(peer_.in4.sin_port);
  } else if (peer_.sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &peer_.in6.sin6_addr, host, sizeof(host));
    port = ntohs(peer_.in6.sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

void Connection::write_access_log() const {
  if (!access_log_enabled()) return;
  const std::string_view route = route_ ? std::string_view(route_->path) : "-";
  const std::string_view protocol =
      route_ && subprotocol_ >= 0 ? std::string_view(route_->subprotocols[subprotocol_]) : "-";
  // Upgraded connections keep no copy of the request line; the route says
  // which path was asked for (the query string is not logged: SEC-LOG-02).
  std::string request = request_line_ ? *request_line_ : route_ ? "GET " + route_->path : "-";
  // TLS: version, cipher, the SNI name and how the session was resumed;
  // "-" for plain connections and handshakes that did not finish.
  const bool tls_done = tls_ && tls_->handshake_done();
  const std::string_view sni = tls_ && !tls_->server_name().empty() ? tls_->server_name() : "-";
  const std::string_view resumed = !tls_done          ? "-"
                                   : !tls_->resumed() ? "no"
                                   : tls_->resumed_by_ticket() ? "ticket"
                                                               : "cache";
  access_log().info(
      "remote={} request=\"{}\" status={} route={} subprotocol={} duration_ms={} "
      "messages_in={} bytes_in={} messages_out={} bytes_out={} close_code={} closed_by={} "
      "cause={} tls={} cipher={} sni={} resumed={}",
      peer_text(), request, http_status_, route, protocol, worker_.now() - accepted_at_,
      messages_in_, bytes_in_, messages_out_, bytes_out_, close_code_,
      http_status_ != 101 ? "server" : (closed_by_client_ ? "client" : "server"),
      close_cause_name(cause_), tls_done ? tls_->version() : "-",
      tls_done ? tls_->cipher() : "-", escape_for_log(sni, 255), resumed);
}

}  // namespace wsgate
