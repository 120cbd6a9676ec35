// The worker's event loop: accept, channel, timer lists, drain, stop, stats.
#include "worker/worker_loop.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "common/log.h"
#include "common/log_writer.h"
#include "common/unix_socket.h"

namespace wsgate {

namespace {

constexpr uint64_t kSpreadSliceMs = 20;

uint64_t ms(config::Duration d) {
  return static_cast<uint64_t>(d.count());
}

// The tick period: a quarter of the shortest timeout in use, 10 ms..1 s, so
// every deadline is met within 25 % of its length.
uint64_t tick_period(const config::Config& cfg) {
  uint64_t shortest = 1000 * 4;
  for (config::Duration d :
       {cfg.limits.handshake_timeout, cfg.timeouts.close, cfg.timeouts.idle,
        cfg.timeouts.ping_interval, cfg.timeouts.pong_timeout, cfg.limits.write_queue_timeout,
       cfg.timeouts.upstream_connect}) {
    if (d.count() > 0) shortest = std::min(shortest, ms(d));
  }
  return std::clamp<uint64_t>(shortest / 4, 10, 1000);
}

// Descriptors a worker keeps for itself: stdio, channel, listeners, the
// loop's epoll and internal fds, log files and libuv's EMFILE reserve fd.
constexpr rlim_t kReservedFds = 32;

// SEC-LIM-10: a worker sheds load (503) before accept() could fail with
// EMFILE. Its budget is what RLIMIT_NOFILE leaves after the reserve; each
// connection counts the fds it really holds (its socket, and whatever its
// relay opens: a proxy's upstream socket). 0 means no limit.
uint64_t fd_budget(const config::Config& cfg) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    error_log().warn("getrlimit(RLIMIT_NOFILE): {}", std::strerror(errno));
    return 0;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return 0;
  const rlim_t usable =
      limit.rlim_cur > 2 * kReservedFds ? limit.rlim_cur - kReservedFds : limit.rlim_cur / 2;
  if (usable < cfg.limits.max_connections) {
    error_log().warn(
        "limits.max_connections {} exceeds what RLIMIT_NOFILE {} allows; this worker "
        "holds at most {} descriptors for connections and their backends",
        cfg.limits.max_connections, static_cast<uint64_t>(limit.rlim_cur),
        static_cast<uint64_t>(usable));
  }
  return usable;
}

}  // namespace

Worker::Worker(const WorkerSetup& setup)
    : config_(setup.config),
      slot_(setup.slot),
      generation_(setup.generation),
      channel_fd_(setup.channel_fd),
      listen_fds_(setup.listen_fds),
      faults_(setup.faults),
      tls_(setup.tls),
      upstream_tls_(setup.upstream_tls),
      read_buffer_(new char[kReadBufferSize]),
      route_stats_(config_->routes.size()),
      route_buses_(config_->routes.size(), nullptr),
      peer_limits_(config_->limits.max_connections_per_ip,
                   config_->limits.handshakes_per_ip_per_second),
      instance_(setup.instance) {
  if (tls_) {
    // The supervisor always hands over its key ring with TLS contexts.
    if (setup.ticket_keys == nullptr) throw std::logic_error("TLS contexts without ticket keys");
    ticket_keys_ = *setup.ticket_keys;
  }
  if (tls_ || upstream_tls_) plain_buffer_.reset(new uint8_t[kPlainBufferSize]);
  if (config_->has_exec_route()) exec_launcher_ = find_exec_launcher();
}

// Beside the running binary first (the build tree, or an install that
// keeps both in one directory), then the installed libexec path.
std::string Worker::find_exec_launcher() {
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length > 0) {
    std::string path(self, static_cast<size_t>(length));
    path.resize(path.rfind('/') + 1);
    path += "wsgate-exec";
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  if (access(WSGATE_EXEC_LAUNCHER, X_OK) != 0) {
    error_log().error("exec launcher not found: {} ({}), nor beside /proc/self/exe",
                      WSGATE_EXEC_LAUNCHER, errno_text(errno));
  }
  return WSGATE_EXEC_LAUNCHER;
}

// One bus per distinct (domain, port, account, router) of the translator
// routes, so routes on one bus share its two connections per domain.
void Worker::start_buses() {
  for (size_t i = 0; i < config_->routes.size(); ++i) {
    const config::RouteConfig& route = config_->routes[i];
    if (route.relay != "translator") continue;
    const config::TranslatorConfig& t = route.translator;
    for (const auto& bus : buses_) {
      const config::TranslatorConfig& b = bus->config();
      if (b.domain == t.domain && b.port == t.port && b.username == t.username &&
          b.password == t.password && b.router_name == t.router_name) {
        route_buses_[i] = bus.get();
        break;
      }
    }
    if (route_buses_[i] != nullptr) continue;
    buses_.push_back(std::make_unique<TranslatorBus>(*this, t));
    route_buses_[i] = buses_.back().get();
    buses_.back()->start();
  }
}

