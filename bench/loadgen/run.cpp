// The run's phases, timers, connect queue and counters (see run.h).
#include "loadgen/run.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "loadgen/cpu_counter.h"

namespace wsgate::loadgen {

namespace {

constexpr double kDrainTimeoutS = 5.0;
constexpr double kClosingTimeoutS = 3.0;
constexpr uint64_t kTickMs = 250;
// Connect mode: a slot whose connect or handshake failed waits this long
// before its next attempt (no busy loop against a refusing or full server).
constexpr uint64_t kConnectBackoffMs = 10;

uint64_t to_ms(double seconds) {
  return static_cast<uint64_t>(std::llround(seconds * 1000.0));
}

}  // namespace

Run::Run(const Options& options)
    : options_(options),
      payload_(options.mode == Mode::Echo ? options.size : 1, options.binary),
      data_frame_header_(ws::make_frame_header(
          ws::Role::Client, options.binary ? ws::Opcode::Binary : ws::Opcode::Text, true,
          options.size)),
      read_buffer_(new uint8_t[kReadBufferSize]),
      plaintext_buffer_(new uint8_t[kReadBufferSize]) {
  uv_loop_init(&loop_);
  uv_timer_init(&loop_, &phase_timer_);
  uv_timer_init(&loop_, &tick_timer_);
  uv_timer_init(&loop_, &backoff_timer_);
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sigterm_);
  phase_timer_.data = this;
  tick_timer_.data = this;
  backoff_timer_.data = this;
  sigint_.data = this;
  sigterm_.data = this;
  random_state_ ^= uv_hrtime();
  max_connects_in_progress_ = options.connect_concurrency;
}

Run::~Run() {
  // run() leaves no handle open; close the loop (ignoring EBUSY if start()
  // failed before the timers were closed: the process exits anyway).
  uv_loop_close(&loop_);
}

bool Run::start(std::string& error) {
  const Target& target = options_.target;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(target.port);
  const int rc = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    error = "getaddrinfo(" + target.host + "): " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&address_, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);

  if (options_.sources > 1 && address_.ss_family == AF_INET) {
    for (uint32_t i = 0; i < options_.sources; ++i) {
      sockaddr_in source{};
      source.sin_family = AF_INET;
      source.sin_addr.s_addr = htonl(0x7F000001u + i);
      sources_.push_back(source);
    }
  }
  if (target.tls && !tls_.init(options_, error)) return false;

  connections_.reserve(options_.connections);
  for (uint32_t i = 0; i < options_.connections; ++i) {
    connections_.push_back(std::make_unique<Connection>(*this, i));
  }
  uv_timer_start(&tick_timer_, on_tick, kTickMs, kTickMs);
  uv_signal_start(&sigint_, on_signal, SIGINT);
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  start_ns_ = uv_hrtime();
  if (options_.mode == Mode::Connect) {
    // Connect cycles are the load: there is no separate connect phase.
    phase_ = Phase::Warmup;
    schedule_advance(options_.warmup_s);
  } else {
    phase_ = Phase::Connecting;
  }
  for (auto& connection : connections_) request_connect(*connection);
  return true;
}

void Run::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

const sockaddr* Run::source_for(uint32_t index) const {
  if (sources_.empty()) return nullptr;
  return reinterpret_cast<const sockaddr*>(&sources_[index % sources_.size()]);
}

// ---- connect queue ---------------------------------------------------------

void Run::request_connect(Connection& connection) {
  connect_queue_.push_back(&connection);
  pump_connects();
}

// Starts queued connects while fewer than --connect-concurrency are in
// progress. A connect that fails at once releases its slot from inside
// connect(); the guard turns that recursion into this loop.
void Run::pump_connects() {
  if (pumping_) return;
  pumping_ = true;
  while (!connect_queue_.empty() && connects_in_progress_ < max_connects_in_progress_ &&
         phase_ < Phase::Closing) {
    Connection* connection = connect_queue_.front();
    connect_queue_.pop_front();
    ++connects_in_progress_;
    connection->connect();
  }
  pumping_ = false;
}

void Run::connect_slot_released() {
  --connects_in_progress_;
  pump_connects();
}

void Run::slot_settled() {
  ++settled_;
  if (phase_ == Phase::Connecting && settled_ == connections_.size()) schedule_advance(0);
}

