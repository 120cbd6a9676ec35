// One client connection: the client stream, the HTTP exchange, the
// session and the relay (see connection.h).
#include "worker/connection.h"

#include <arpa/inet.h>

#include <cstring>
#include <utility>

#include "common/address_text.h"
#include "common/log.h"
#include "config/config.h"
#include "worker/static_files.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

http::HeadLimits head_limits(const config::LimitsConfig& limits) {
  http::HeadLimits out;
  out.max_request_line = limits.max_request_line;
  out.max_header_bytes = limits.max_header_bytes;
  out.max_headers = limits.max_headers;
  return out;
}

// The WebSocket route of `path`: an exact match, else the longest
// scripts_dir route whose path is a prefix of it at a segment boundary.
// Static routes are not WebSocket routes (find_static_route() has them).
const config::RouteConfig* find_route(const config::Config& cfg, std::string_view path) {
  const config::RouteConfig* best = nullptr;
  for (const config::RouteConfig& route : cfg.routes) {
    if (route.is_static()) continue;
    if (route.path == path) return &route;
    if (route.relay != "exec" || route.exec.scripts_dir.empty()) continue;
    const std::string_view prefix = route.path;
    if (!path.starts_with(prefix)) continue;
    if (prefix.back() != '/' && path.size() > prefix.size() && path[prefix.size()] != '/') continue;
    if (best == nullptr || best->path.size() < prefix.size()) best = &route;
  }
  return best;
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

// The connection whose client input feed_frames() is handing to its
// session, or null. Its send_message() leaves the worker's outbound
// counters and the idle clock to feed_frames(), which moves them once when
// the session returns; every other send_message() (from a backend's read,
// a timer, a relay's start, or a message of another connection) moves its
// own. A worker is one thread with one loop, so one pointer serves it.
Connection* feeding_connection = nullptr;

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
    case CloseCause::Upstream:
      return "upstream";
  }
  return "unknown";
}

Connection::Connection(Worker& worker) : client_(worker, *this) {}

int Connection::accept(uv_stream_t* server, std::string_view listener) {
  sequence_ = worker().next_connection_sequence();
  worker().all.push_back(*this);
  worker().reserve_fds(1);
  fds_reserved_ = 1;
  accepted_at_ = phase_stamp_ = worker().now();
  worker().handshaking.push_back(*this);
  int rc = client_.init(Stream::Kind::Tcp);
  if (rc != 0) return rc;
  hold();  // released by the client stream's close callback
  rc = client_.accept(server);
  if (rc != 0) return rc;
  int len = sizeof(peer_);
  uv_tcp_getpeername(client_.tcp(), &peer_.sa, &len);
  event_accepted(listener);
  exchange_ = std::make_unique<Exchange>(head_limits(worker().config().limits));
  rc = client_.start_reading();
  if (rc == 0 && worker().peer_limits().enabled()) admit_peer();
  return rc;
}

// SEC-LIM-11, SEC-LIM-12: refused at once, before a byte is read. A plain
// client gets its answer while the rest of its request is read and
// dropped (refuse()); a TLS client is closed, since an answer would cost
// the handshake the limit is there to spare.
void Connection::admit_peer() {
  PeerKey key;
  if (!PeerKey::from_sockaddr(peer_.sa, key)) return;
  WorkerStats& stats = worker().stats();
  switch (worker().peer_limits().admit(key, worker().now())) {
    case PeerLimits::Verdict::Admit:
      peer_counted_ = true;
      return;
    case PeerLimits::Verdict::Untracked:
      ++stats.per_ip_untracked;
      return;
    case PeerLimits::Verdict::TooManyConnections:
      ++stats.refused_per_ip_connections;
      if (tls_) {
        // Closed unanswered; the refused event still says why.
        event_refused(503, "too many connections from this address (TLS: closed unanswered)",
                      nullptr);
        break;
      }
      refuse(503, "too many connections from this address", "Retry-After: 1\r\n");
      return;
    case PeerLimits::Verdict::TooManyHandshakes:
      ++stats.refused_per_ip_handshakes;
      if (tls_) {
        event_refused(429,
                      "too many connections per second from this address (TLS: closed "
                      "unanswered)",
                      nullptr);
        break;
      }
      refuse(429, "too many connections per second from this address", "Retry-After: 1\r\n");
      return;
  }
  abort(CloseCause::Http);
}