int Worker::run() {
  if (faults_.exit_before_ready) {
    error_log().warn("fault new_worker_exit_before_ready: exiting with code {} before READY",
                     kWorkerExitError);
    return kWorkerExitError;
  }
  if (!start()) return kWorkerExitFatal;
  uv_run(&loop_, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop_);
  if (rc != 0) error_log().warn("uv_loop_close: {}", uv_strerror(rc));
  error_log().info("worker exiting with code {}", exit_code_);
  return exit_code_;
}

bool Worker::start() {
  int rc = uv_loop_init(&loop_);
  if (rc != 0) {
    error_log().critical("uv_loop_init: {}", uv_strerror(rc));
    return false;
  }
  uv_loop_configure(&loop_, UV_METRICS_IDLE_TIME);
  loop_.data = this;
  start_hrtime_ = uv_hrtime();

  uv_pipe_init(&loop_, &channel_, 0);
  channel_.data = this;
  rc = uv_pipe_open(&channel_, channel_fd_);
  if (rc == 0)
    rc =
        uv_read_start(reinterpret_cast<uv_stream_t*>(&channel_), on_channel_alloc, on_channel_read);
  if (rc != 0) {
    error_log().critical("uv_pipe_open(channel fd {}): {}", channel_fd_, uv_strerror(rc));
    return false;
  }
  channel_open_ = true;

  // The contexts were built by the supervisor; from here on their ticket
  // callback reads this worker's copy of the keys.
  if (tls_) tls_->use_ticket_keys(&ticket_keys_);
  start_buses();
  connection_capacity_ = config_->limits.max_connections;
  fd_budget_ = fd_budget(*config_);

  uv_timer_init(&loop_, &tick_timer_);
  tick_timer_.data = this;
  const uint64_t period = tick_period(*config_);
  uv_timer_start(&tick_timer_, on_tick, period, period);
  uv_timer_init(&loop_, &drain_timer_);
  drain_timer_.data = this;
  uv_timer_init(&loop_, &spread_timer_);
  spread_timer_.data = this;
  uv_timer_init(&loop_, &stats_timer_);
  stats_timer_.data = this;
  const uint64_t stats_period = std::max<uint64_t>(ms(config_->stats_interval), 10);
  uv_timer_start(&stats_timer_, on_stats_timer, stats_period, stats_period);
  // Output written in timer and close callbacks is flushed before the loop
  // blocks in poll; output written in I/O callbacks right after them.
  uv_prepare_init(&loop_, &flush_prepare_);
  flush_prepare_.data = this;
  uv_prepare_start(&flush_prepare_, on_flush);
  uv_unref(reinterpret_cast<uv_handle_t*>(&flush_prepare_));
  uv_check_init(&loop_, &flush_check_);
  flush_check_.data = this;
  uv_check_start(&flush_check_, on_flush_check);
  uv_unref(reinterpret_cast<uv_handle_t*>(&flush_check_));
  uv_timer_init(&loop_, &events_timer_);
  events_timer_.data = this;
  // Started only while input is deferred; an active idle handle makes the
  // loop poll without blocking, so the deferred input is fed after one
  // round of everyone else's I/O.
  uv_idle_init(&loop_, &deferred_idle_);
  deferred_idle_.data = this;

  if (faults_.fatal_on_sigusr2) start_fault_signal();
  if (faults_.never_ready) {
    error_log().warn("fault new_worker_never_ready: not reporting READY");
    return true;
  }
  // Accepting starts when the supervisor says on which slots' sockets (a
  // reload's new workers only once the whole generation is READY).
  // run_worker() opened the log files; the supervisor hears if it could not.
  if (!last_logging_error().empty()) {
    send_to_supervisor(ChannelMessage::LogFailure, last_logging_error());
  }
  send_to_supervisor(ChannelMessage::Ready, {});
  error_log().info("worker ready: {} listening sockets inherited", listen_fds_.size());
  return true;
}

// ---- accepting ---------------------------------------------------------------

// Whatever accept_one() throws (std::bad_alloc creating a Connection) is
// caught here: the connection it was accepting is closed, logged and
// counted as shed, and the listener goes on accepting.
void Worker::on_connection(uv_stream_t* server, int status) noexcept {
  auto* listener = static_cast<ListenHandle*>(server->data);
  Worker* self = listener->worker;
  try {
    self->accept_one(*listener, status);
    return;
  } catch (const std::exception& e) {
    error_log().error("accepting a connection: {}; dropping it", e.what());
  } catch (...) {
    error_log().error("accepting a connection: unknown exception; dropping it");
  }
  self->drop_pending_connection(server);
}

