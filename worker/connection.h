// One client connection in a worker: the client stream, the HTTP exchange,
// the WebSocket session and the relay, composed. The state machine runs
// from accept through the HTTP handshake, the open WebSocket and the close
// handshake to the close of every handle. The Connection is freed when its
// last handle (the client socket, or one the relay holds) has closed.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "http/handshake.h"
#include "tls/tls_session.h"
#include "worker/intrusive_list.h"
#include "worker/relay.h"
#include "worker/stream.h"
#include "worker/ws_session.h"

namespace wsgate {

class StaticFile;
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
  Error,     // socket error or reset
  Tls,       // TLS handshake failed, or a fatal TLS error
  Upstream,  // the relay's backend closed, failed or could not be reached
};

std::string_view close_cause_name(CloseCause cause);

// What send_message() did with a message.
enum class SendResult : uint8_t {
  Queued,        // queued; the client keeps up
  Backpressure,  // queued, but the client's queue is above its high mark
  Dropped,       // not sent: the session is closing or closed
};

class Connection final : private StreamOwner {
 public:
  enum class State : uint8_t {
    Handshake,  // reading the HTTP request head, or answering it from a static route
    Open,       // WebSocket open
    Closing,    // Close sent and/or FIN sent; waiting for the peer
    Closed,     // every handle closing; freed when the last one has closed
  };

  explicit Connection(Worker& worker);
  ~Connection();  // only release() deletes a Connection
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Makes the connection speak TLS with `ctx` (SNI may switch it). Call
  // before accept(). Throws std::bad_alloc when OpenSSL cannot allocate.
  void use_tls(SSL_CTX* ctx);

  // Accepts the next connection from `server` (bound to `listener`, as
  // "IP:PORT", for the accepted event) and starts reading. Returns 0 or a
  // libuv error; on error the caller must abort() the connection.
  int accept(uv_stream_t* server, std::string_view listener);

  // Starts the WebSocket close handshake with `code` (1000..4999,
  // sendable) and `reason`: the Close frame is queued, reading goes on until
  // the peer answers or timeouts.close passes. Idempotent. Deferred while
  // relay code runs. Only an Open connection gets the Close frame: one
  // still reading its request head is aborted (no bytes), and one already
  // Closing (an HTTP answer sent, a failed TLS session) is left as it is.
  void start_close(uint16_t code, std::string_view reason, CloseCause cause);

  // Closes every handle now (unsent data is dropped). Idempotent.
  void abort(CloseCause cause);

  State state() const { return state_; }
  CloseCause cause() const { return cause_; }
  uint64_t queued_bytes() const;
  // Bytes held for unfinished incoming data: the WebSocket message being
  // assembled, and the relay's queues toward its backend.
  uint64_t incoming_bytes() const {
    return (ws_ ? ws_->buffered_bytes() : 0) + (relay_ ? relay_->buffered_bytes() : 0) +
           (input_deferred_ ? deferred_bytes() : 0);
  }
  // limits.worker_buffer_memory is exhausted and this connection holds the
  // most: closed with 1009 (and its unfinished message freed) when most of
  // what it holds is incoming, else with 1008.
  void close_over_budget(bool incoming);
  uint32_t requests_in_flight() const { return relay_ ? relay_->requests_in_flight() : 0; }
  uint32_t give_up_requests() { return relay_ ? relay_->give_up_requests() : 0; }
  // Relay::drains_at_once() of an open connection's relay; false before it has one.
  bool drains_at_once() const { return relay_ && relay_->drains_at_once(); }

  // Timer bookkeeping, read by Worker::tick(). Times are uv_now() ms.
  // Two stamps serve four lists, each stamp the key of the one list of its
  // group (see the hooks below) the connection is in: since the state
  // began (handshaking, closing) or the last message (idle, while Open);
  // the last inbound frame (ping_due) or the ping sent (pong_due).
  uint64_t phase_since() const { return phase_stamp_; }
  uint64_t last_message() const { return phase_stamp_; }
  uint64_t last_inbound() const { return keepalive_stamp_; }
  uint64_t ping_sent() const { return keepalive_stamp_; }
  uint64_t above_high_since() const { return above_high_since_; }

  // Sends a server ping (keepalive) and records when.
  void send_keepalive_ping();
  // Answers 408 and closes: the request head did not arrive in time.
  void handshake_timed_out();