uint64_t Connection::now() const {
  return worker().now();
}

uint64_t Connection::queued_bytes() const {
  return client_.queued_bytes() + (tls_ ? tls_->plain.size() : 0);
}

void Connection::on_stream_read(Stream&, uint8_t* data, size_t size) noexcept {
  try {
    handle_read(data, size);
  } catch (const std::exception& e) {
    // Only allocation can throw here; the connection cannot go on. Its
    // output is its own, so nothing of it can reach another connection.
    error_log().error("connection {}: {}", peer_text(), e.what());
    abort(CloseCause::Error);
  }
}

void Connection::handle_read(uint8_t* data, size_t size) {
  if (tls_) {
    handle_tls_bytes(data, size);
  } else {
    handle_bytes(data, size);
  }
}

void Connection::on_stream_end(Stream&, int status) noexcept {
  end_of_stream(status);
}

void Connection::end_of_stream(int status) {
  // EOF or a socket error. In Closing this is the expected end.
  if (tls_ && !tls_->session.handshake_done() &&
      tls_->session.failure() == tls::HandshakeFailure::None) {
    ++worker().stats().tls_handshakes_failed_closed;
    abort(CloseCause::Tls);
    return;
  }
  if (state_ == State::Open) {
    closed_by_client_ = true;
    close_code_ = ws::close_code::kAbnormal;
    abort(status == UV_EOF ? CloseCause::Client : CloseCause::Error);
  } else {
    abort(cause_ != CloseCause::None ? cause_ : CloseCause::Client);
  }
}

void Connection::handle_bytes(uint8_t* data, size_t size) {
  switch (state_) {
    case State::Handshake:
      // While a static answer is under way, what else the client sends
      // (a pipelined request) is dropped: the connection closes after it.
      if (!exchange_->static_file) handle_handshake_bytes(data, size);
      break;
    case State::Open:
      keepalive_stamp_ = worker().now();
      if (keepalive_hook.linked()) {
        worker().pong_due.remove(*this);
        worker().ping_due.move_to_back(*this);
      }
      feed_frames(data, size);
      break;
    case State::Closing:
      // After our FIN only EOF matters; before it, the peer's Close does.
      if (accepts_frames() && ws_) feed_frames(data, size);
      break;
    case State::Closed:
      break;
  }
}

void Connection::feed_frames(uint8_t* data, size_t size) {
  if (input_deferred_) {
    // Earlier input is still waiting (TLS decrypts all of a read at once):
    // these bytes queue behind it, in order.
    worker().defer_input(*this, data, size);
    return;
  }
  // Every message reaches on_ws_message from this one call, and every
  // answer the relay sends meanwhile goes through send_message. The idle
  // clock and the worker's counters of both move once per read instead of
  // once per message: uv_now() cannot change inside a callback, so the
  // stamp is the same, and the timers and the stats reader run only
  // between callbacks, so they see the same values. The totals are added
  // by a destructor so that they are right, and feeding_connection is
  // restored, even when the session throws (std::bad_alloc). A connection's
  // feed_frames() never runs inside its own: its input comes from its read
  // callback or from the worker's deferred feed, both called by the loop.
  struct Batch {
    Connection& connection;
    Connection* const outer;
    const uint64_t messages_in;
    const uint64_t bytes_in;
    const uint64_t messages_out;
    const uint64_t bytes_out;
    ~Batch() {
      feeding_connection = outer;
      Connection& c = connection;
      if (c.messages_in_ == messages_in && c.messages_out_ == messages_out) return;
      WorkerStats& stats = c.worker().stats();
      stats.messages_in += c.messages_in_ - messages_in;
      stats.bytes_in += c.bytes_in_ - bytes_in;
      stats.messages_out += c.messages_out_ - messages_out;
      stats.bytes_out += c.bytes_out_ - bytes_out;
      c.touch();
    }
  };
  size_t used;
  {
    const Batch batch{.connection = *this,
                      .outer = std::exchange(feeding_connection, this),
                      .messages_in = messages_in_,
                      .bytes_in = bytes_in_,
                      .messages_out = messages_out_,
                      .bytes_out = bytes_out_};
    used = ws_->feed(data, size);
  }
  if (used == size) return;
  input_deferred_ = true;
  ++worker().stats().inflate_deferrals;
  worker().defer_input(*this, data + used, size - used);
  pause_client_reads(Stream::kPauseDeferred);
}

