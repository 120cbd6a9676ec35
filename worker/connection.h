// One client connection in a worker: the state machine from accept through
// the HTTP handshake, the open WebSocket, the close handshake and the TCP
// close. The libuv close callback is the only place a Connection is freed.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/handshake.h"
#include "tls/tls_session.h"
#include "worker/intrusive_list.h"
#include "ws/close_handshake.h"
#include "ws/frame_parser.h"
#include "ws/frame_writer.h"
#include "ws/token_bucket.h"

namespace wsgate {

class Worker;
namespace config {
struct RouteConfig;
}

// Why a connection ended; picks the stats counter and the access-log text.
enum class CloseCause : uint8_t {
  None,
  Client,  // peer sent Close, or EOF
  Http,    // plain HTTP request answered, or handshake refused
  HandshakeTimeout,
  Idle,
  PingTimeout,
  ProtocolError,  // 1002, 1007
  TooBig,         // 1009
  Policy,         // 1008 (fragment count, control flood, slow fragments)
  SlowConsumer,
  Drain,
  Shutdown,
  Error,  // socket error or reset
  Tls,    // TLS handshake failed, or a fatal TLS error
};

std::string_view close_cause_name(CloseCause cause);

class Connection {
 public:
  enum class State : uint8_t {
    Handshake,  // reading the HTTP request head
    Open,       // WebSocket open
    Closing,    // Close sent and/or TCP shutdown sent; waiting for the peer
    Closed,     // uv_close() called; freed in the close callback
  };

  explicit Connection(Worker& worker);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Makes the connection speak TLS with `ctx` (SNI may switch it). Call
  // before accept(). Throws std::bad_alloc when OpenSSL cannot allocate.
  void use_tls(SSL_CTX* ctx);

  // Accepts the next connection from `server` and starts reading. Returns
  // 0 or a libuv error; on error the caller must abort() the connection.
  int accept(uv_stream_t* server);

  // Starts the WebSocket close handshake with `code` (1000..4999,
  // sendable) and `reason`: the Close frame is queued, reading goes on until
  // the peer answers or timeouts.close passes. Idempotent.
  void start_close(uint16_t code, std::string_view reason, CloseCause cause);

  // Closes the socket now (unsent data is dropped). Idempotent.
  void abort(CloseCause cause);

  State state() const { return state_; }
  CloseCause cause() const { return cause_; }
  uint64_t queued_bytes() const { return inflight_.size() + queued_.size(); }
  uint32_t requests_in_flight() const { return requests_in_flight_; }

  // Timer bookkeeping, read by Worker::tick(). Times are uv_now() ms.
  uint64_t phase_since() const { return phase_since_; }
  uint64_t last_message() const { return last_message_; }
  uint64_t last_inbound() const { return last_inbound_; }
  uint64_t ping_sent() const { return ping_sent_; }
  uint64_t above_high_since() const { return above_high_since_; }

  // Sends a server ping (keepalive) and records when.
  void send_keepalive_ping();

  // Hooks for the worker's lists (see Worker). phase: handshake or closing;
  // activity: idle/drain order; keepalive: ping or pong list.
  ListHook<Connection> phase_hook;
  ListHook<Connection> activity_hook;
  ListHook<Connection> keepalive_hook;
  ListHook<Connection> pressure_hook;
  ListHook<Connection> all_hook;

  // Answers 408 and closes: the request head did not arrive in time.
  void handshake_timed_out();

 private:
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_write(uv_write_t* req, int status) noexcept;
  static void on_shutdown(uv_shutdown_t* req, int status) noexcept;
  static void on_close(uv_handle_t* handle) noexcept;

  void handle_read(ssize_t nread, const uv_buf_t* buf);
  void end_of_stream(ssize_t nread);
  // Plaintext input, from the socket or from the TLS filter.
  void handle_bytes(uint8_t* data, size_t size);
  void handle_tls_bytes(const uint8_t* data, size_t size);
  void tls_handshake_done();
  void tls_failed();
  void handle_handshake_bytes(uint8_t* data, size_t size);
  void answer_request(const http::Request& request, uint8_t* tail, size_t tail_size);
  void refuse(int status, std::string_view reason, std::string_view extra_headers = {});
  void handle_frames(uint8_t* data, size_t size);
  void handle_frame_event(const ws::FrameEvent& event);

  // Output path. Bytes are appended to out(); flush() hands them to the
  // kernel (uv_try_write first, then one uv_write in flight at a time).
  // With TLS, out() is the worker's plaintext scratch, encrypted by flush()
  // into wire(); without, out() is wire().
  std::string& out();
  std::string& wire();
  void send_frame(ws::Opcode opcode, const uint8_t* data, size_t size);
  void send_close_frame(uint16_t code, std::string_view reason);
  void flush();
  void start_write();
  void after_queue_change();
  void shutdown_when_flushed();

  void enter_state(State state);
  // Unlinks the connection from every list of the Handshake and Open states.
  void leave_open_lists();
  void write_access_log() const;
  // "127.0.0.1:50000", for logs.
  std::string peer_text() const;

  Worker& worker_;
  uv_tcp_t tcp_;
  // Requests exist only while in use (a write in flight, the FIN), so an
  // idle connection does not carry their 270 bytes.
  std::unique_ptr<uv_write_t> write_req_;
  std::unique_ptr<uv_shutdown_t> shutdown_req_;
  State state_ = State::Handshake;
  bool write_in_flight_ = false;
  bool read_paused_ = false;
  bool shutdown_after_flush_ = false;
  bool shutdown_sent_ = false;
  CloseCause cause_ = CloseCause::None;
  uint16_t close_code_ = 0;  // code we sent, or the peer's if they closed first
  bool closed_by_client_ = false;
  uint32_t requests_in_flight_ = 0;

  uint64_t accepted_at_ = 0;
  uint64_t phase_since_ = 0;
  uint64_t last_message_ = 0;
  uint64_t last_inbound_ = 0;
  uint64_t ping_sent_ = 0;
  uint64_t above_high_since_ = 0;
  uint64_t message_started_ = 0;

  // Traffic, for the access log.
  uint64_t messages_in_ = 0;
  uint64_t messages_out_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  int http_status_ = 0;

  std::unique_ptr<tls::TlsSession> tls_;                   // TLS listeners only
  uint64_t tls_started_ns_ = 0;                           // first ClientHello byte (uv_hrtime)
  std::unique_ptr<http::RequestHeadParser> head_parser_;  // only during Handshake
  std::unique_ptr<std::string> request_line_;             // "GET /path", kept for refused requests
  int8_t subprotocol_ = -1;                               // index into route_->subprotocols
  union {
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  } peer_{};
  const config::RouteConfig* route_ = nullptr;
  std::optional<ws::FrameParser> frames_;  // from Open on
  ws::CloseHandshake close_;
  ws::TokenBucket control_bucket_;

  std::string inflight_;  // handed to uv_write, untouched until its callback
  std::string queued_;    // waiting for the write in flight to finish
};

}  // namespace wsgate