  // ---- the relay API -------------------------------------------------------

  // Sends one message to the client. Counts as activity for the idle timer.
  SendResult send_message(ws::Opcode opcode, std::span<const uint8_t> payload);
  // Input the worker held for this connection since an earlier loop turn
  // (see feed_frames); called by the worker only.
  void feed_deferred(std::string& input) noexcept;
  // Client input the worker holds for this connection (see feed_frames).
  uint64_t deferred_bytes() const;
  // Pauses / resumes reading the client (backpressure from the backend).
  void pause_client_reads(Stream::PauseReason reason = Stream::kPausePeer);
  void resume_client_reads(Stream::PauseReason reason = Stream::kPausePeer);
  // Closes the client: start_close(), deferred until relay code returns.
  void close_client(uint16_t code, std::string_view reason, CloseCause cause);
  // Keeps the Connection alive until the matching release(): one per handle
  // or request the relay has open. release() may free the Connection, so it
  // is the last thing the caller does with it.
  void hold() { ++holds_; }
  void release();
  Worker& worker() const { return client_.worker(); }
  const config::RouteConfig& route() const { return *route_; }
  // "127.0.0.1:50000", for logs; the numeric host and the port apart.
  std::string peer_text() const;
  std::string peer_host() const;
  uint16_t peer_port() const;
  bool secure() const { return tls_ != nullptr; }  // a TLS listener's connection
  // "<worker instance>-<sequence>", unique in the daemon's life: in events
  // and on the access log line.
  std::string id() const;

  // ---- the static file API (worker/connection_static.cpp) -------------------
  // Used by this connection's StaticFile while the connection is still in
  // Handshake; the calls that write do nothing once it is not.

  // False once the connection left Handshake for another reason (a TLS
  // failure, a close): the rest of the answer is not wanted.
  bool static_answering() const { return state_ == State::Handshake; }
  // Queues the response head, whose `status` the access log reports.
  void static_head(std::string_view head, int status);
  // Queues file bytes of the body (counted as bytes_out in the access log).
  void static_body(std::string_view bytes);
  // True while the client's queue is above write_queue_high: the next chunk
  // waits for StaticFile::on_client_writable().
  bool static_backed_up() const { return client_.above_high(); }
  // Answers a plain error (or redirect) response, as refuse() does.
  void static_refuse(int status, std::string_view reason, std::string_view extra_headers = {});
  // The whole response is queued: FIN once it is written (timeouts.close
  // bounds that and the client's EOF, as for any plain answer).
  void static_finished();
  // The response cannot be completed (the file failed mid-body): closed now.
  void static_abort() { abort(CloseCause::Error); }

  // ---- from the WebSocket session ------------------------------------------

  void on_ws_message(ws::Opcode opcode, std::span<const uint8_t> payload);
  // Our Close is queued (a reply, or a protocol error): `code` and `cause`
  // are what the access log reports; closed_by_client for a peer Close.
  void on_ws_closing(uint16_t code, CloseCause cause, bool closed_by_client);
  // Where the session appends frames; call ws_wrote() after appending.
  ByteBuffer& ws_output();
  // False once no more client frames matter: closed, or our FIN is sent.
  bool accepts_frames() const { return state_ != State::Closed && !client_.shutdown_sent(); }
  void ws_wrote();
  uint64_t now() const;

  // Hooks for the worker's lists (see Worker). A connection is in one
  // phase list at a time (handshaking, idle, drain_pending or closing, as
  // its state goes) and in one keepalive list (ping_due, or pong_due while
  // a ping is unanswered), so each group shares one hook.
  ListHook<Connection> all_hook;
  SharedListHook<Connection> phase_hook;
  SharedListHook<Connection> keepalive_hook;
  ListHook<Connection> pressure_hook;

 private:
  // StreamOwner, for the client stream.
  void on_stream_read(Stream& stream, uint8_t* data, size_t size) noexcept override;
  void on_stream_end(Stream& stream, int status) noexcept override;
  void on_stream_pressure(Stream& stream, bool above) noexcept override;
  void on_stream_flush(Stream& stream) noexcept override;
  void on_stream_closed(Stream& stream) noexcept override;
  std::string describe(const Stream& stream) const override;