uint64_t Connection::deferred_bytes() const {
  return worker().deferred_bytes(*this);
}

void Connection::feed_deferred(std::string& input) noexcept {
  input_deferred_ = false;
  try {
    if (state_ == State::Open || state_ == State::Closing) {
      handle_bytes(reinterpret_cast<uint8_t*>(input.data()), input.size());
    }
  } catch (const std::exception& e) {
    // As in on_stream_read: only allocation can throw here.
    error_log().error("connection {}: {}", peer_text(), e.what());
    abort(CloseCause::Error);
    return;
  }
  if (input_deferred_) return;
  resume_client_reads(Stream::kPauseDeferred);
  const bool eof = eof_deferred_;
  eof_deferred_ = false;
  if (eof && (state_ == State::Open || state_ == State::Handshake)) end_of_stream(UV_EOF);
}

void Connection::handle_handshake_bytes(uint8_t* data, size_t size) {
  size_t consumed = 0;
  http::RequestHeadParser& parser = *exchange_->head_parser;
  switch (parser.feed({data, size}, consumed)) {
    case http::RequestHeadParser::Status::NeedMore:
      return;
    case http::RequestHeadParser::Status::Error: {
      const http::HttpError& error = parser.error();
      count_refusal(worker().stats(), error.status);
      refuse(error.status, error.reason);
      return;
    }
    case http::RequestHeadParser::Status::Complete:
      answer_request(parser.request(), data + consumed, size - consumed);
      return;
  }
}

