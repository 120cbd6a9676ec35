// The worker's event loop: listeners, the channel to the supervisor, the
// timer lists that bound every connection, drain and stop, and stats.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/channel.h"
#include "common/route_stats.h"
#include "common/stats.h"
#include "config/config.h"
#include "tls/server_tls.h"
#include "tls/ticket_keys.h"
#include "worker/compression.h"
#include "worker/connection.h"
#include "worker/event_feed.h"
#include "worker/intrusive_list.h"
#include "worker/osrf/bus.h"
#include "worker/peer_limits.h"
#include "worker/relays/console.h"
#include "worker/worker.h"

namespace wsgate {

class Worker;
namespace tls {
class UpstreamTls;
}

// A listening socket the worker accepts on, and what its connections
// speak. Its handle owns a duplicate of the inherited descriptor, so
// accepting can stop (the handle closes) and start again; the close
// callback deletes it.
struct ListenHandle {
  uv_tcp_t tcp;
  Worker* worker = nullptr;
  const tls::ListenerTls* tls = nullptr;  // null: plain ws://
  int inherited_fd = -1;                  // the ListenFd it duplicates
  unsigned slot = 0;
  std::string address;  // "IP:PORT" it is bound to, for the accepted event
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
  // The counters of `route`, one of config().routes.
  RouteStats& route_stats(const config::RouteConfig& route) {
    return route_stats_[static_cast<size_t>(&route - config_->routes.data())];
  }
  uint64_t now() const { return uv_now(&loop_); }
  // The zlib streams and buffers all of this worker's connections share.
  SharedCompression& compression() { return compression_; }
  // One read buffer for the whole loop (reads never overlap). Whatever a
  // read callback does with the bytes, it does before it returns.
  uv_buf_t read_buffer() { return uv_buf_init(read_buffer_.get(), kReadBufferSize); }
  // TLS connections: where decrypted input lands (kPlainBufferSize bytes).
  uint8_t* plain_buffer() { return plain_buffer_.get(); }
  // Client TLS contexts of proxy routes (null: no route uses upstream TLS).
  const tls::UpstreamTls* upstream_tls() const { return upstream_tls_.get(); }
  // The exec relay's launcher (wsgate-exec): found once, before the loop
  // runs; empty when no route is an exec route.
  const std::string& exec_launcher() const { return exec_launcher_; }
  // The OpenSRF bus of a translator route (routes with the same bus share
  // one); null for other routes.
  TranslatorBus* translator_bus(const config::RouteConfig& route) {
    return route_buses_[static_cast<size_t>(&route - config_->routes.data())];
  }

  // The fd budget (SEC-LIM-10): descriptors connections and their relays
  // hold, against what RLIMIT_NOFILE leaves. reserve_fds() fails (and
  // reserves nothing) when `count` more would not fit.
  bool reserve_fds(unsigned count);
  // limits.max_connections_per_ip and handshakes_per_ip_per_second.
  PeerLimits& peer_limits() { return peer_limits_; }
  void release_fds(unsigned count) { fds_in_use_ -= count; }

  // Every connection, and the timer lists, each ordered by the time its
  // deadline counts from. The lists of one hook are exclusive (see
  // Connection): a connection is in at most one phase list and at most
  // one keepalive list.
  IntrusiveList<Connection, &Connection::all_hook> all;
  IntrusiveList<Connection, &Connection::phase_hook> handshaking;  // by accept time
  IntrusiveList<Connection, &Connection::phase_hook> idle;  // by last message (either direction)
  // Idle while draining, taken off `idle`: closed a slice at a time.
  IntrusiveList<Connection, &Connection::phase_hook> drain_pending;
  IntrusiveList<Connection, &Connection::phase_hook> closing;       // by close start time
  IntrusiveList<Connection, &Connection::keepalive_hook> ping_due;  // by last inbound frame
  IntrusiveList<Connection, &Connection::keepalive_hook> pong_due;  // by ping sent time
  // By the time the client's queue passed write_queue_high.
  IntrusiveList<Connection, &Connection::pressure_hook> backpressured;
  // Relays connecting to their backend, by connect start time.
  IntrusiveList<BackendRelay, &BackendRelay::connecting_hook> upstream_connecting;
  // Relays waiting for their backend's EOF after the client left, by then.
  IntrusiveList<BackendRelay, &BackendRelay::linger_hook> upstream_lingering;
  // Streams written to since their last flush. The worker flushes them
  // before the loop polls and after each round of I/O callbacks, so every
  // byte written in a callback reaches the kernel in the same loop
  // iteration, and each stream's output is its own.
  IntrusiveList<Stream, &Stream::dirty_hook> dirty_streams;