void Worker::drop_pending_connection(uv_stream_t* server) {
  // libuv (unix) keeps the socket it accepted in server->accepted_fd until
  // uv_accept() takes it, and stops watching the listener while one is
  // left there (uv__server_io): a callback that threw before uv_accept()
  // would leave the listener deaf for good. The socket is closed and the
  // field cleared, as uv_accept() does when it hands one over; libuv then
  // accepts the next connection.
  ++stats_.connections_shed;
  const int fd = server->accepted_fd;
  if (fd < 0) return;
  server->accepted_fd = -1;
  if (close(fd) != 0) error_log().warn("close({}): {}", fd, errno_text(errno));
}

void Worker::accept_one(ListenHandle& listener, int status) {
  if (status < 0) {
    // libuv already closed its reserve fd, accepted and dropped the pending
    // connection (uv__emfile_trick) on EMFILE; say so at most once a second.
    ++stats_.connections_shed;
    if (now() - last_emfile_log_ >= 1000) {
      last_emfile_log_ = now();
      error_log().warn("accept(): {}; shedding connections", uv_strerror(status));
    }
    return;
  }
  if (all.size() >= connection_capacity_) {
    shed(listener, false);
    return;
  }
  if (!reserve_fds(1)) {
    shed(listener, true);
    return;
  }
  release_fds(1);  // Connection::accept() reserves it for good
  if (++accepts_seen_ == faults_.throw_on_accept) {
    error_log().warn("fault accept_throw:{}: throwing std::bad_alloc", accepts_seen_);
    throw std::bad_alloc();
  }
  auto connection = std::make_unique<Connection>(*this);
  if (listener.tls != nullptr) connection->use_tls(listener.tls->default_context());
  ++stats_.connections_accepted;
  // From here the close callback owns the connection.
  Connection* accepted = connection.release();
  int rc = accepted->accept(reinterpret_cast<uv_stream_t*>(&listener.tcp), listener.address);
  if (rc != 0) {
    error_log().warn("accept: {}", uv_strerror(rc));
    accepted->abort(CloseCause::Error);
  }
}

namespace {

// A shed client's socket during its lingering close: the 503 is written,
// our side is shut down once it is flushed, and whatever the client still
// sends is read and dropped until its EOF or kShedLingerMs, whichever comes
// first. Closing with unread input would make the kernel send a reset,
// and a client still sending its request would see the reset, not the 503.
// Freed in the close callback of the last of its two handles.
struct ShedSocket {
  static constexpr uint64_t kShedLingerMs = 2000;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t write;
  uv_shutdown_t shutdown;
  unsigned* lingering = nullptr;  // the worker's count of ShedSockets
  int open_handles = 0;
  char discard[4096];

  // Closes both handles (idempotent); the last close callback frees this.
  void close() {
    for (uv_handle_t* h :
         {reinterpret_cast<uv_handle_t*>(&tcp), reinterpret_cast<uv_handle_t*>(&timer)}) {
      if (!uv_is_closing(h)) uv_close(h, on_closed);
    }
  }
  static void on_closed(uv_handle_t* handle) noexcept {
    auto* self = static_cast<ShedSocket*>(handle->data);
    if (--self->open_handles > 0) return;
    --*self->lingering;
    delete self;
  }
  static void on_written(uv_write_t* req, int status) noexcept {
    auto* self = static_cast<ShedSocket*>(req->data);
    if (status < 0) {
      self->close();
      return;
    }
    self->shutdown.data = self;
    const int rc =
        uv_shutdown(&self->shutdown, reinterpret_cast<uv_stream_t*>(&self->tcp), on_shut_down);
    if (rc != 0) self->close();
  }
  static void on_shut_down(uv_shutdown_t* req, int status) noexcept {
    auto* self = static_cast<ShedSocket*>(req->data);
    if (status < 0 || uv_is_closing(reinterpret_cast<uv_handle_t*>(&self->tcp))) {
      self->close();
      return;
    }
    const int rc = uv_read_start(
        reinterpret_cast<uv_stream_t*>(&self->tcp),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
          auto* s = static_cast<ShedSocket*>(h->data);
          *buf = uv_buf_init(s->discard, sizeof(s->discard));
        },
        [](uv_stream_t* stream, ssize_t nread, const uv_buf_t*) noexcept {
          if (nread < 0) static_cast<ShedSocket*>(stream->data)->close();
        });
    if (rc != 0) {
      error_log().warn("uv_read_start() of a shed connection: {}", uv_strerror(rc));
      self->close();
    }
  }
};

}  // namespace

