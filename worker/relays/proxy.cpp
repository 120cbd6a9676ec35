// The proxy relay (see proxy.h).
#include "worker/relays/proxy.h"

#include <netdb.h>

#include <cstring>
#include <string>

#include "common/log.h"
#include "config/config.h"
#include "worker/connection.h"
#include "worker/worker_loop.h"

namespace wsgate {

ProxyRelay::ProxyRelay(Connection& client, const config::UpstreamAddress& target,
                       const config::ProxyConfig& proxy, SSL_CTX* tls_context)
    : BackendRelay(client),
      target_(target),
      proxy_(proxy),
      tls_context_(tls_context),
      upstream_(client.worker(), *this) {}

void ProxyRelay::start() {
  Worker& worker = client_.worker();
  ++worker.stats().proxy_connections_active;
  counted_active_ = true;
  connect_started_ns_ = uv_hrtime();
  connecting_since = worker.now();
  worker.upstream_connecting.push_back(*this);
  if (target_.kind == config::UpstreamAddress::Kind::Unix) {
    connect_unix();
    return;
  }
  // A numeric host connects at once; a name is resolved on libuv's thread
  // pool, never on the loop.
  sockaddr_storage address{};
  const std::string& host = target_.host;
  if (uv_ip4_addr(host.c_str(), target_.port, reinterpret_cast<sockaddr_in*>(&address)) == 0 ||
      uv_ip6_addr(host.c_str(), target_.port, reinterpret_cast<sockaddr_in6*>(&address)) == 0) {
    connect_tcp(reinterpret_cast<const sockaddr*>(&address));
    return;
  }
  phase_ = Phase::Resolving;
  resolver_ = std::make_unique<uv_getaddrinfo_t>();
  resolver_->data = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  const std::string port = std::to_string(target_.port);
  const int rc =
      uv_getaddrinfo(worker.loop(), resolver_.get(), on_resolved, host.c_str(), port.c_str(), &hints);
  if (rc != 0) {
    resolver_.reset();
    fail(Failure::Dns, std::string("name not resolved: ") + uv_strerror(rc));
    return;
  }
  client_.hold();  // released by on_resolved, which always runs
}

void ProxyRelay::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* result) noexcept {
  auto* self = static_cast<ProxyRelay*>(req->data);
  Connection& client = self->client_;
  self->resolver_.reset();
  try {
    self->resolved(status, result);
  } catch (const std::exception& e) {
    error_log().error("proxy {}: {}", self->target_.text, e.what());
    self->fail(Failure::Other, "internal error");
  }
  uv_freeaddrinfo(result);
  client.release();  // may free the connection and this relay
}

void ProxyRelay::resolved(int status, const addrinfo* result) {
  if (stopped_ || phase_ != Phase::Resolving) return;
  if (status != 0 || result == nullptr) {
    fail(Failure::Dns, std::string("name not resolved: ") +
                           (status != 0 ? uv_strerror(status) : "no address"));
    return;
  }
  // Like websockify, the first address the resolver gives is the one used.
  connect_tcp(result->ai_addr);
}

void ProxyRelay::connect_tcp(const sockaddr* address) {
  phase_ = Phase::Connecting;
  if (upstream_.init(Stream::Kind::Tcp) != 0) {
    fail(Failure::Other, "connect failed: cannot create a socket");
    return;
  }
  client_.hold();  // released by the upstream stream's close callback
  const int rc = upstream_.connect_tcp(address);
  if (rc != 0) {
    fail(rc == UV_ECONNREFUSED ? Failure::Refused : Failure::Other,
         std::string("connect failed: ") + uv_strerror(rc));
  }
}

void ProxyRelay::connect_unix() {
  phase_ = Phase::Connecting;
  if (upstream_.init(Stream::Kind::Pipe) != 0) {
    fail(Failure::Other, "connect failed: cannot create a socket");
    return;
  }
  client_.hold();
  upstream_.connect_pipe(target_.path.c_str());
}