// ---- counters --------------------------------------------------------------

void Run::handshake_completed(uint64_t latency_ns, bool resumed) {
  if (phase_ != Phase::Measure) return;
  ++results_.handshakes;
  if (resumed) ++results_.resumed;
  if (options_.mode == Mode::Connect) results_.latency.record(latency_ns / 1000);
}

void Run::messages_dropped(uint64_t count, bool lost) {
  outstanding_ -= count;
  if (lost) results_.lost += count;
  if (phase_ == Phase::Drain && outstanding_ == 0) schedule_advance(0);
}

void Run::count_error(ErrorKind kind, std::string_view detail) {
  ++results_.errors[static_cast<size_t>(kind)];
  if (results_.first_error.empty()) {
    results_.first_error =
        std::string(kErrorNames[static_cast<size_t>(kind)]) + ": " + std::string(detail);
  }
}

void Run::count_server_close(uint16_t code, uint64_t crossed) {
  ++results_.closes[code];
  results_.crossed_close += crossed;
}

// A slot reconnects when connect mode keeps cycling, or when --reconnect
// applies (the server closed it with a Close frame) and the run still needs
// it. Once Closing, the last closed socket ends the run.
void Run::socket_closed(Connection& connection) {
  --live_sockets_;
  if (options_.mode == Mode::Connect && (phase_ == Phase::Warmup || phase_ == Phase::Measure)) {
    if (connection.failed_before_open()) {
      request_connect_later(connection);
    } else {
      request_connect(connection);
    }
  } else if (connection.wants_reconnect() && phase_ <= Phase::Drain) {
    ++results_.reconnects;
    request_connect(connection);
  }
  if (phase_ == Phase::Closing && live_sockets_ == 0) schedule_advance(0);
}

void Run::request_connect_later(Connection& connection) {
  const uint64_t now = uv_now(&loop_);
  backoff_queue_.emplace_back(now + kConnectBackoffMs, &connection);
  if (backoff_queue_.size() == 1) {
    uv_timer_start(&backoff_timer_, on_backoff_timer, kConnectBackoffMs, 0);
  }
}

void Run::on_backoff_timer(uv_timer_t* timer) noexcept {
  static_cast<Run*>(timer->data)->backoff_due();
}

void Run::backoff_due() {
  const uint64_t now = uv_now(&loop_);
  while (!backoff_queue_.empty() && backoff_queue_.front().first <= now) {
    Connection* connection = backoff_queue_.front().second;
    backoff_queue_.pop_front();
    if (phase_ == Phase::Warmup || phase_ == Phase::Measure) request_connect(*connection);
  }
  if (!backoff_queue_.empty()) {
    uv_timer_start(&backoff_timer_, on_backoff_timer, backoff_queue_.front().first - now, 0);
  }
}

// ---- signals ---------------------------------------------------------------

void Run::on_signal(uv_signal_t* handle, int signum) noexcept {
  static_cast<Run*>(handle->data)->interrupt(signum);
}

// SIGINT or SIGTERM: stop early, keep what was measured, exit 1. A window
// in progress ends now (its figures cover the time it ran), then the usual
// drain and Close; before the window, straight to the Close. A second
// signal ends the run at once.
void Run::interrupt(int signum) {
  results_.interrupted = true;
  if (++interrupts_ == 1) {
    std::fprintf(stderr, "wsgate-loadgen: %s: stopping (again to stop at once)\n",
                 signum == SIGINT ? "SIGINT" : "SIGTERM");
  }
  if (interrupts_ > 1) {
    if (phase_ != Phase::Done) finish();
    return;
  }
  switch (phase_) {
    case Phase::Connecting:
      results_.connect_s = static_cast<double>(uv_hrtime() - start_ns_) / 1e9;
      begin_closing();
      break;
    case Phase::Warmup:
      begin_closing();
      break;
    case Phase::Measure:
      end_measure();
      break;
    case Phase::Drain:
    case Phase::Closing:
    case Phase::Done:
      break;  // already ending, within a few seconds
  }
}

// ---- phases ----------------------------------------------------------------

void Run::schedule_advance(double seconds) {
  uv_timer_start(&phase_timer_, on_phase_timer, to_ms(seconds), 0);
}