void Worker::shed(ListenHandle& listener, bool over_fd_budget) {
  // SEC-LIM-10: over max_connections a plaintext client gets a 503 with
  // Retry-After and a lingering close (ShedSocket), so the answer reaches
  // a client that is still sending. A TLS client is closed without a
  // word: answering would cost a full handshake, which is what an
  // overloaded worker cannot afford. Lingering sockets are bounded: at
  // most kMaxLingeringSheds, and a few from the descriptor reserve when the
  // fd budget is what is exhausted; beyond that the socket is closed at once.
  auto* server = reinterpret_cast<uv_stream_t*>(&listener.tcp);
  static const char kResponse[] =
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
      "Content-Length: 20\r\nConnection: close\r\n\r\ntoo many connections";
  ++stats_.connections_shed;
  const unsigned linger_cap = over_fd_budget ? kReservedFdsForShedding : kMaxLingeringSheds;
  auto* shed = new ShedSocket;
  shed->lingering = &lingering_sheds_;
  ++lingering_sheds_;
  uv_tcp_init(&loop_, &shed->tcp);
  uv_timer_init(&loop_, &shed->timer);
  shed->tcp.data = shed->timer.data = shed;
  shed->open_handles = 2;
  const int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&shed->tcp));
  if (rc != 0) {
    error_log().warn("accept() of a connection to shed: {}", uv_strerror(rc));
    shed->close();
    return;
  }
  {
    // The refused event; a shed socket is no Connection, but its id is
    // drawn from the same sequence.
    sockaddr_storage peer{};
    int length = sizeof peer;
    uv_tcp_getpeername(&shed->tcp, reinterpret_cast<sockaddr*>(&peer), &length);
    EventJson event(events_, "refused", instance_, next_connection_sequence(),
                    reinterpret_cast<const sockaddr&>(peer), "");
    event.number("status", 503)
        .text("reason", listener.tls != nullptr ? "too many connections (TLS: closed unanswered)"
                                                : "too many connections");
    event_written(event.finish());
  }
  if (listener.tls != nullptr || lingering_sheds_ > linger_cap) {
    shed->close();
    return;
  }
  uv_buf_t buf = uv_buf_init(const_cast<char*>(kResponse), sizeof(kResponse) - 1);
  shed->write.data = shed;
  if (const int write_rc = uv_write(&shed->write, reinterpret_cast<uv_stream_t*>(&shed->tcp), &buf,
                                    1, ShedSocket::on_written);
      write_rc != 0) {
    error_log().warn("uv_write() of the 503 to a shed connection: {}", uv_strerror(write_rc));
    shed->close();
    return;
  }
  uv_timer_start(
      &shed->timer, [](uv_timer_t* t) noexcept { static_cast<ShedSocket*>(t->data)->close(); },
      ShedSocket::kShedLingerMs, 0);
}

bool Worker::reserve_fds(unsigned count) {
  if (fd_budget_ != 0 && fds_in_use_ + count > fd_budget_) return false;
  fds_in_use_ += count;
  return true;
}

void Worker::on_flush(uv_prepare_t* prepare) noexcept {
  static_cast<Worker*>(prepare->data)->flush_dirty_streams();
}

void Worker::on_flush_check(uv_check_t* check) noexcept {
  static_cast<Worker*>(check->data)->flush_dirty_streams();
}

void Worker::event_written(bool batch_full) {
  if (batch_full) {
    flush_events();
  } else if (!exiting_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(&events_timer_))) {
    uv_timer_start(&events_timer_, on_events_timer, kEventFlushMs, 0);
  }
}

void Worker::console_attach(ConsoleRelay& relay) {
  if (consoles_.empty()) send_to_supervisor(ChannelMessage::ConsoleWanted, "1");
  consoles_.push_back(relay);
}

void Worker::console_detach(ConsoleRelay& relay) {
  consoles_.remove(relay);
  if (consoles_.empty()) send_to_supervisor(ChannelMessage::ConsoleWanted, "0");
}

void Worker::on_events_timer(uv_timer_t* timer) noexcept {
  static_cast<Worker*>(timer->data)->flush_events();
}

void Worker::flush_events() {
  if (events_.empty()) return;
  if (!channel_open_ || channel_bytes_pending_ > EventFeed::kMaxUnsent) {
    stats_.events_dropped += events_.count();
    events_.take();
    return;
  }
  send_to_supervisor(ChannelMessage::Events, events_.take());
}