void Connection::answer_request(const http::Request& request, uint8_t* tail, size_t tail_size) {
  const config::Config& cfg = worker().config();
  WorkerStats& stats = worker().stats();
  const config::RouteConfig* route = find_route(cfg, request.path);
  auto keep_request_line = [&] {
    exchange_->request_line = request.method + " " + escape_for_log(request.target, 128);
  };

  // An Upgrade to anything but websocket (curl --http2 sends h2c) is
  // ignored off WebSocket routes and under static ones, as RFC 9110 §7.8
  // lets a server do; on a WebSocket route alone it is a bad WebSocket
  // request (400 below).
  if (!http::wants_upgrade(request) ||
      (!request.upgrade_websocket &&
       (route == nullptr || find_static_route(cfg, request.path) != nullptr))) {
    ++stats.http_requests;
    keep_request_line();
    const bool get_or_head = request.method == "GET" || request.method == "HEAD";
    const bool health = !cfg.health_path.empty() && request.path == cfg.health_path;
    const config::RouteConfig* mount = health ? nullptr : find_static_route(cfg, request.path);
    if (health && get_or_head) {
      refuse(200, "ok");
    } else if (health) {
      refuse(405, "the health path answers GET and HEAD", "Allow: GET, HEAD\r\n");
    } else if (mount != nullptr) {
      serve_static(*mount, request);
    } else if (route != nullptr) {
      refuse(426, "this is a WebSocket endpoint; send a WebSocket upgrade request", {}, route);
    } else {
      refuse(404, "not found");
    }
    return;
  }

  std::optional<http::HttpError> error;
  std::string subprotocol_refusal;  // the reason error points at, when it is that
  if (route == nullptr) {
    error = http::HttpError{404, "no WebSocket route at this path"};
  } else if ((error = http::validate_upgrade(request))) {
  } else if (!http::origin_allowed(request.origin, route->origins)) {
    error = http::HttpError{403, "origin not allowed"};
    error_log().info("route {}: {}: origin {} not allowed", route->path, peer_text(),
                     request.origin ? escape_for_log(*request.origin) : std::string("(none)"));
  } else if (!request.protocols.empty() &&
             !http::select_subprotocol(request.protocols, route->subprotocols)) {
    // A 101 without Sec-WebSocket-Protocol would be failed by the client
    // (browsers and Node ws close with 1006); a 400 says why.
    subprotocol_refusal = http::unserved_subprotocols(request.protocols, route->subprotocols);
    error = http::HttpError{400, subprotocol_refusal};
    error_log().info("route {}: {}: {}", route->path, peer_text(),
                     escape_for_log(subprotocol_refusal));
  }
  std::unique_ptr<Relay> relay;
  if (!error) {
    route_ = route;
    relay = create_relay(*this, *route, request, error);
  }
  if (!error && relay->extra_fds() > 0) {
    // The fd budget counts what each relay really opens (SEC-LIM-10).
    if (!worker().reserve_fds(relay->extra_fds())) {
      ++stats.connections_shed;
      error = http::HttpError{503, "too many connections"};
    } else {
      fds_reserved_ = static_cast<uint8_t>(fds_reserved_ + relay->extra_fds());
    }
  }
  if (error) {
    route_ = nullptr;
    keep_request_line();
    count_refusal(stats, error->status);
    refuse(error->status, error->reason,
           error->status == 405                           ? "Allow: GET\r\n"
           : error->status == 503 || error->status == 429 ? "Retry-After: 1\r\n"
                                                          : "",
           route);
    return;
  }

  // From here the connection owns the relay, so that whatever open()
  // acquired is released by stop() even when the upgrade is refused.
  relay_ = std::move(relay);
  if ((error = relay_->open(request))) {
    keep_request_line();
    count_refusal(stats, error->status);
    refuse(error->status, error->reason,
           error->status == 429 || error->status == 503 ? "Retry-After: 1\r\n" : "", route);
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
  // permessage-deflate, when the route allows it and the worker's zlib
  // budget has room (past it, the connection simply goes uncompressed).
  std::optional<ws::DeflateParameters> deflate;
  const config::CompressionConfig& compression = route->compression;
  if (compression.enabled && !request.extensions.empty()) {
    if (cfg.limits.compression_memory == 0 ||
        ws::zlib_bytes_in_use() < cfg.limits.compression_memory) {
      deflate = ws::negotiate_deflate(request.extensions, deflate_policy(compression));
    } else {
      ++stats.compression_declined_memory;
    }
  }
  ws_output().append(http::make_101_response(accept, protocol, deflate ? deflate->response : ""));
  ws_wrote();
  ++stats.handshakes_ok;
  const uint64_t handshake_us = (worker().now() - accepted_at_) * 1000;
  stats.handshake_us_total += handshake_us;
  count_latency(handshake_us, stats.handshake_under_1ms, stats.handshake_under_10ms,
                stats.handshake_under_100ms, stats.handshake_under_1s, stats.handshake_over_1s);
  RouteStats& route_stats = worker().route_stats(*route);
  ++route_stats.upgrades;
  ++route_stats.connections_active;
  http_status_ = 101;
  event_upgraded(deflate ? std::string_view(deflate->response) : std::string_view());
  exchange_.reset();  // `request` lived in it: not used from here on
  ws_.emplace(*this, cfg.limits, config::message_limits(cfg.limits, *route));
  if (deflate) {
    ws_->enable_compression(
        std::make_unique<Compression>(compression, *deflate, worker().compression()));
    ++stats.compression_negotiated;
  }
  enter_state(State::Open);
  ++relay_depth_;
  relay_->start();
  --relay_depth_;
  after_relay_call();
  // WS-HS-11: bytes after the head belong to the frame parser only now.
  if (tail_size > 0 && state_ == State::Open) feed_frames(tail, tail_size);
}

void Connection::refuse(int status, std::string_view reason, std::string_view extra_headers,
                        const config::RouteConfig* route) {
  http_status_ = static_cast<uint16_t>(status);
  if (status >= 400) event_refused(status, reason, route);
  cause_ = CloseCause::Http;
  std::string response = http::make_response(status, reason, extra_headers);
  if (exchange_ && exchange_->request_line.starts_with("HEAD ")) {
    response.resize(response.find("\r\n\r\n") + 4);
  }
  ws_output().append(response);
  ws_wrote();
  if (exchange_) exchange_->head_parser.reset();
  enter_state(State::Closing);
  client_.shutdown_when_flushed();
}

void Connection::handshake_timed_out() {
  if (tls_ && !tls_->session.handshake_done()) {
    // No TLS session to carry a 408: the socket is just closed.
    ++worker().stats().tls_handshakes_failed_timeout;
    abort(CloseCause::HandshakeTimeout);
    return;
  }
  count_refusal(worker().stats(), 408);
  refuse(408, "request head not received in time");
  cause_ = CloseCause::HandshakeTimeout;
}

// ---- the session and the relay ---------------------------------------------

void Connection::on_ws_message(ws::Opcode opcode, std::span<const uint8_t> payload) {
  // The worker's counters and the idle clock: feed_frames() moves them
  // (every message comes from it).
  ++messages_in_;
  bytes_in_ += payload.size();
  ++relay_depth_;
  relay_->on_client_message(opcode, payload);
  --relay_depth_;
  // after_relay_call()'s first test, here: once per message, and almost
  // always false, so the call is almost never made.
  if (close_deferred_) after_relay_call();
}

SendResult Connection::send_message(ws::Opcode opcode, std::span<const uint8_t> payload) {
  if (state_ != State::Open || !ws_->may_send_data()) return SendResult::Dropped;
  const config::LimitsConfig& limits = worker().config().limits;
  // A reader is judged by whether it drains: one that had its queue below
  // the high mark takes a message of any size (max_message bounds it).
  const bool was_draining = queued_bytes() <= limits.write_queue_high;
  ws_->send_frame(opcode, payload);
  ++messages_out_;
  bytes_out_ += payload.size();
  if (feeding_connection != this) {
    // Outside this connection's feed_frames(), which counts its own.
    WorkerStats& stats = worker().stats();
    ++stats.messages_out;
    stats.bytes_out += payload.size();
    touch();
  }
  const uint64_t queued = queued_bytes();
  if (queued > limits.write_queue_max && !was_draining) {
    // SEC-BP-02: past the hard cap a consumer that was not draining is
    // evicted; one that was is bounded by the high mark, one message and
    // write_queue_timeout.
    close_client(ws::close_code::kPolicyViolation, "slow consumer", CloseCause::SlowConsumer);
    return SendResult::Backpressure;
  }
  return queued > limits.write_queue_high ? SendResult::Backpressure : SendResult::Queued;
}

void Connection::touch() {
  // The idle list is ordered by last_message(); an element already stamped
  // with this millisecond is still in order wherever it sits. Only a
  // connection in the idle list is stamped: the stamp is also the closing
  // list's key, which a message must not move.
  Worker& w = worker();
  const uint64_t t = w.now();
  if (phase_stamp_ == t || !w.idle.contains(*this)) return;
  phase_stamp_ = t;
  w.idle.move_to_back(*this);
}

void Connection::pause_client_reads(Stream::PauseReason reason) {
  client_.pause(reason);
}

void Connection::resume_client_reads(Stream::PauseReason reason) {
  client_.resume(reason);
}

void Connection::close_client(uint16_t code, std::string_view reason, CloseCause cause) {
  if (relay_depth_ > 0) {
    // Deferred until the relay code returns (Redis's connhelpers habit);
    // the first request wins.
    if (close_deferred_) return;
    close_deferred_ = true;
    deferred_code_ = code;
    deferred_cause_ = cause;
    deferred_reason_ = std::make_unique<std::string>(reason);
    return;
  }
  start_close(code, reason, cause);
}

void Connection::after_relay_call() {
  // close_deferred_ first: it is almost always false, and testing it alone
  // lets the compiler return before setting up the frame the close needs.
  if (!close_deferred_ || relay_depth_ > 0) return;
  close_deferred_ = false;
  const std::string reason = deferred_reason_ ? std::move(*deferred_reason_) : std::string();
  deferred_reason_.reset();
  start_close(deferred_code_, reason, deferred_cause_);
}

void Connection::on_ws_closing(uint16_t code, CloseCause cause, bool by_client) {
  if (cause != CloseCause::None) {
    close_code_ = code;
    cause_ = cause;
    closed_by_client_ = by_client;
  }
  if (state_ == State::Open) enter_state(State::Closing);
  client_.shutdown_when_flushed();
  if (relay_) {
    ++relay_depth_;
    relay_->on_client_closed();
    --relay_depth_;
    after_relay_call();
  }
}

void Connection::start_close(uint16_t code, std::string_view reason, CloseCause cause) {
  if (state_ == State::Closed || (ws_ && ws_->close_sent())) return;
  if (relay_depth_ > 0) {
    close_client(code, reason, cause);
    return;
  }
  if (state_ != State::Open) {
    // Only an open WebSocket gets a Close frame. One still reading its
    // request head has nothing to say goodbye with and is closed now. One
    // already Closing keeps what it has: an HTTP answer on its way, a
    // failed TLS session (no record may be written into it, and its cause
    // stays "tls") or a close handshake under way; timeouts.close bounds it.
    // A failed TLS session waits only for the client's EOF: it is closed
    // now, without a byte more.
    if (state_ == State::Handshake) abort(cause);
    if (state_ == State::Closing && cause_ == CloseCause::Tls) abort(cause_);
    return;
  }
  cause_ = cause;
  close_code_ = code;
  ws_->send_close(code, reason);
  enter_state(State::Closing);
  if (relay_) {
    ++relay_depth_;
    relay_->on_server_closing();
    --relay_depth_;
    after_relay_call();
  }
}

void Connection::close_over_budget(bool incoming) {
  if (state_ != State::Open || !ws_) return;
  if (incoming) {
    ws_->fail_and_discard(ws::close_code::kMessageTooBig, "worker buffer memory exhausted");
  } else {
    start_close(ws::close_code::kPolicyViolation, "worker buffer memory exhausted",
                CloseCause::Policy);
  }
}

void Connection::send_keepalive_ping() {
  if (state_ != State::Open) return;
  keepalive_stamp_ = worker().now();
  worker().ping_due.remove(*this);
  worker().pong_due.push_back(*this);
  ws_->send_frame(ws::Opcode::Ping, {});
}

void Connection::abort(CloseCause cause) {
  if (state_ == State::Closed) return;
  if (cause_ == CloseCause::None) cause_ = cause;
  enter_state(State::Closed);
  if (tls_) tls_->plain.clear();
  if (relay_) relay_->stop();
  if (exchange_ && exchange_->static_file) exchange_->static_file->cancel();
  // Without a handle (uv_tcp_init failed) no close callback will come.
  if (!client_.close()) {
    hold();
    release();
  }
}

void Connection::on_stream_closed(Stream&) noexcept {
  release();
}

void Connection::release() {
  if (--holds_ > 0) return;
  if (tls_ && tls_->session.handshake_done()) --worker().stats().tls_connections_active;
  if (http_status_ == 101) {
    // Per-route traffic is added once, here, to keep the message path short.
    RouteStats& route_stats = worker().route_stats(*route_);
    --route_stats.connections_active;
    route_stats.messages_in += messages_in_;
    route_stats.messages_out += messages_out_;
    route_stats.bytes_in += bytes_in_;
    route_stats.bytes_out += bytes_out_;
    if (cause_ == CloseCause::Upstream) ++route_stats.closes_upstream;
  }
  event_closed();
  write_access_log();
  if (peer_counted_) {
    PeerKey key;
    PeerKey::from_sockaddr(peer_.sa, key);
    worker().peer_limits().release(key, worker().now());
  }
  worker().release_fds(fds_reserved_);
  worker().connection_closed(this);
  delete this;
}

void Connection::on_stream_pressure(Stream&, bool above) noexcept {
  if (exchange_ && exchange_->static_file) {
    static_pressure(above);
    return;
  }
  if (state_ != State::Open || !relay_) return;
  ++relay_depth_;
  if (above) {
    above_high_since_ = worker().now();
    worker().backpressured.push_back(*this);
    relay_->on_client_backpressure();
  } else {
    worker().backpressured.remove(*this);
    relay_->on_client_writable();
  }
  --relay_depth_;
  after_relay_call();
}

void Connection::enter_state(State state) {
  Worker& w = worker();
  const uint64_t now = w.now();
  if (state == state_ && state != State::Handshake) return;
  switch (state) {
    case State::Handshake:
      break;
    case State::Open:
      w.handshaking.remove(*this);
      phase_stamp_ = keepalive_stamp_ = now;
      w.idle.push_back(*this);
      if (w.config().timeouts.ping_interval.count() > 0) w.ping_due.push_back(*this);
      break;
    case State::Closing:
      leave_open_lists();
      phase_stamp_ = now;
      w.closing.push_back(*this);
      break;
    case State::Closed:
      leave_open_lists();
      w.closing.remove(*this);
      break;
  }
  state_ = state;
}

void Connection::leave_open_lists() {
  Worker& w = worker();
  w.handshaking.remove(*this);
  w.drain_pending.remove(*this);
  w.idle.remove(*this);
  w.ping_due.remove(*this);
  w.pong_due.remove(*this);
  w.backpressured.remove(*this);
}

// ---- output path ----------------------------------------------------------

ByteBuffer& Connection::ws_output() {
  return tls_ ? tls_->plain : client_.output_buffer();
}

void Connection::ws_wrote() {
  // TLS plaintext is encrypted when the stream flushes; a large batch is
  // encrypted early so the queue's marks see it.
  if (tls_ && tls_->plain.size() >= Worker::kPlainBufferSize) {
    client_.flush();
    return;
  }
  client_.wrote();
}

std::string Connection::describe(const Stream&) const {
  return peer_text();
}

std::string Connection::peer_host() const {
  char host[INET6_ADDRSTRLEN] = "-";
  if (peer_.sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &peer_.in4.sin_addr, host, sizeof(host));
  } else if (peer_.sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &peer_.in6.sin6_addr, host, sizeof(host));
  }
  return host;
}

