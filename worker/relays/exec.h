// The exec relay: one program per WebSocket, as websocketd runs them, with
// backpressure both ways and bounded memory. The program runs through the
// wsgate-exec launcher (resource limits, death with its worker) in a
// session and process group of its own, with a CGI-style environment
// (exec_env.h) and nothing else of the daemon's.
//
// Text mode: each client text message is written to stdin with "\n"; each
// stdout line is one text message. Binary mode: payloads as bytes both
// ways. stderr lines go to the error log, rate-limited.
//
// Ending: the program exits -> its output is delivered, then Close 1000
// (status 0) or 1011 naming the status or signal; whatever is left in its
// process group is killed. The client goes -> stdin is closed, then the
// process group gets SIGINT, SIGTERM and SIGKILL, kill_after apart; the
// connection is freed once the program is reaped.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/route_stats.h"
#include "common/stats.h"
#include "worker/relay.h"
#include "worker/relays/exec_env.h"
#include "worker/stream.h"

namespace wsgate {

namespace config {
struct ExecConfig;
}

class ExecRelay final : public Relay, private StreamOwner {
 public:
  // `exec` lives in the worker's Config; `target` is what the request runs.
  ExecRelay(Connection& client, const config::ExecConfig& exec, ExecTarget target);

  std::optional<http::HttpError> open(const http::Request& request) override;
  void start() override;
  void on_client_message(ws::Opcode opcode, std::span<const uint8_t> payload) override;
  void on_client_backpressure() override;
  void on_client_writable() override;
  void on_client_closed() override;
  // A drain, stop or limit closes the client: the program is ended at once
  // rather than when the client answers.
  void on_server_closing() override;
  void stop() override;
  unsigned extra_fds() const override { return 3; }
  uint64_t buffered_bytes() const override { return stdin_.queued_bytes(); }
  void append_log_fields(std::string& out) const override;

 private:
  // StreamOwner, for stdin, stdout and stderr.
  void on_stream_read(Stream& stream, uint8_t* data, size_t size) noexcept override;
  void on_stream_end(Stream& stream, int status) noexcept override;
  void on_stream_pressure(Stream& stream, bool above) noexcept override;
  void on_stream_closed(Stream& stream) noexcept override;
  std::string describe(const Stream& stream) const override;

  static void on_exit(uv_process_t* process, int64_t status, int signal) noexcept;
  static void on_timer(uv_timer_t* timer) noexcept;
  void exited(int64_t status, int signal);
  void timer_fired();
  // Starts the program: 0 or a libuv error (logged).
  int spawn(const http::Request& request);
  void stdout_bytes(const uint8_t* data, size_t size);
  void stdout_line(std::string_view line);
  void stderr_bytes(const uint8_t* data, size_t size);
  void log_stderr_line(std::string_view line);
  // One warn line for the stderr lines the rate limit kept out, if any.
  void report_suppressed();
  // The client left (or the connection is going): close stdin and start
  // the signal sequence.
  void terminate();
  void signal_group(int signal);
  void start_timer(uint64_t delay_ms);
  uint64_t wait_ms(size_t gap) const;  // exec.kill_after[gap] in ms
  // stdout ended (EOF, error, or given up on after the exit).
  void stdout_done();
  // Closes the client once the program has exited and its stdout ended.
  void maybe_finish();
  // Ends the exchange early: closes the client with `code` and ends the
  // program. `program_at_fault` (it broke the text contract) is logged.
  void program_failed(uint16_t code, std::string_view reason, bool program_at_fault);
  void close_process();
  void close_timer();
  void close_streams();

  const config::ExecConfig& exec_;
  RouteStats& route_stats_;
  Stream stdin_;
  Stream stdout_;
  Stream stderr_;
  uv_process_t process_{};
  std::unique_ptr<ExecTarget> target_;  // until the spawn
  std::unique_ptr<uv_timer_t> timer_;  // termination sequence / output wait
  std::string line_;                   // text mode: stdout's unfinished line
  std::string stderr_line_;            // stderr's unfinished line (truncated)
  uint64_t stderr_window_start_ = 0;   // rate limit: one-second window
  uint32_t stderr_in_window_ = 0;
  uint32_t stderr_suppressed_ = 0;
  int pid_ = 0;
  int64_t exit_status_ = -1;
  int exit_signal_ = 0;
  uint8_t next_signal_ = 0;  // index into the INT, TERM, KILL sequence
  bool process_open_ = false;  // uv_spawn was called: the handle needs uv_close
  bool process_closing_ = false;
  bool running_ = false;       // spawned and not yet reaped
  bool stdout_done_ = false;
  bool terminating_ = false;
  bool client_gone_ = false;
  bool finished_ = false;  // the client close for the exit was asked for
  bool paused_stdout_ = false;
};

}  // namespace wsgate