void Worker::defer_input(Connection& connection, const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  for (DeferredInput& held : deferred_input_) {
    if (held.connection == &connection) {
      held.bytes.append(bytes, size);
      return;
    }
  }
  if (deferred_input_.empty()) uv_idle_start(&deferred_idle_, on_deferred_input);
  deferred_input_.push_back({&connection, std::string(bytes, size)});
}

uint64_t Worker::deferred_bytes(const Connection& connection) const {
  for (const DeferredInput& held : deferred_input_) {
    if (held.connection == &connection) return held.bytes.capacity();
  }
  return 0;
}

void Worker::on_deferred_input(uv_idle_t* idle) noexcept {
  static_cast<Worker*>(idle->data)->feed_deferred_input();
}

void Worker::feed_deferred_input() noexcept {
  // Each connection is fed once per turn; what it defers again joins a
  // fresh list for the next turn. No connection is deleted meanwhile: the
  // close callbacks that delete run in another phase of the loop.
  std::vector<DeferredInput> batch;
  batch.swap(deferred_input_);
  for (DeferredInput& held : batch) held.connection->feed_deferred(held.bytes);
  if (deferred_input_.empty()) uv_idle_stop(&deferred_idle_);
}

void Worker::flush_dirty_streams() {
  // A flush may dirty other streams (a relay resuming its backend); they
  // join the back of the list and are flushed in the same pass.
  while (Stream* stream = dirty_streams.front()) stream->flush();
}

void Worker::connection_closed(Connection* connection) {
  all.remove(*connection);
  for (auto it = deferred_input_.begin(); it != deferred_input_.end(); ++it) {
    if (it->connection == connection) {
      deferred_input_.erase(it);
      break;
    }
  }
  switch (connection->cause()) {
    case CloseCause::Client:
      ++stats_.closes_client;
      break;
    case CloseCause::Idle:
      ++stats_.closes_idle;
      break;
    case CloseCause::PingTimeout:
      ++stats_.closes_ping_timeout;
      break;
    case CloseCause::ProtocolError:
      ++stats_.closes_protocol_error;
      break;
    case CloseCause::TooBig:
      ++stats_.closes_too_big;
      break;
    case CloseCause::Policy:
      ++stats_.closes_policy;
      break;
    case CloseCause::SlowConsumer:
      ++stats_.closes_slow_consumer;
      break;
    case CloseCause::Drain:
      ++stats_.closes_drain;
      break;
    case CloseCause::Shutdown:
      ++stats_.closes_shutdown;
      break;
    case CloseCause::Error:
    case CloseCause::Tls:  // handshake failures are counted by reason as well
      ++stats_.closes_error;
      break;
    case CloseCause::Upstream:
      ++stats_.closes_upstream;
      break;
    case CloseCause::None:
    case CloseCause::Http:
    case CloseCause::HandshakeTimeout:
      break;
  }
  maybe_exit();
}

// ---- channel -----------------------------------------------------------------

void Worker::on_channel_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  auto* self = static_cast<Worker*>(handle->data);
  *buf = uv_buf_init(self->channel_buffer_, sizeof(self->channel_buffer_));
}

void Worker::on_channel_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<Worker*>(stream->data);
  try {
    if (nread < 0) {
      // The supervisor is gone (or the channel broke): stop serving.
      error_log().warn("channel to supervisor: {}; stopping", uv_strerror(static_cast<int>(nread)));
      self->channel_open_ = false;
      uv_close(reinterpret_cast<uv_handle_t*>(&self->channel_), nullptr);
      self->begin_stop();
      return;
    }
    self->channel_decoder_.feed({buf->base, static_cast<size_t>(nread)});
    ChannelMessage type;
    std::string_view payload;
    while (self->channel_decoder_.next(type, payload)) self->handle_channel_message(type, payload);
    if (self->channel_decoder_.failed()) {
      error_log().error("corrupt message on the supervisor channel; stopping");
      self->begin_stop();
    }
  } catch (const std::exception& e) {
    error_log().error("channel: {}", e.what());
  }
}

