// One load-generation run: the loop, the phases (connect, warm-up, measure,
// drain, close), the connect queue, the timers, the signal handlers and the
// counters. Single threaded; every callback runs on the loop.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loadgen/connection.h"
#include "loadgen/options.h"
#include "loadgen/payload.h"
#include "loadgen/results.h"
#include "loadgen/tls_client.h"
#include "ws/frame_writer.h"

namespace wsgate::loadgen {

enum class Phase : uint8_t { Connecting, Warmup, Measure, Drain, Closing, Done };

class Run {
 public:
  explicit Run(const Options& options);
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  ~Run();

  // Resolves the target, builds the TLS context, starts the timers and the
  // first connects. Returns false with `error` set when the run cannot start.
  bool start(std::string& error);
  // Runs the loop until the run is over and every handle is closed.
  void run();
  Results& results() { return results_; }

  // ---- for Connection ----------------------------------------------------
  const Options& options() const { return options_; }
  uv_loop_t* loop() { return &loop_; }
  Phase phase() const { return phase_; }
  const PayloadTemplate& payload() const { return payload_; }
  const TlsContext& tls() const { return tls_; }
  const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&address_); }
  // The source address for slot `index` (--sources), or nullptr: no bind.
  const sockaddr* source_for(uint32_t index) const;
  // Messages may be sent (echo mode, from the warm-up until the drain). In
  // the connect phase nothing is sent: every connection is opened first and
  // all start together when the warm-up begins.
  bool may_send() const { return phase_ == Phase::Warmup || phase_ == Phase::Measure; }
  // A cheap PRNG (xorshift64*): mask keys and handshake nonces. Masking in a
  // load generator only has to be legal on the wire, not unpredictable; a
  // CSPRNG call per frame would make the client the bottleneck.
  uint64_t random64() {
    random_state_ ^= random_state_ >> 12;
    random_state_ ^= random_state_ << 25;
    random_state_ ^= random_state_ >> 27;
    return random_state_ * 0x2545F4914F6CDD1DULL;
  }
  // The time of the current callback, ns (refresh_clock() sets it).
  uint64_t now_ns() const { return now_ns_; }
  void refresh_clock() { now_ns_ = uv_hrtime(); }
  // The shared buffers a read callback works in (single thread).
  uint8_t* read_buffer() { return read_buffer_.get(); }
  size_t read_buffer_size() const { return kReadBufferSize; }
  uint8_t* plaintext_buffer() { return plaintext_buffer_.get(); }
  size_t plaintext_buffer_size() const { return kReadBufferSize; }

  void socket_opened() { ++live_sockets_; }
  // The connect slot of a finished (or failed) handshake is free again.
  void connect_slot_released();
  // The first connect of a slot succeeded or failed (ends the connect phase).
  void slot_settled();
  // A handshake completed (or, raw, a TCP connect): counts it in the window.
  void handshake_completed(uint64_t latency_ns, bool resumed);
  void handshake_failed() { ++results_.handshakes_failed; }
  // One echo came back (hot path, hence inline). With -n, echoes past the
  // N-th in the same read are not counted: the window closes on the N-th,
  // the phase change only follows it.
  void echo_received(uint64_t latency_ns) {
    --outstanding_;
    if (phase_ == Phase::Measure &&
        (options_.messages == 0 || results_.messages < options_.messages)) {
      results_.latency.record(latency_ns / 1000);
      ++results_.messages;
      if (results_.messages == options_.messages) schedule_advance(0);
    } else if (phase_ == Phase::Drain && outstanding_ == 0) {
      schedule_advance(0);
    }
  }
  // The header of every data frame, mask key all zero: a sender copies it
  // and writes its key into the last 4 bytes (built once with
  // ws::make_frame_header; the length never changes).
  const ws::FrameHeader& data_frame_header() const { return data_frame_header_; }
  void messages_sent(uint64_t count) { outstanding_ += count; }
  // In-flight messages that will never be echoed: `lost` counts them as
  // lost, otherwise they crossed a Close and are just dropped.
  void messages_dropped(uint64_t count, bool lost);
  void count_error(ErrorKind kind, std::string_view detail);
  void count_server_close(uint16_t code, uint64_t crossed);
  // The socket of `connection` is closed and freed; may reconnect the slot.
  void socket_closed(Connection& connection);

 private:
  static constexpr size_t kReadBufferSize = 256 * 1024;

  static void on_phase_timer(uv_timer_t* timer) noexcept;
  static void on_tick(uv_timer_t* timer) noexcept;
  static void on_backoff_timer(uv_timer_t* timer) noexcept;
  static void on_signal(uv_signal_t* handle, int signum) noexcept;
  void advance();
  void start_all_traffic();
  void interrupt(int signum);
  void request_connect_later(Connection& connection);
  void backoff_due();
  void schedule_advance(double seconds);
  void begin_measure();
  void end_measure();
  void begin_closing();
  void finish();
  void request_connect(Connection& connection);
  void pump_connects();
  void tick();

  const Options options_;
  uv_loop_t loop_{};
  uv_timer_t phase_timer_{};
  uv_timer_t tick_timer_{};
  uv_timer_t backoff_timer_{};
  uv_signal_t sigint_{};
  uv_signal_t sigterm_{};
  uint32_t interrupts_ = 0;
  Phase phase_ = Phase::Connecting;
  PayloadTemplate payload_;
  ws::FrameHeader data_frame_header_;
  TlsContext tls_;
  sockaddr_storage address_{};
  std::vector<sockaddr_in> sources_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::deque<Connection*> connect_queue_;
  // Connect mode: slots whose last attempt failed before the 101, with the
  // uv_now() at which they may try again (a constant delay: FIFO order).
  std::deque<std::pair<uint64_t, Connection*>> backoff_queue_;
  uint32_t connects_in_progress_ = 0;
  uint32_t max_connects_in_progress_ = 0;
  bool pumping_ = false;
  uint32_t settled_ = 0;
  uint64_t live_sockets_ = 0;
  uint64_t outstanding_ = 0;
  uint64_t random_state_ = 0x9E3779B97F4A7C15ULL;
  uint64_t now_ns_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t measure_start_ns_ = 0;
  uint64_t cpu_start_ns_ = 0;
  bool cpu_start_ok_ = false;
  std::unique_ptr<uint8_t[]> read_buffer_;
  std::unique_ptr<uint8_t[]> plaintext_buffer_;
  Results results_;

  friend class Connection;
};

}  // namespace wsgate::loadgen
