// The proxy relay: each WebSocket gets its own stream to an upstream (TCP,
// optionally TLS, or a Unix socket), as websockify does for noVNC, but with
// backpressure both ways and bounded memory. Client message payloads go to
// the upstream as bytes; upstream bytes come back as binary messages of at
// most upstream_message_max bytes.
//
// Life: start() (after the 101) resolves and connects; client messages
// that arrive meanwhile wait in a buffer bounded by the high mark. Connect
// failures (refused, timeouts.upstream_connect, DNS, TLS) close the client
// with 1014 and a reason naming the failure. Upstream EOF: what is queued
// for the client goes out, then Close 1000. Client Close: the upstream's
// write side is shut down and its EOF awaited, bounded by timeouts.close.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/route_stats.h"
#include "common/stats.h"
#include "tls/tls_session.h"
#include "worker/relay.h"
#include "worker/stream.h"

namespace wsgate {

namespace config {
struct UpstreamAddress;
struct ProxyConfig;
}  // namespace config

class ProxyRelay final : public BackendRelay, private StreamOwner {
 public:
  // `target` and `proxy` live in the worker's Config; `tls_context` is the
  // route's upstream client context, or null for plain upstreams.
  ProxyRelay(Connection& client, const config::UpstreamAddress& target,
             const config::ProxyConfig& proxy, SSL_CTX* tls_context);

  void start() override;
  void on_client_message(ws::Opcode opcode, std::span<const uint8_t> payload) override;
  void on_client_backpressure() override;
  void on_client_writable() override;
  void on_client_closed() override;
  void stop() override;
  unsigned extra_fds() const override { return 1; }
  uint64_t buffered_bytes() const override { return upstream_.queued_bytes() + pending_.size(); }
  void append_log_fields(std::string& out) const override;
  void on_connect_timeout() override;
  void on_linger_timeout() override;

 private:
  enum class Phase : uint8_t { Idle, Resolving, Connecting, TlsHandshake, Open, Done };
  enum class Failure : uint8_t { Refused, Timeout, Dns, Tls, Other };

  // StreamOwner, for the upstream stream.
  void on_stream_read(Stream& stream, uint8_t* data, size_t size) noexcept override;
  void on_stream_end(Stream& stream, int status) noexcept override;
  void on_stream_pressure(Stream& stream, bool above) noexcept override;
  void on_stream_connected(Stream& stream, int status) noexcept override;
  void on_stream_closed(Stream& stream) noexcept override;
  std::string describe(const Stream& stream) const override;

  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* result) noexcept;
  void resolved(int status, const addrinfo* result);
  void connect_tcp(const sockaddr* address);
  void connect_unix();
  void tls_input(const uint8_t* data, size_t size);
  void connected();
  void to_upstream(std::span<const uint8_t> bytes);
  void to_client(const uint8_t* data, size_t size);
  // A connect that failed: counted by `failure`, logged, client closed 1014.
  void fail(Failure failure, std::string_view detail);
  // A connected upstream that failed: logged, client closed 1014.
  void upstream_error(std::string_view detail);
  void close_upstream();
  void leave_connecting();
  bool connect_pending() const;  // resolving, connecting or in the TLS handshake

  const config::UpstreamAddress& target_;
  const config::ProxyConfig& proxy_;
  SSL_CTX* tls_context_;
  Stream upstream_;
  std::unique_ptr<uv_getaddrinfo_t> resolver_;  // while a lookup runs
  std::unique_ptr<tls::TlsSession> tls_;        // TLS upstreams, once connected
  std::string pending_;  // client bytes that arrived before the upstream was ready
  uint64_t connect_started_ns_ = 0;
  int64_t connect_us_ = -1;  // -1 until connected
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  Phase phase_ = Phase::Idle;
  bool counted_active_ = false;
  bool client_closed_ = false;
  bool pending_paused_client_ = false;  // pending_ above the high mark paused the client
  bool stopped_ = false;
  bool stop_after_connect_ = false;  // stop() came while pending_ waited for the connect
};

}  // namespace wsgate