void Worker::handle_channel_message(ChannelMessage type, std::string_view payload) {
  switch (type) {
    case ChannelMessage::Drain:
      error_log().info("drain requested");
      begin_drain();
      break;
    case ChannelMessage::Stop:
      error_log().info("stop requested");
      begin_stop();
      break;
    case ChannelMessage::StatsRequest:
      send_stats();
      break;
    case ChannelMessage::ConsoleUpdate: {
      // Sending may close a client, which detaches its relay: walk a copy.
      // The relays stay allocated until their close callbacks run.
      std::vector<ConsoleRelay*> relays;
      consoles_.for_each([&](ConsoleRelay* relay) { relays.push_back(relay); });
      for (ConsoleRelay* relay : relays) relay->deliver(payload);
      break;
    }
    case ChannelMessage::Reopen:
      if (setup_logging(config_->log, LogIdentity{"worker", slot_, generation_})) {
        error_log().info("log files reopened");
      } else {
        send_to_supervisor(ChannelMessage::LogFailure, last_logging_error());
      }
      break;
    case ChannelMessage::Accept: {
      std::vector<unsigned> slots;
      if (decode_accept_slots(payload, slots)) {
        set_accepting(slots);
      } else {
        error_log().error("malformed Accept message from the supervisor ({} bytes)",
                          payload.size());
      }
      break;
    }
    case ChannelMessage::TicketKeys:
      if (std::optional<tls::TicketKeyRing> ring = tls::TicketKeyRing::decode(payload)) {
        ticket_keys_ = *ring;
        error_log().debug("session ticket keys replaced");
      } else {
        error_log().error("malformed session ticket keys from the supervisor ({} bytes); "
                          "keeping the current ones",
                          payload.size());
      }
      break;
    default:
      error_log().warn("unexpected channel message type {}", static_cast<int>(type));
      break;
  }
}

struct ChannelWrite {
  uv_write_t req;
  std::string bytes;
};

void Worker::send_to_supervisor(ChannelMessage type, std::string_view payload) {
  if (!channel_open_) return;
  auto* write = new ChannelWrite;
  write->req.data = this;
  channel_encode(write->bytes, type, payload);
  channel_bytes_pending_ += write->bytes.size();
  uv_buf_t buf = uv_buf_init(write->bytes.data(), static_cast<unsigned>(write->bytes.size()));
  int rc =
      uv_write(&write->req, reinterpret_cast<uv_stream_t*>(&channel_), &buf, 1, on_channel_write);
  if (rc != 0) {
    error_log().error("write to supervisor channel: {}", uv_strerror(rc));
    channel_bytes_pending_ -= write->bytes.size();
    delete write;
    return;
  }
  ++channel_writes_pending_;
}

void Worker::on_channel_write(uv_write_t* req, int status) noexcept {
  auto* write = reinterpret_cast<ChannelWrite*>(req);
  auto* self = static_cast<Worker*>(req->data);
  self->channel_bytes_pending_ -= write->bytes.size();
  delete write;
  --self->channel_writes_pending_;
  if (status < 0 && status != UV_ECANCELED) {
    error_log().warn("write to supervisor channel: {}", uv_strerror(status));
  }
  self->maybe_exit();
}

void Worker::on_stats_timer(uv_timer_t* timer) noexcept {
  static_cast<Worker*>(timer->data)->send_stats();
}

void Worker::send_stats() {
  stats_.connections_active = all.size();
  stats_.connections_handshaking = handshaking.size();
  stats_.connections_closing = closing.size();
  stats_.compression_zlib_bytes = ws::zlib_bytes_in_use();
  stats_.compression_buffer_bytes = compression_.buffer_bytes();
  uint64_t queued = 0;
  all.for_each([&](Connection* c) { queued += c->queued_bytes(); });
  stats_.write_queue_bytes = queued;
  stats_.rss_bytes = current_rss_bytes();
  stats_.log_lines_dropped = dropped_log_lines();
  stats_.report_time_ms = uv_hrtime() / 1000000;
  stats_.loop_total_ns = uv_hrtime() - start_hrtime_;
  const uint64_t idle_ns = uv_metrics_idle_time(&loop_);
  stats_.loop_busy_ns = stats_.loop_total_ns > idle_ns ? stats_.loop_total_ns - idle_ns : 0;
  // Route records first, so the supervisor has them when Stats arrives;
  // as many messages as the channel's payload cap needs.
  std::string records;
  for (size_t i = 0; i < route_stats_.size(); ++i) {
    encode_route_stats(records, config_->routes[i].path, route_stats_[i]);
    if (records.size() + kMaxRouteStatsRecord > kMaxChannelPayload) {
      send_to_supervisor(ChannelMessage::RouteStats, records);
      records.clear();
    }
  }
  if (!records.empty()) send_to_supervisor(ChannelMessage::RouteStats, records);
  send_to_supervisor(ChannelMessage::Stats,
                     {reinterpret_cast<const char*>(&stats_), sizeof(stats_)});
}

// ---- timers ------------------------------------------------------------------

void Worker::on_tick(uv_timer_t* timer) noexcept {
  auto* self = static_cast<Worker*>(timer->data);
  try {
    self->tick();
  } catch (const std::exception& e) {
    error_log().error("timer: {}", e.what());
  }
}

