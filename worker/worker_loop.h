// The worker's event loop: listeners, the channel to the supervisor, the
// timer lists that bound every connection, drain and stop, and stats.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/channel.h"
#include "common/stats.h"
#include "config/config.h"
#include "tls/server_tls.h"
#include "tls/ticket_keys.h"
#include "worker/connection.h"
#include "worker/intrusive_list.h"
#include "worker/worker.h"

namespace wsgate {

class Worker;

// A listening socket of the worker and what its connections speak.
struct ListenHandle {
  uv_tcp_t tcp;
  Worker* worker = nullptr;
  const tls::ListenerTls* tls = nullptr;  // null: plain ws://
};

class Worker {
 public:
  explicit Worker(const WorkerSetup& setup);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs the loop until drained or stopped. Returns the exit code.
  int run();

  // For connections.
  uv_loop_t* loop() { return &loop_; }
  const config::Config& config() const { return *config_; }
  WorkerStats& stats() { return stats_; }
  uint64_t now() const { return uv_now(&loop_); }
  // One read buffer for the whole loop (reads never overlap).
  uv_buf_t read_buffer() { return uv_buf_init(read_buffer_.get(), kReadBufferSize); }
  // Where a connection with nothing queued corks its output until flush().
  std::string& scratch() { return scratch_; }
  // TLS connections: where plaintext output waits for flush() to encrypt
  // it, and where decrypted input lands (kPlainBufferSize bytes).
  std::string& tls_plain() { return tls_plain_; }
  uint8_t* plain_buffer() { return plain_buffer_.get(); }
  // Drops whatever a connection corked and did not flush: called when an
  // exception cut a connection's work short, so the next connection's
  // flush() cannot send it.
  void discard_corked_output() {
    scratch_.clear();
    tls_plain_.clear();
  }

  // List membership, driven by Connection state changes.
  IntrusiveList<Connection> handshaking;    // by accept time
  IntrusiveList<Connection> closing;        // by close start time
  IntrusiveList<Connection> idle;           // by last message (either direction)
  IntrusiveList<Connection> ping_due;       // by last inbound frame
  IntrusiveList<Connection> pong_due;       // by ping sent time
  IntrusiveList<Connection> backpressured;  // by time the queue passed write_queue_high
  IntrusiveList<Connection> drain_pending;  // idle while draining: closed a slice at a time

  // Called from Connection::on_close before it deletes itself.
  void connection_closed(Connection* connection);

  static constexpr size_t kReadBufferSize = 256 * 1024;
  static constexpr size_t kPlainBufferSize = 64 * 1024;

 private:
  static void on_connection(uv_stream_t* server, int status) noexcept;
  static void on_channel_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_channel_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_channel_write(uv_write_t* req, int status) noexcept;
  static void on_tick(uv_timer_t* timer) noexcept;
  static void on_drain_check(uv_timer_t* timer) noexcept;
  static void on_drain_spread(uv_timer_t* timer) noexcept;
  static void on_stats_timer(uv_timer_t* timer) noexcept;

  bool start();
  void accept_one(ListenHandle& listener, int status);
  void shed(ListenHandle& listener);
  void handle_channel_message(ChannelMessage type, std::string_view payload);
  void send_to_supervisor(ChannelMessage type, std::string_view payload);
  void send_stats();
  void tick();
  void drain_check();
  void drain_spread();
  void begin_drain();
  void begin_stop();
  void close_listeners();
  void maybe_exit();

  config::ConfigPtr config_;
  int slot_;
  unsigned generation_;
  int channel_fd_;
  std::vector<ListenFd> listen_fds_;
  std::shared_ptr<const tls::ServerTls> tls_;
  tls::TicketKeyRing ticket_keys_;  // the contexts' ticket callback reads it in place

  uv_loop_t loop_;
  std::vector<std::unique_ptr<ListenHandle>> listeners_;
  uv_pipe_t channel_;
  uv_timer_t tick_timer_;
  uv_timer_t drain_timer_;
  uv_timer_t spread_timer_;
  uv_timer_t stats_timer_;
  ChannelDecoder channel_decoder_;
  char channel_buffer_[4096];
  bool channel_open_ = false;

  std::unique_ptr<char[]> read_buffer_;
  std::string scratch_;
  std::string tls_plain_;
  std::unique_ptr<uint8_t[]> plain_buffer_;  // allocated when a listener has TLS
  WorkerStats stats_;
  uint64_t start_hrtime_ = 0;

  IntrusiveList<Connection> all_;
  bool draining_ = false;
  bool stopping_ = false;
  bool exiting_ = false;
  int exit_code_ = kWorkerExitOk;
  uint64_t drain_started_ = 0;
  uint64_t last_drain_check_ = 0;
  size_t drain_per_slice_ = 1;
  uint64_t last_emfile_log_ = 0;
  size_t connection_capacity_ = 0;  // max_connections, lowered to fit RLIMIT_NOFILE
  unsigned channel_writes_pending_ = 0;

  friend class Connection;
};

}  // namespace wsgate