void ProxyRelay::on_stream_connected(Stream&, int status) noexcept {
  if (stopped_ || status == UV_ECANCELED) return;
  if (status != 0) {
    const bool refused = status == UV_ECONNREFUSED || status == UV_ENOENT;
    fail(refused ? Failure::Refused : Failure::Other,
         std::string("connect failed: ") + uv_strerror(status));
    return;
  }
  upstream_.start_reading();
  if (tls_context_ == nullptr) {
    connected();
    return;
  }
  phase_ = Phase::TlsHandshake;
  try {
    const std::string& name = proxy_.tls.server_name.empty() ? target_.host : proxy_.tls.server_name;
    tls_ = std::make_unique<tls::TlsSession>(tls_context_, name);
    tls_input(nullptr, 0);  // the ClientHello
  } catch (const std::exception& e) {
    fail(Failure::Tls, std::string("TLS failed: ") + e.what());
  }
}

void ProxyRelay::connected() {
  leave_connecting();
  phase_ = Phase::Open;
  const uint64_t micros = (uv_hrtime() - connect_started_ns_) / 1000;
  connect_us_ = static_cast<int64_t>(micros);
  count(&WorkerStats::proxy_connects_ok, &RouteStats::proxy_connects_ok);
  count(&WorkerStats::proxy_connect_us_total, &RouteStats::proxy_connect_us_total, micros);
  WorkerStats& stats = client_.worker().stats();
  count_latency(micros, stats.proxy_connect_under_1ms, stats.proxy_connect_under_10ms,
                stats.proxy_connect_under_100ms, stats.proxy_connect_under_1s,
                stats.proxy_connect_over_1s);
  if (!pending_.empty()) {
    std::string waiting;
    waiting.swap(pending_);
    to_upstream({reinterpret_cast<const uint8_t*>(waiting.data()), waiting.size()});
  }
  if (pending_paused_client_) {
    pending_paused_client_ = false;
    client_.resume_client_reads(Stream::kPauseWaiting);
  }
  if (client_closed_) on_client_closed();
  if (stop_after_connect_) stop();
}

void ProxyRelay::on_client_message(ws::Opcode, std::span<const uint8_t> payload) {
  if (phase_ == Phase::Open) {
    to_upstream(payload);
    return;
  }
  if (phase_ == Phase::Done) return;
  // Not connected yet: keep the bytes, and stop reading the client once
  // they pass the high mark, as a full upstream queue would.
  pending_.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (!pending_paused_client_ &&
      pending_.size() > client_.worker().config().limits.write_queue_high) {
    pending_paused_client_ = true;
    client_.pause_client_reads(Stream::kPauseWaiting);
  }
}