namespace {

// Pops every element at the front of `list` whose deadline (start + limit)
// has passed and hands it to `expire`. The element is unlinked first, so
// the loop always advances whatever `expire` does.
template <typename List, typename Start, typename Expire>
void expire_front(List& list, uint64_t now, uint64_t limit, Start start, Expire expire) {
  while (auto* element = list.front()) {
    if (now - start(element) < limit) break;
    list.remove(*element);
    expire(element);
  }
}

}  // namespace

void Worker::tick() {
  const uint64_t t = now();
  const config::Config& cfg = *config_;
  // A large compressed message left the shared zlib buffers large; they go
  // back here rather than after every message. glibc keeps freed heap
  // memory once its mmap threshold has adapted to such sizes, so the
  // process's free memory is handed back to the kernel as well.
  if (compression_.trim()) malloc_trim(0);
  expire_front(
      handshaking, t, ms(cfg.limits.handshake_timeout),
      [](Connection* c) { return c->phase_since(); },
      [](Connection* c) { c->handshake_timed_out(); });
  expire_front(
      closing, t, ms(cfg.timeouts.close),
      [](Connection* c) { return c->phase_since(); },
      [](Connection* c) { c->abort(CloseCause::None); });
  if (cfg.timeouts.idle.count() > 0) expire_idle(t);
  if (cfg.timeouts.ping_interval.count() > 0) {
    expire_front(
        ping_due, t, ms(cfg.timeouts.ping_interval),
        [](Connection* c) { return c->last_inbound(); },
        [](Connection* c) { c->send_keepalive_ping(); });
    expire_front(
        pong_due, t, ms(cfg.timeouts.pong_timeout),
        [](Connection* c) { return c->ping_sent(); },
        [](Connection* c) { c->abort(CloseCause::PingTimeout); });
  }
  expire_front(
      backpressured, t, ms(cfg.limits.write_queue_timeout),
      [](Connection* c) { return c->above_high_since(); },
      [](Connection* c) {
        c->start_close(ws::close_code::kPolicyViolation, "slow consumer", CloseCause::SlowConsumer);
      });
  expire_front(
      upstream_connecting, t, ms(cfg.timeouts.upstream_connect),
      [](BackendRelay* r) { return r->connecting_since; }, [](BackendRelay* r) { r->on_connect_timeout(); });
  expire_front(
      upstream_lingering, t, ms(cfg.timeouts.close), [](BackendRelay* r) { return r->linger_since; },
      [](BackendRelay* r) { r->on_linger_timeout(); });
  if (cfg.limits.worker_buffer_memory > 0) enforce_buffer_budget(cfg.limits.worker_buffer_memory);
  if (peer_limits_.enabled() && t - last_peer_sweep_ >= 1000) {
    last_peer_sweep_ = t;
    peer_limits_.sweep(t);
  }
}

// Closes the connections idle for timeouts.idle. A connection with
// requests in flight is not idle, unless nothing at all happened on it for
// timeouts.max_request_wait: then its requests are treated as dead. The
// list is ordered by last message, so the walk stops at the first
// connection that is not idle; those it passes wait for their replies.
void Worker::expire_idle(uint64_t t) {
  const config::TimeoutsConfig& timeouts = config_->timeouts;
  const uint64_t idle_ms = ms(timeouts.idle);
  const uint64_t wait_ms = ms(timeouts.max_request_wait);
  Connection* c = idle.front();
  while (c != nullptr && t - c->last_message() >= idle_ms) {
    Connection* next = idle.next(*c);
    const uint64_t silent = t - c->last_message();
    if (c->requests_in_flight() == 0 || silent >= wait_ms) {
      if (c->requests_in_flight() > 0) give_up_requests(*c, silent);
      idle.remove(*c);
      c->start_close(1001, "idle timeout", CloseCause::Idle);
    }
    c = next;
  }
}

// max_request_wait passed with nothing at all on `c`: its requests are
// treated as dead (logged with their count, as the seed translator did),
// and the caller closes it.
void Worker::give_up_requests(Connection& c, uint64_t silent_ms) {
  const uint32_t dead = c.give_up_requests();
  error_log().warn(
      "route {}: {}: silent for {} s with {} requests in flight; they are treated as "
      "dead",
      c.route().path, c.peer_text(), silent_ms / 1000, dead);
}

// ---- drain and stop ------------------------------------------------------------

void Worker::begin_drain() {
  if (draining_ || stopping_) return;
  draining_ = true;
  drain_started_ = last_drain_check_ = now();
  close_listeners();
  const uint64_t interval = std::max<uint64_t>(ms(config_->timeouts.idle_check_interval), 10);
  uv_timer_start(&drain_timer_, on_drain_check, interval, interval);
  error_log().info("draining {} connections", all.size());
  // Relays that never go idle are closed now, not at the first check.
  queue_drain_closes(false);
  maybe_exit();
}