void Run::on_phase_timer(uv_timer_t* timer) noexcept {
  static_cast<Run*>(timer->data)->advance();
}

// Phase changes run here, from the phase timer, never inside a
// connection's callback: a connection never sees the run change under it.
void Run::advance() {
  switch (phase_) {
    case Phase::Connecting:
      results_.connect_s = static_cast<double>(uv_hrtime() - start_ns_) / 1e9;
      if (options_.mode == Mode::Echo && options_.warmup_s > 0) {
        phase_ = Phase::Warmup;
        schedule_advance(options_.warmup_s);
      } else {
        begin_measure();
      }
      if (options_.mode == Mode::Echo) start_all_traffic();
      break;
    case Phase::Warmup:
      begin_measure();
      break;
    case Phase::Measure:
      end_measure();
      break;
    case Phase::Drain:
      for (auto& connection : connections_) connection->give_up_outstanding();
      begin_closing();
      break;
    case Phase::Closing:
      finish();
      break;
    case Phase::Done:
      break;
  }
}

// Every connection is open (or failed): all start sending together.
void Run::start_all_traffic() {
  refresh_clock();
  for (auto& connection : connections_) connection->start_traffic_now();
}

void Run::begin_measure() {
  phase_ = Phase::Measure;
  if (!options_.cpu_counter.empty()) {
    cpu_start_ok_ = read_cpu_counter(options_.cpu_counter, cpu_start_ns_);
    if (!cpu_start_ok_) {
      std::fprintf(stderr,
                   "wsgate-loadgen: cannot read a CPU counter from %s; "
                   "server_cpu_us_per_msg stays 0\n",
                   options_.cpu_counter.c_str());
    }
  }
  measure_start_ns_ = uv_hrtime();
  // With -n the window ends on the N-th echo; the duration is only a bound
  // when nothing at all can arrive (see tick()).
  if (options_.messages == 0) schedule_advance(options_.duration_s);
}

void Run::end_measure() {
  const uint64_t end_ns = uv_hrtime();
  results_.duration_s = static_cast<double>(end_ns - measure_start_ns_) / 1e9;
  uint64_t cpu_end_ns = 0;
  if (cpu_start_ok_ && read_cpu_counter(options_.cpu_counter, cpu_end_ns)) {
    results_.have_cpu = true;
    results_.server_cpu_us = static_cast<double>(cpu_end_ns - cpu_start_ns_) / 1000.0;
  }
  for (auto& connection : connections_) {
    if (connection->state() == Connection::State::Open) ++results_.open_at_end;
  }
  if (options_.mode == Mode::Echo) {
    phase_ = Phase::Drain;
    schedule_advance(outstanding_ == 0 ? 0 : kDrainTimeoutS);
  } else {
    begin_closing();
  }
}

void Run::begin_closing() {
  phase_ = Phase::Closing;
  connect_queue_.clear();
  backoff_queue_.clear();
  uv_timer_stop(&backoff_timer_);
  for (auto& connection : connections_) connection->begin_close();
  schedule_advance(live_sockets_ == 0 ? 0 : kClosingTimeoutS);
}

// The end: whatever is still open is closed without ceremony; a socket
// still waiting for the server's Close reply counts a timeout.
void Run::finish() {
  if (phase_ == Phase::Done) return;
  phase_ = Phase::Done;
  for (auto& connection : connections_) {
    if (connection->state() == Connection::State::CloseSent) {
      count_error(ErrorKind::Timeout, "no Close reply before the end of the run");
    }
    connection->abort();
  }
  uv_timer_stop(&tick_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&phase_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&backoff_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
}

void Run::on_tick(uv_timer_t* timer) noexcept {
  static_cast<Run*>(timer->data)->tick();
}

// Timeouts of every connection, and the -n safety: a measured window that
// can make no progress (nothing in flight, nothing connecting) ends.
void Run::tick() {
  const uint64_t now_ms = uv_now(&loop_);
  for (auto& connection : connections_) connection->check_timeouts(now_ms);
  if (phase_ == Phase::Measure && options_.messages > 0 && outstanding_ == 0 &&
      connects_in_progress_ == 0 && connect_queue_.empty()) {
    schedule_advance(0);
  }
}

}  // namespace wsgate::loadgen