uint16_t Connection::peer_port() const {
  if (peer_.sa.sa_family == AF_INET) return ntohs(peer_.in4.sin_port);
  if (peer_.sa.sa_family == AF_INET6) return ntohs(peer_.in6.sin6_port);
  return 0;
}

std::string Connection::peer_text() const {
  return address_text(peer_.sa);
}

void Connection::write_access_log() const {
  if (!access_log_enabled()) return;
  const std::string_view route = route_ ? std::string_view(route_->path) : "-";
  const std::string_view protocol =
      route_ && subprotocol_ >= 0 ? std::string_view(route_->subprotocols[subprotocol_]) : "-";
  // Upgraded connections keep no copy of the request line; the route says
  // which path was asked for (the query string is not logged: SEC-LOG-02).
  std::string request = exchange_ && !exchange_->request_line.empty() ? exchange_->request_line
                        : route_                                      ? "GET " + route_->path
                                                                      : "-";
  // TLS: version, cipher, the SNI name and how the session was resumed;
  // "-" for plain connections and handshakes that did not finish.
  const bool tls_done = tls_ && tls_->session.handshake_done();
  const std::string_view sni =
      tls_ && !tls_->session.server_name().empty() ? tls_->session.server_name() : "-";
  const std::string_view resumed = !tls_done                           ? "-"
                                   : !tls_->session.resumed()          ? "no"
                                   : tls_->session.resumed_by_ticket() ? "ticket"
                                                                       : "cache";
  std::string relay_fields;
  if (relay_) relay_->append_log_fields(relay_fields);
  access_log().info(
      "id={} remote={} request=\"{}\" status={} route={} subprotocol={} duration_ms={} "
      "messages_in={} bytes_in={} messages_out={} bytes_out={} close_code={} closed_by={} "
      "cause={} tls={} cipher={} sni={} resumed={}{}",
      id(), peer_text(), request, http_status_, route, protocol, worker().now() - accepted_at_,
      messages_in_, bytes_in_, messages_out_, bytes_out_, close_code_,
      http_status_ != 101 ? "server" : (closed_by_client_ ? "client" : "server"),
      close_cause_name(cause_), tls_done ? tls_->session.version() : "-",
      tls_done ? tls_->session.cipher() : "-", escape_for_log(sni, 255), resumed, relay_fields);
}

}  // namespace wsgate
