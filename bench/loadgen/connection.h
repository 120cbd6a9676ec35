// One client of the load: a slot that owns at most one TCP socket at a time
// (a new one after a reconnect) and runs the echo, connect or idle protocol
// on it. The slot lives for the whole run; each socket's uv_tcp_t is freed
// only in its close callback.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/byte_buffer.h"
#include "loadgen/results.h"
#include "loadgen/tls_client.h"
#include "loadgen/ws_handshake.h"
#include "ws/close_handshake.h"
#include "ws/frame_parser.h"

namespace wsgate::loadgen {

class Run;

class Connection {
 public:
  enum class State : uint8_t {
    Idle,          // no socket
    Connecting,    // TCP connect in progress
    TlsHandshake,  // wss: TLS handshake in progress
    WsHandshake,   // upgrade request sent, waiting for the 101
    Open,          // traffic (or holding, in idle mode)
    CloseSent,     // our Close is queued; waiting for the server's
    AwaitEof,      // both Closes seen; waiting for the server to close TCP
    Closing,       // uv_close called; the close callback will follow
  };

  Connection(Run& run, uint32_t index);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens a new socket and starts connecting. Called by Run when a connect
  // slot is free; the slot is held until the handshake ends either way.
  void connect();

  // Run is ending: an open connection sends Close 1000 and waits for the
  // server's; one still connecting is closed without counting an error.
  void begin_close();
  // Closes the socket now, whatever its state. No error is counted.
  void abort();
  // Applies the timeouts of the current state (connect and handshake 10 s,
  // Close reply 5 s, server FIN 1 s). `now_ms` is uv_now().
  void check_timeouts(uint64_t now_ms);
  // Drain timed out: the messages still in flight are lost.
  void give_up_outstanding();
  // Echo mode, the connect phase is over: an open connection fills its
  // pipeline and writes (connections opened later start on their own).
  void start_traffic_now();

  State state() const { return state_; }
  uint64_t outstanding() const { return next_sequence_ - acked_sequence_; }
  bool has_socket() const { return tcp_ != nullptr; }
  // True when the server closed this slot's last socket with a Close frame
  // and it should reconnect (--reconnect).
  bool wants_reconnect() const { return wants_reconnect_; }
  uint32_t index() const { return index_; }
  // The last socket failed before its handshake completed (connect mode
  // waits a little before the slot's next attempt).
  bool failed_before_open() const { return failed_before_open_; }

 private:
  static void on_connect(uv_connect_t* request, int status) noexcept;
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_write(uv_write_t* request, int status) noexcept;
  static void on_close(uv_handle_t* handle) noexcept;

  void connected(int status);
  void received(uint8_t* data, size_t length);
  void received_plaintext(uint8_t* data, size_t length);
  void handshake_done();
  void received_frames(uint8_t* data, size_t length);
  void received_raw(const uint8_t* data, size_t length);
  bool check_frame_start(uint8_t first_byte);
  void handle_message(const ws::FrameEvent& event);
  void handle_close(uint16_t code);
  void echo_completed();

  void start_traffic();
  void send_message(uint64_t sequence);
  void send_control(ws::Opcode opcode, const uint8_t* payload, size_t length);
  void send_close(uint16_t code);
  void flush();

  // Counts `kind` (with `detail` for the human report), counts the
  // messages in flight as lost, and closes the socket.
  void fail(ErrorKind kind, std::string_view detail);
  void close_socket();
  void release_connect_slot();
  void set_state(State state);

  Run& run_;
  const uint32_t index_;
  State state_ = State::Idle;
  bool holds_connect_slot_ = false;
  bool writing_ = false;
  bool at_frame_start_ = true;
  bool wants_reconnect_ = false;
  bool ever_settled_ = false;  // the first connect has succeeded or failed
  bool failed_before_open_ = false;
  uint64_t state_since_ms_ = 0;
  uint64_t connect_started_ns_ = 0;

  uv_tcp_t* tcp_ = nullptr;  // heap; freed in on_close
  uv_connect_t connect_request_{};
  uv_write_t write_request_{};

  ByteBuffer out_;        // bytes to send (plaintext under TLS)
  ByteBuffer wire_;       // TLS: ciphertext to send
  ByteBuffer in_flight_;  // the buffer of the uv_write in progress
  std::unique_ptr<TlsClient> tls_;
  ClientHandshake handshake_;
  ws::FrameParser parser_;
  ws::CloseHandshake close_;

  // Echo bookkeeping: messages acked_sequence_ .. next_sequence_ - 1 are in
  // flight, in order; sent_at_ns_[sequence & ring_mask_] is when each was
  // sent (the ring is depth rounded up to a power of two).
  uint64_t next_sequence_ = 0;
  uint64_t acked_sequence_ = 0;
  std::vector<uint64_t> sent_at_ns_;
  uint64_t ring_mask_ = 0;
  size_t raw_offset_ = 0;  // raw, --stream: bytes of the oldest message received
};

}  // namespace wsgate::loadgen