  void handle_read(uint8_t* data, size_t size);
  void end_of_stream(int status);
  // Plaintext input, from the socket or from the TLS filter.
  void handle_bytes(uint8_t* data, size_t size);
  // Frames for the WebSocket session; what it cannot take this loop turn
  // goes to the worker, which feeds it back through feed_deferred().
  void feed_frames(uint8_t* data, size_t size);
  void handle_tls_bytes(const uint8_t* data, size_t size);
  void tls_handshake_done();
  void tls_failed();
  void encrypt_output();
  void handle_handshake_bytes(uint8_t* data, size_t size);
  void answer_request(const http::Request& request, uint8_t* tail, size_t tail_size);
  // Answers the HTTP request with `status` and closes once it is sent; a
  // status of 400 and above is a refusal (the refused event names `route`,
  // the route the request was for, when one matched).
  void refuse(int status, std::string_view reason, std::string_view extra_headers = {},
              const config::RouteConfig* route = nullptr);
  // Answers a plain GET or HEAD (any method, in fact: StaticFile answers
  // 405 to the others) from the static route `route`.
  void serve_static(const config::RouteConfig& route, const http::Request& request);
  void static_pressure(bool above);
  void touch();
  void after_relay_call();

  void enter_state(State state);
  // Unlinks the connection from every list of the Handshake and Open states.
  void leave_open_lists();
  void admit_peer();
  void write_access_log() const;

  // connection_events.cpp: the connection-state events.
  void event_accepted(std::string_view listener);
  void event_upgraded(std::string_view extensions);
  void event_refused(int status, std::string_view reason, const config::RouteConfig* route);
  void event_closed();

  // What only the HTTP exchange needs, so an open WebSocket does not carry
  // it: freed at the upgrade. A connection answered over HTTP (refused, or
  // a static route) keeps it until it is freed, for its request line.
  struct Exchange {
    // Out of line, where StaticFile is complete.
    explicit Exchange(const http::HeadLimits& limits);
    ~Exchange();
    std::optional<http::RequestHeadParser> head_parser;  // until the head is parsed
    std::string request_line;  // "GET /path", kept for refused requests; empty otherwise
    std::unique_ptr<StaticFile> static_file;  // a static route's answer in progress
  };
  // A TLS listener's connection: the session, the plaintext waiting for
  // encryption, and when the first ClientHello byte came (uv_hrtime).
  struct Tls {
    explicit Tls(SSL_CTX* ctx) : session(ctx) {}
    tls::TlsSession session;
    ByteBuffer plain;
    uint64_t started_ns = 0;
  };

  // Members are ordered by alignment so that nothing is padding: an idle
  // connection's size is most of a worker's memory.
  Stream client_;

  uint64_t sequence_ = 0;  // the second part of id()
  uint64_t accepted_at_ = 0;
  uint64_t phase_stamp_ = 0;      // phase_since() / last_message()
  uint64_t keepalive_stamp_ = 0;  // last_inbound() / ping_sent()
  uint64_t above_high_since_ = 0;

  // Traffic, for the access log.
  uint64_t messages_in_ = 0;
  uint64_t messages_out_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;

  std::unique_ptr<Tls> tls_;  // TLS listeners only
  std::unique_ptr<Exchange> exchange_;
  std::unique_ptr<std::string> deferred_reason_;  // of a deferred close
  const config::RouteConfig* route_ = nullptr;
  std::optional<WsSession> ws_;  // from Open on
  std::unique_ptr<Relay> relay_;

  union {
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  } peer_{};
  uint32_t holds_ = 0;
  uint16_t close_code_ = 0;  // code we sent, or the peer's if they closed first
  uint16_t deferred_code_ = 0;
  uint16_t http_status_ = 0;
  State state_ = State::Handshake;
  CloseCause cause_ = CloseCause::None;
  CloseCause deferred_cause_ = CloseCause::None;
  uint8_t relay_depth_ = 0;   // > 0 while relay code runs
  uint8_t fds_reserved_ = 0;  // counted in the worker's fd budget (at most 1 + a relay's few)
  int8_t subprotocol_ = -1;   // index into route_->subprotocols
  bool closed_by_client_ : 1 = false;
  bool close_deferred_ : 1 = false;  // start_close() asked for while relay code ran
  bool peer_counted_ : 1 = false;    // counted in the worker's PeerLimits
  bool input_deferred_ : 1 = false;  // the worker holds input of ours (PMD-11)
  bool eof_deferred_ : 1 = false;    // close_notify came after that input
};

}  // namespace wsgate