  // Connection-state events (event_feed.h): write one with
  // EventJson(event_feed(), ...), then call event_written() with what its
  // finish() answered. The batch is sent to the supervisor kEventFlushMs
  // after its first event (at once when full), so that a busy worker
  // pays one channel write for many connections; it is dropped and
  // counted when the channel is backed up.
  EventFeed& event_feed() { return events_; }
  void event_written(bool batch_full);
  static constexpr uint64_t kEventFlushMs = 10;

  // Console relays (relay: console): the supervisor is told when the
  // first attaches and the last detaches, and sends its snapshots while
  // any is attached.
  void console_attach(ConsoleRelay& relay);
  void console_detach(ConsoleRelay& relay);
  // The first part of this worker's connection ids, and the next sequence.
  uint32_t instance() const { return instance_; }
  uint64_t next_connection_sequence() { return ++connections_numbered_; }

  // Called from Connection::release() before it deletes itself.
  void connection_closed(Connection* connection);

  // PMD-11: appends client input a connection could not take this loop
  // turn; an idle handle feeds it back (Connection::feed_deferred) once
  // the loop has polled for everyone else's I/O.
  void defer_input(Connection& connection, const uint8_t* data, size_t size);
  uint64_t deferred_bytes(const Connection& connection) const;

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
  static void on_flush(uv_prepare_t* prepare) noexcept;
  static void on_flush_check(uv_check_t* check) noexcept;
  static void on_events_timer(uv_timer_t* timer) noexcept;
  static void on_deferred_input(uv_idle_t* idle) noexcept;
  void feed_deferred_input() noexcept;

  bool start();
  void accept_one(ListenHandle& listener, int status);
  // Accepts the pending connection and answers it 503 (see the definition);
  // `over_fd_budget` says the fd budget, not max_connections, ran out.
  void shed(ListenHandle& listener, bool over_fd_budget);
  // Shed sockets in their lingering close, and how many may be.
  static constexpr unsigned kMaxLingeringSheds = 256;
  static constexpr unsigned kReservedFdsForShedding = 8;
  unsigned lingering_sheds_ = 0;
  // Connections with deferred input, in the order they deferred it; few
  // at a time, so a vector searched by pointer serves.
  struct DeferredInput {
    Connection* connection;
    std::string bytes;
  };
  std::vector<DeferredInput> deferred_input_;
  uv_idle_t deferred_idle_{};
  // Drops the connection libuv accepted for `server` when the connection
  // callback failed before uv_accept() took it (see on_connection).
  void drop_pending_connection(uv_stream_t* server);
  uint64_t accepts_seen_ = 0;  // connections accept_one() got, for WSGATE_FAULTS
  void handle_channel_message(ChannelMessage type, std::string_view payload);
  void send_to_supervisor(ChannelMessage type, std::string_view payload);
  void send_stats();
  void flush_events();
  void tick();
  void expire_idle(uint64_t t);
  // buffer_budget.cpp: limits.worker_buffer_memory.
  void enforce_buffer_budget(uint64_t budget);
  void give_up_requests(Connection& c, uint64_t silent_ms);
  void flush_dirty_streams();
  void drain_check();
  // Queues on drain_pending, for a 1001, the open connections the drain
  // need not wait for: those whose relay drains at once
  // (Relay::drains_at_once) and, with `idle_ones`, those idle since the
  // last check (no message either way, nothing in flight; requests in
  // flight wait up to timeouts.max_request_wait, then are given up). Then
  // closes the first slice of drain_pending and spreads the rest over
  // timeouts.idle_check_interval.
  void queue_drain_closes(bool idle_ones);
  void drain_spread();
  void begin_drain();
  void begin_stop();
  // accepting.cpp: the sockets accepted on, as the Accept message says.
  void set_accepting(const std::vector<unsigned>& slots);
  bool open_listener(const ListenFd& listen);
  static void close_listener(ListenHandle* handle);
  // Stops accepting for good and closes the inherited sockets too, so a
  // socket the supervisor closes (an address removed by a reload) leaves
  // the kernel's SO_REUSEPORT group instead of queueing connections here.
  void close_listeners();
  void start_fault_signal();
  static void on_fault_signal(uv_signal_t* handle, int signum) noexcept;
  void maybe_exit();