void ProxyRelay::to_upstream(std::span<const uint8_t> bytes) {
  if (!upstream_.open() || upstream_.shutdown_wanted()) return;
  bytes_sent_ += bytes.size();
  count(&WorkerStats::proxy_bytes_to_upstream, &RouteStats::proxy_bytes_to_upstream, bytes.size());
  if (!tls_) {
    upstream_.write({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
    return;
  }
  if (!tls_->write({reinterpret_cast<const char*>(bytes.data()), bytes.size()},
                   upstream_.output_buffer())) {
    upstream_error(std::string("TLS write failed: ") + tls_->error_text());
    return;
  }
  upstream_.wrote();
}

void ProxyRelay::on_stream_read(Stream&, uint8_t* data, size_t size) noexcept {
  try {
    if (tls_) {
      tls_input(data, size);
    } else {
      to_client(data, size);
    }
  } catch (const std::exception& e) {
    error_log().error("proxy {}: {}", target_.text, e.what());
    upstream_error("internal error");
  }
}

void ProxyRelay::tls_input(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  uint8_t* plain = client_.worker().plain_buffer();
  while (upstream_.open()) {
    size_t got = 0;
    const tls::TlsSession::Result result =
        tls_->read(input, plain, Worker::kPlainBufferSize, got, upstream_.output_buffer());
    upstream_.wrote();
    if (phase_ == Phase::TlsHandshake && tls_->handshake_done()) connected();
    switch (result) {
      case tls::TlsSession::Result::Data:
        to_client(plain, got);
        continue;
      case tls::TlsSession::Result::NeedMore:
        return;
      case tls::TlsSession::Result::Closed:
        on_stream_end(upstream_, UV_EOF);
        return;
      case tls::TlsSession::Result::Error:
        if (phase_ == Phase::TlsHandshake) {
          fail(Failure::Tls, std::string("TLS failed: ") + tls_->error_text());
        } else {
          upstream_error(std::string("TLS error: ") + tls_->error_text());
        }
        return;
    }
  }
}

void ProxyRelay::to_client(const uint8_t* data, size_t size) {
  bytes_received_ += size;
  count(&WorkerStats::proxy_bytes_from_upstream, &RouteStats::proxy_bytes_from_upstream, size);
  // After the client's Close the upstream is only drained to its EOF.
  if (client_closed_) return;
  const size_t max = proxy_.upstream_message_max;
  for (size_t offset = 0; offset < size; offset += max) {
    const size_t n = std::min(max, size - offset);
    if (client_.send_message(ws::Opcode::Binary, {data + offset, n}) == SendResult::Dropped) return;
  }
}

void ProxyRelay::on_client_backpressure() {
  // The client's queue is full: stop reading what fills it.
  if (upstream_.open()) upstream_.pause(Stream::kPausePeer);
}

void ProxyRelay::on_client_writable() {
  if (upstream_.open()) upstream_.resume(Stream::kPausePeer);
}

void ProxyRelay::on_stream_pressure(Stream&, bool above) noexcept {
  // The upstream's queue is full: stop reading the client that fills it.
  if (above) {
    client_.pause_client_reads(Stream::kPausePeer);
  } else {
    client_.resume_client_reads(Stream::kPausePeer);
  }
}

void ProxyRelay::on_client_closed() {
  client_closed_ = true;
  if (phase_ != Phase::Open) {
    // Bytes the client sent before its Close wait for the connect:
    // connected() delivers them, then our EOF.
    if (connect_pending() && !pending_.empty()) return;
    // Nothing was exchanged yet, so there is no upstream EOF worth waiting for.
    if (phase_ != Phase::Done) stop();
    return;
  }
  // Half-close: the upstream hears our EOF and may still answer; its EOF
  // (or timeouts.close) ends the relay.
  if (tls_) {
    tls_->shutdown(upstream_.output_buffer());
    upstream_.wrote();
  }
  upstream_.shutdown_when_flushed();
}

void ProxyRelay::on_stream_end(Stream&, int status) noexcept {
  if (phase_ == Phase::Done) return;
  if (phase_ != Phase::Open) {
    // The upstream ended during the TLS handshake.
    fail(Failure::Tls, std::string("TLS failed: ") +
                           (status == UV_EOF ? "connection closed by the upstream"
                                             : uv_strerror(status)));
    return;
  }
  if (status != UV_EOF) {
    upstream_error(uv_strerror(status));
    return;
  }
  // EOF: what is queued for the client still goes out, then Close 1000.
  phase_ = Phase::Done;
  close_upstream();
  if (!client_closed_) client_.close_client(ws::close_code::kNormal, "upstream closed",
                                            CloseCause::Upstream);
}

void ProxyRelay::upstream_error(std::string_view detail) {
  if (phase_ == Phase::Done) return;
  phase_ = Phase::Done;
  count(&WorkerStats::proxy_upstream_errors, &RouteStats::proxy_upstream_errors);
  error_log().warn("route {}: upstream {} failed: {}", client_.route().path, target_.text, detail);
  close_upstream();
  client_.close_client(ws::close_code::kBadGateway, std::string("upstream error: ").append(detail),
                       CloseCause::Upstream);
}

void ProxyRelay::fail(Failure failure, std::string_view detail) {
  if (phase_ == Phase::Done) return;
  phase_ = Phase::Done;
  leave_connecting();
  switch (failure) {
    case Failure::Refused:
      count(&WorkerStats::proxy_connect_failures_refused,
            &RouteStats::proxy_connect_failures_refused);
      break;
    case Failure::Timeout:
      count(&WorkerStats::proxy_connect_failures_timeout,
            &RouteStats::proxy_connect_failures_timeout);
      break;
    case Failure::Dns:
      count(&WorkerStats::proxy_connect_failures_dns, &RouteStats::proxy_connect_failures_dns);
      break;
    case Failure::Tls:
      count(&WorkerStats::proxy_connect_failures_tls, &RouteStats::proxy_connect_failures_tls);
      break;
    case Failure::Other:
      count(&WorkerStats::proxy_connect_failures_other,
            &RouteStats::proxy_connect_failures_other);
      break;
  }
  error_log().warn("route {}: upstream {} {} (client {})", client_.route().path, target_.text,
                   detail, client_.peer_text());
  close_upstream();
  client_.close_client(ws::close_code::kBadGateway, std::string("upstream ").append(detail),
                       CloseCause::Upstream);
  if (stop_after_connect_) stop();  // the client had gone already
}

void ProxyRelay::on_connect_timeout() {
  fail(Failure::Timeout, "connect timed out");
}

bool ProxyRelay::connect_pending() const {
  return phase_ == Phase::Resolving || phase_ == Phase::Connecting || phase_ == Phase::TlsHandshake;
}

void ProxyRelay::stop() {
  if (stopped_) return;
  if (client_closed_ && connect_pending() && !pending_.empty()) {
    // Accepted bytes are not dropped because the client left first: the
    // connect goes on (bounded by timeouts.upstream_connect), connected()
    // delivers them and lingers, or fail() ends it.
    stop_after_connect_ = true;
    return;
  }
  stopped_ = true;
  leave_connecting();
  if (resolver_) uv_cancel(reinterpret_cast<uv_req_t*>(resolver_.get()));
  if (counted_active_) {
    counted_active_ = false;
    --client_.worker().stats().proxy_connections_active;
  }
  if (phase_ == Phase::Open && client_closed_ && upstream_.shutdown_wanted() && upstream_.open()) {
    // The client left after its Close: give the upstream timeouts.close to
    // read our EOF and end its side, so it is not cut with a reset.
    Worker& worker = client_.worker();
    linger_since = worker.now();
    worker.upstream_lingering.push_back(*this);
    return;
  }
  close_upstream();
}

void ProxyRelay::on_linger_timeout() {
  close_upstream();
}

void ProxyRelay::close_upstream() {
  Worker& worker = client_.worker();
  worker.upstream_lingering.remove(*this);
  upstream_.close();  // its close callback releases the connection
}

void ProxyRelay::leave_connecting() {
  client_.worker().upstream_connecting.remove(*this);
}

void ProxyRelay::on_stream_closed(Stream&) noexcept {
  client_.worker().upstream_lingering.remove(*this);
  client_.release();  // may free the connection and this relay
}

std::string ProxyRelay::describe(const Stream&) const {
  return "upstream " + target_.text;
}

void ProxyRelay::append_log_fields(std::string& out) const {
  out += " upstream=";
  out += target_.text;
  out += " upstream_connect_ms=";
  out += connect_us_ < 0 ? std::string("-") : std::to_string(connect_us_ / 1000);
  out += " upstream_bytes_sent=";
  out += std::to_string(bytes_sent_);
  out += " upstream_bytes_received=";
  out += std::to_string(bytes_received_);
}

}  // namespace wsgate