void Worker::begin_stop() {
  if (stopping_) return;
  const bool was_draining = draining_;
  stopping_ = true;
  if (!was_draining) close_listeners();
  uv_timer_stop(&drain_timer_);
  uv_timer_stop(&spread_timer_);
  all.for_each(
      [](Connection* c) { c->start_close(1001, "server shutting down", CloseCause::Shutdown); });
  maybe_exit();
}

void Worker::on_drain_check(uv_timer_t* timer) noexcept {
  try {
    static_cast<Worker*>(timer->data)->drain_check();
  } catch (const std::exception& e) {
    error_log().error("drain: {}", e.what());
  }
}

void Worker::drain_check() {
  const uint64_t t = now();
  const config::TimeoutsConfig& timeouts = config_->timeouts;
  if (t - drain_started_ >= ms(timeouts.drain)) {
    error_log().info("drain timeout: closing the {} remaining connections", all.size());
    all.for_each(
        [](Connection* c) { c->start_close(1001, "server reloading", CloseCause::Drain); });
    uv_timer_stop(&drain_timer_);
    return;
  }
  queue_drain_closes(true);
  last_drain_check_ = t;
}

void Worker::queue_drain_closes(bool idle_ones) {
  const uint64_t t = now();
  const config::TimeoutsConfig& timeouts = config_->timeouts;
  const uint64_t wait_ms = ms(timeouts.max_request_wait);
  // Every open connection not yet chosen is on the idle list (one chosen
  // moves from it to drain_pending); the whole list is walked, since a
  // relay that drains at once may sit anywhere in it.
  idle.for_each([&](Connection* c) {
    if (!c->drains_at_once()) {
      if (!idle_ones || c->last_message() >= last_drain_check_) return;
      if (c->requests_in_flight() > 0) {
        if (t - c->last_message() < wait_ms) return;
        give_up_requests(*c, t - c->last_message());
        if (!idle.contains(*c)) return;  // the relay closed it
      }
    }
    idle.remove(*c);
    drain_pending.push_back(*c);
  });
  if (drain_pending.empty()) return;
  // Spread the closes over the check interval so clients do not reconnect
  // in one burst; the first slice goes now.
  const uint64_t slices = std::max<uint64_t>(1, ms(timeouts.idle_check_interval) / kSpreadSliceMs);
  drain_per_slice_ = (drain_pending.size() + slices - 1) / slices;
  drain_spread();
  if (!drain_pending.empty())
    uv_timer_start(&spread_timer_, on_drain_spread, kSpreadSliceMs, kSpreadSliceMs);
}

void Worker::on_drain_spread(uv_timer_t* timer) noexcept {
  try {
    static_cast<Worker*>(timer->data)->drain_spread();
  } catch (const std::exception& e) {
    error_log().error("drain: {}", e.what());
  }
}

void Worker::drain_spread() {
  for (size_t i = 0; i < drain_per_slice_; ++i) {
    Connection* c = drain_pending.front();
    if (c == nullptr) break;
    drain_pending.remove(*c);
    c->start_close(1001, "server reloading", CloseCause::Drain);
  }
  if (drain_pending.empty()) uv_timer_stop(&spread_timer_);
}

void Worker::maybe_exit() {
  if (!(draining_ || stopping_) || !all.empty()) return;
  if (!exiting_) {
    exiting_ = true;
    error_log().info("no connections left; exiting");
    uv_timer_stop(&tick_timer_);
    uv_timer_stop(&drain_timer_);
    uv_timer_stop(&spread_timer_);
    uv_timer_stop(&stats_timer_);
    uv_timer_stop(&events_timer_);
    flush_events();  // the last connections' closed events
    send_stats();  // the final counters, so the supervisor's totals are exact
  }
  if (channel_writes_pending_ > 0) return;  // wait for the final stats to leave
  // Each bus DELs its address and closes its links; the loop ends when
  // they are closed.
  for (const auto& bus : buses_) bus->shutdown();
  auto close_handle = [](auto* handle) {
    auto* h = reinterpret_cast<uv_handle_t*>(handle);
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  };
  close_handle(&tick_timer_);
  close_handle(&drain_timer_);
  close_handle(&spread_timer_);
  close_handle(&stats_timer_);
  close_handle(&flush_prepare_);
  close_handle(&flush_check_);
  close_handle(&events_timer_);
  close_handle(&deferred_idle_);
  if (fault_signal_open_) {
    fault_signal_open_ = false;
    close_handle(&fault_signal_);
  }
  if (channel_open_) {
    channel_open_ = false;
    close_handle(&channel_);
  }
}

}  // namespace wsgate