  config::ConfigPtr config_;
  int slot_;
  unsigned generation_;
  int channel_fd_;
  std::vector<ListenFd> listen_fds_;  // every socket of the config, inherited
  WorkerFaults faults_;
  std::shared_ptr<const tls::ServerTls> tls_;
  std::shared_ptr<const tls::UpstreamTls> upstream_tls_;
  tls::TicketKeyRing ticket_keys_;  // the contexts' ticket callback reads it in place

  uv_loop_t loop_;
  std::vector<ListenHandle*> listeners_;  // accepting now
  uv_signal_t fault_signal_{};            // SIGUSR2 under worker_fatal_exit
  bool fault_signal_open_ = false;
  uv_pipe_t channel_;
  uv_timer_t tick_timer_;
  uv_timer_t drain_timer_;
  uv_timer_t spread_timer_;
  uv_timer_t stats_timer_;
  uv_prepare_t flush_prepare_;
  uv_check_t flush_check_;
  uv_timer_t events_timer_;  // runs while a batch of events waits
  ChannelDecoder channel_decoder_;
  char channel_buffer_[4096];
  bool channel_open_ = false;

  std::unique_ptr<char[]> read_buffer_;
  std::unique_ptr<uint8_t[]> plain_buffer_;  // allocated when a listener has TLS
  WorkerStats stats_;
  std::vector<RouteStats> route_stats_;  // by index in config_->routes
  SharedCompression compression_;
  std::string exec_launcher_;
  std::vector<std::unique_ptr<TranslatorBus>> buses_;
  std::vector<TranslatorBus*> route_buses_;  // by index in config_->routes
  void start_buses();
  static std::string find_exec_launcher();
  uint64_t start_hrtime_ = 0;

  bool draining_ = false;
  bool stopping_ = false;
  bool exiting_ = false;
  int exit_code_ = kWorkerExitOk;
  uint64_t drain_started_ = 0;
  uint64_t last_drain_check_ = 0;
  size_t drain_per_slice_ = 1;
  uint64_t last_emfile_log_ = 0;
  size_t connection_capacity_ = 0;  // limits.max_connections
  uint64_t fd_budget_ = 0;          // what RLIMIT_NOFILE leaves after the reserve
  uint64_t fds_in_use_ = 0;
  PeerLimits peer_limits_;
  uint64_t last_peer_sweep_ = 0;
  unsigned channel_writes_pending_ = 0;
  size_t channel_bytes_pending_ = 0;  // queued on the channel, not yet written
  EventFeed events_;
  IntrusiveList<ConsoleRelay, &ConsoleRelay::console_hook> consoles_;
  uint32_t instance_ = 0;
  uint64_t connections_numbered_ = 0;
};

}  // namespace wsgate
