// The exec relay (see exec.h).
#include "worker/relays/exec.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "config/config.h"
#include "worker/connection.h"
#include "worker/relays/exec_env.h"
#include "worker/worker_loop.h"
#include "ws/utf8.h"

extern char** environ;

namespace wsgate {

namespace {

// stderr lines logged per child and second; the rest are counted.
constexpr uint32_t kStderrLinesPerSecond = 20;
// Longer stderr lines are logged in pieces of this size.
constexpr size_t kStderrLineMax = 1024;

std::string signal_text(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

}  // namespace

ExecRelay::ExecRelay(Connection& client, const config::ExecConfig& exec, ExecTarget target)
    : Relay(client),
      exec_(exec),
      route_stats_(client.worker().route_stats(client.route())),
      stdin_(client.worker(), *this),
      stdout_(client.worker(), *this),
      stderr_(client.worker(), *this),
      target_(std::make_unique<ExecTarget>(std::move(target))) {}

std::optional<http::HttpError> ExecRelay::open(const http::Request& request) {
  const int rc = spawn(request);
  target_.reset();  // only the spawn needed it
  if (rc == 0) return std::nullopt;
  count(&WorkerStats::exec_spawn_failures, &RouteStats::exec_spawn_failures);
  const bool busy = rc == UV_EAGAIN || rc == UV_EMFILE || rc == UV_ENFILE || rc == UV_ENOMEM;
  return busy ? http::HttpError{503, "cannot start the program now"}
              : http::HttpError{500, "cannot start the program"};
}

int ExecRelay::spawn(const http::Request& request) {
  Worker& worker = client_.worker();
  // Real pipes, not the socket pairs libuv's UV_CREATE_PIPE makes: a line
  // through a pipe costs the program and the worker less (websocketd uses
  // pipes too). child[i] is the program's end, dup'ed onto fd i.
  // A guard, so that an exception (bad_alloc) leaks no pipe end either.
  struct ChildEnds {
    int fd[3] = {-1, -1, -1};
    ~ChildEnds() { close_all(); }
    void close_all() {
      for (int& end : fd) {
        if (end >= 0) close(end);
        end = -1;
      }
    }
  } ends;
  int (&child)[3] = ends.fd;
  auto close_child_ends = [&] { ends.close_all(); };
  Stream* const streams[3] = {&stdin_, &stdout_, &stderr_};
  for (int i = 0; i < 3; ++i) {
    if (const int rc = streams[i]->init(Stream::Kind::Pipe); rc != 0) {
      close_child_ends();
      return rc;
    }
    client_.hold();  // released by on_stream_closed
    int fds[2];
    // fds[0] reads, fds[1] writes; the worker's end is non-blocking.
    const bool worker_writes = i == 0;
    int rc = uv_pipe(fds, worker_writes ? 0 : UV_NONBLOCK_PIPE, worker_writes ? UV_NONBLOCK_PIPE : 0);
    if (rc != 0) {
      error_log().error("route {}: uv_pipe for the program's fd {}: {}", client_.route().path, i,
                        uv_strerror(rc));
      close_child_ends();
      return rc;
    }
    child[i] = fds[worker_writes ? 0 : 1];
    const int mine = fds[worker_writes ? 1 : 0];
    if ((rc = streams[i]->open_pipe(mine)) != 0) {
      close(mine);
      close_child_ends();
      return rc;
    }
  }
  const ExecTarget& target = *target_;
  // wsgate-exec PARENT_PID [limits] -- PROGRAM ARG...
  std::vector<std::string> args{worker.exec_launcher(), std::to_string(getpid())};
  auto limit = [&](const char* flag, const std::optional<uint64_t>& value) {
    if (!value) return;
    args.emplace_back(flag);
    args.push_back(std::to_string(*value));
  };
  limit("-n", exec_.rlimits.nofile);
  limit("-p", exec_.rlimits.nproc);
  limit("-a", exec_.rlimits.as);
  limit("-c", exec_.rlimits.cpu);
  args.emplace_back("--");
  args.push_back(target.program);
  if (exec_.scripts_dir.empty()) {
    args.insert(args.end(), exec_.command.begin() + 1, exec_.command.end());
  }
  ExecEnvFacts facts;
  facts.remote_addr = client_.peer_host();
  facts.remote_port = client_.peer_port();
  facts.https = client_.secure();
  facts.unique_id = std::to_string(getpid()) + "-" + std::to_string(uv_hrtime());
  facts.daemon_env = environ;
  std::vector<std::string> env = build_exec_env(exec_, target, request, facts);

  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  const std::string cwd = exec_.dir.empty() ? directory_of(target.program) : exec_.dir;

  uv_stdio_container_t stdio[3];
  for (int i = 0; i < 3; ++i) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = child[i];
  }
  uv_process_options_t options{};
  options.exit_cb = on_exit;
  options.file = argv[0];
  options.args = argv.data();
  options.env = envp.data();
  options.cwd = cwd.c_str();
  options.stdio_count = 3;
  options.stdio = stdio;
  // A session of its own: the process group is what the termination
  // sequence signals, and the terminal's signals never reach it.
  options.flags = UV_PROCESS_DETACHED;
  if (exec_.uid >= 0 && static_cast<uid_t>(exec_.uid) != geteuid()) {
    options.flags |= UV_PROCESS_SETUID;
    options.uid = static_cast<uv_uid_t>(exec_.uid);
  }
  if (exec_.gid >= 0 && static_cast<gid_t>(exec_.gid) != getegid()) {
    options.flags |= UV_PROCESS_SETGID;
    options.gid = static_cast<uv_gid_t>(exec_.gid);
  }
  process_.data = this;
  const int rc = uv_spawn(worker.loop(), &process_, &options);
  close_child_ends();  // the program has its copies (or never will)
  // uv_spawn initialises the handle even when it fails; it needs uv_close.
  process_open_ = true;
  client_.hold();  // released when the process handle has closed
  if (rc != 0) {
    error_log().error("route {}: uv_spawn({} -- {}) for {}: {}", client_.route().path, argv[0],
                      target.program, client_.peer_text(), uv_strerror(rc));
    return rc;
  }
  pid_ = process_.pid;
  running_ = true;
  count(&WorkerStats::exec_spawned, &RouteStats::exec_spawned);
  ++worker.stats().exec_processes_running;
  ++route_stats_.exec_processes_running;
  stderr_.start_reading();
  // stdout waits for start(): no message may precede the 101.
  return 0;
}

void ExecRelay::start() {
  stdout_.start_reading();
}

void ExecRelay::on_client_message(ws::Opcode opcode, std::span<const uint8_t> payload) {
  if (!stdin_.open() || stdin_.shutdown_wanted()) return;  // the program closed its stdin
  if (exec_.mode == config::ExecConfig::Mode::Binary) {
    stdin_.write({reinterpret_cast<const char*>(payload.data()), payload.size()});
    return;
  }
  if (opcode != ws::Opcode::Text) {
    program_failed(1003, "this route takes text messages only", false);
    return;
  }
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (text.find('\n') != std::string_view::npos) {
    // Two lines would reach the program as two messages it cannot tell
    // from one; refuse rather than split.
    program_failed(1003, "a text message may not contain a newline", false);
    return;
  }
  ByteBuffer& out = stdin_.output_buffer();
  out.append(text);
  out.push_back('\n');
  stdin_.wrote();
}

void ExecRelay::on_client_backpressure() {
  if (stdout_.open()) stdout_.pause(Stream::kPausePeer);
}

void ExecRelay::on_client_writable() {
  if (stdout_.open()) stdout_.resume(Stream::kPausePeer);
}

void ExecRelay::on_client_closed() {
  client_gone_ = true;
  terminate();
}

void ExecRelay::on_server_closing() {
  client_gone_ = true;
  terminate();
}

void ExecRelay::stop() {
  client_gone_ = true;
  terminate();
  close_streams();
  // A running program keeps its handle and timer until it is reaped.
  if (running_) return;
  close_timer();
  close_process();
}

void ExecRelay::close_streams() {
  stdin_.close();
  stdout_.close();
  stderr_.close();
}

void ExecRelay::close_process() {
  if (!process_open_ || process_closing_) return;
  process_closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&process_), [](uv_handle_t* handle) noexcept {
    static_cast<ExecRelay*>(handle->data)->client_.release();
  });
}

void ExecRelay::close_timer() {
  if (!timer_ || uv_is_closing(reinterpret_cast<uv_handle_t*>(timer_.get()))) return;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_.get()), [](uv_handle_t* handle) noexcept {
    static_cast<ExecRelay*>(handle->data)->client_.release();
  });
}

void ExecRelay::terminate() {
  if (terminating_) return;
  terminating_ = true;
  // What the client sent before it left still reaches the program, then
  // EOF. stdin is a pipe, so the shutdown itself fails (ENOTSOCK) once the
  // queue is written, and on_stream_end closes the pipe: that is the EOF.
  if (stdin_.open()) stdin_.shutdown_when_flushed();
  // Output has nowhere to go now; keep reading so the program is not
  // blocked on a full pipe while it handles its signals.
  if (stdout_.open()) stdout_.resume(Stream::kPausePeer);
  if (!running_) return;
  next_signal_ = 0;
  start_timer(wait_ms(0));
}

uint64_t ExecRelay::wait_ms(size_t gap) const {
  return static_cast<uint64_t>(exec_.kill_after[gap].count());
}

void ExecRelay::start_timer(uint64_t delay_ms) {
  if (!timer_) {
    timer_ = std::make_unique<uv_timer_t>();
    uv_timer_init(client_.worker().loop(), timer_.get());
    timer_->data = this;
    client_.hold();  // released by the timer's close callback
  }
  uv_timer_start(timer_.get(), on_timer, delay_ms, 0);
}

void ExecRelay::on_timer(uv_timer_t* timer) noexcept {
  auto* self = static_cast<ExecRelay*>(timer->data);
  try {
    self->timer_fired();
  } catch (const std::exception& e) {
    error_log().error("route {}: exec timer: {}", self->client_.route().path, e.what());
  }
}

void ExecRelay::timer_fired() {
  if (running_) {
    // The termination sequence: SIGINT, SIGTERM, SIGKILL, kill_after apart.
    static constexpr int kSequence[] = {SIGINT, SIGTERM, SIGKILL};
    signal_group(kSequence[next_signal_]);
    if (++next_signal_ < 3) start_timer(wait_ms(next_signal_));
    return;
  }
  // The program exited. While the client is slow, stdout is paused with
  // output still in the pipe: keep waiting (the client's own bounds,
  // write_queue_timeout and the idle timeout, end a client that never
  // reads). Otherwise something still holds stdout open (a process that
  // left the group) and has been quiet for kill_after[2]: stop waiting.
  if (stdout_.open() && stdout_.paused() && !client_gone_) {
    start_timer(wait_ms(2));
    return;
  }
  error_log().info("route {}: pid {} exited; its stdout is still open, closing it",
                   client_.route().path, pid_);
  stdout_done();
}

void ExecRelay::signal_group(int signal) {
  if (pid_ <= 0) return;
  if (kill(-pid_, signal) != 0 && errno != ESRCH) {
    error_log().warn("route {}: kill(-{}, {}): {}", client_.route().path, pid_, signal_text(signal),
                     std::strerror(errno));
  }
}

void ExecRelay::on_exit(uv_process_t* process, int64_t status, int signal) noexcept {
  auto* self = static_cast<ExecRelay*>(process->data);
  try {
    self->exited(status, signal);
  } catch (const std::exception& e) {
    error_log().error("route {}: exec exit: {}", self->client_.route().path, e.what());
  }
}

void ExecRelay::exited(int64_t status, int signal) {
  running_ = false;
  exit_status_ = status;
  exit_signal_ = signal;
  Worker& worker = client_.worker();
  --worker.stats().exec_processes_running;
  --route_stats_.exec_processes_running;
  if (signal != 0) {
    count(&WorkerStats::exec_exits_signal, &RouteStats::exec_exits_signal);
  } else if (status == 0) {
    count(&WorkerStats::exec_exits_ok, &RouteStats::exec_exits_ok);
  } else {
    count(&WorkerStats::exec_exits_error, &RouteStats::exec_exits_error);
  }
  // Whatever the program left running in its group goes with it.
  signal_group(SIGKILL);
  close_process();
  if (timer_) uv_timer_stop(timer_.get());
  if (!stdout_.open() || stdout_done_) {
    stdout_done();
    return;
  }
  // Its last output may still be in the pipe: wait for EOF, bounded.
  start_timer(wait_ms(2));
}

void ExecRelay::stdout_done() {
  if (!stdout_done_) {
    stdout_done_ = true;
    // A last line without "\n" is delivered too (websocketd drops it).
    if (!line_.empty() && !client_gone_) stdout_line(line_);
    line_.clear();
    line_.shrink_to_fit();
    stdout_.close();
  }
  if (running_) return;
  close_timer();
  maybe_finish();
}

void ExecRelay::maybe_finish() {
  if (finished_ || running_ || !stdout_done_) return;
  finished_ = true;
  if (client_gone_) return;
  if (exit_signal_ != 0) {
    client_.close_client(1011, "killed by signal " + signal_text(exit_signal_), CloseCause::Upstream);
  } else if (exit_status_ != 0) {
    client_.close_client(1011, "exit status " + std::to_string(exit_status_), CloseCause::Upstream);
  } else {
    client_.close_client(1000, "", CloseCause::Upstream);
  }
}

void ExecRelay::program_failed(uint16_t code, std::string_view reason, bool program_at_fault) {
  if (program_at_fault) {
    error_log().warn("route {}: pid {} (client {}): {}", client_.route().path, pid_,
                     client_.peer_text(), reason);
  }
  finished_ = true;
  client_gone_ = true;  // nothing more goes to the client
  client_.close_client(code, reason, program_at_fault ? CloseCause::Upstream : CloseCause::Policy);
  terminate();
}

// ---- the program's output ----------------------------------------------------

void ExecRelay::on_stream_read(Stream& stream, uint8_t* data, size_t size) noexcept {
  try {
    if (&stream == &stdout_) {
      stdout_bytes(data, size);
    } else if (&stream == &stderr_) {
      stderr_bytes(data, size);
    }
  } catch (const std::exception& e) {
    error_log().error("route {}: pid {}: {}", client_.route().path, pid_, e.what());
    program_failed(1011, "internal error", true);
  }
}

void ExecRelay::stdout_bytes(const uint8_t* data, size_t size) {
  // After the exit, the wait for stdout's end counts from the last read.
  if (!running_ && timer_) start_timer(wait_ms(2));
  if (client_gone_) return;
  if (exec_.mode == config::ExecConfig::Mode::Binary) {
    client_.send_message(ws::Opcode::Binary, {data, size});
    return;
  }
  const uint64_t max = client_.worker().config().limits.max_message;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty() && !client_gone_) {
    const size_t newline = rest.find('\n');
    if (newline == std::string_view::npos) {
      if (line_.size() + rest.size() > max) {
        program_failed(1009, "the program wrote a line longer than max_message", true);
        return;
      }
      line_.append(rest);
      return;
    }
    if (line_.size() + newline > max) {
      program_failed(1009, "the program wrote a line longer than max_message", true);
      return;
    }
    if (line_.empty()) {
      stdout_line(rest.substr(0, newline));
    } else {
      line_.append(rest.substr(0, newline));
      stdout_line(line_);
      line_.clear();
    }
    rest.remove_prefix(newline + 1);
  }
}

void ExecRelay::stdout_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(line.data()), line.size());
  if (!ws::is_valid_utf8(bytes)) {
    program_failed(1007, "the program wrote a line that is not UTF-8", true);
    return;
  }
  client_.send_message(ws::Opcode::Text, bytes);
}

void ExecRelay::stderr_bytes(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    const size_t take = std::min(newline == std::string_view::npos ? rest.size() : newline,
                                 kStderrLineMax - stderr_line_.size());
    stderr_line_.append(rest.substr(0, take));
    rest.remove_prefix(take);
    const bool ended = !rest.empty() && rest.front() == '\n';
    if (ended) rest.remove_prefix(1);
    if (ended || stderr_line_.size() >= kStderrLineMax) {
      log_stderr_line(stderr_line_);
      stderr_line_.clear();
    }
  }
}

void ExecRelay::report_suppressed() {
  if (stderr_suppressed_ == 0) return;
  error_log().warn("route {}: pid {} (client {}): {} stderr lines suppressed",
                   client_.route().path, pid_, client_.peer_text(), stderr_suppressed_);
  stderr_suppressed_ = 0;
}

void ExecRelay::log_stderr_line(std::string_view line) {
  WorkerStats& stats = client_.worker().stats();
  const uint64_t now = client_.worker().now();
  if (now - stderr_window_start_ >= 1000) {
    report_suppressed();
    stderr_window_start_ = now;
    stderr_in_window_ = 0;
    stderr_suppressed_ = 0;
  }
  if (++stderr_in_window_ > kStderrLinesPerSecond) {
    ++stderr_suppressed_;
    ++stats.exec_stderr_suppressed;
    return;
  }
  ++stats.exec_stderr_lines;
  error_log().info("route {}: pid {} (client {}) stderr: {}", client_.route().path, pid_,
                   client_.peer_text(), escape_for_log(line, kStderrLineMax));
}

void ExecRelay::on_stream_end(Stream& stream, int status) noexcept {
  try {
    if (&stream == &stdout_) {
      if (status != UV_EOF) {
        error_log().debug("route {}: pid {} stdout: {}", client_.route().path, pid_, uv_strerror(status));
      }
      stdout_done();
    } else if (&stream == &stderr_) {
      if (!stderr_line_.empty()) log_stderr_line(stderr_line_);
      stderr_line_.clear();
      report_suppressed();
      stderr_.close();
    } else {
      // The program closed its stdin (or exited): what the client sends
      // from now on is dropped, and its reads must not stay paused.
      stdin_.close();
      client_.resume_client_reads(Stream::kPausePeer);
    }
  } catch (const std::exception& e) {
    error_log().error("route {}: pid {}: {}", client_.route().path, pid_, e.what());
  }
}

void ExecRelay::on_stream_pressure(Stream& stream, bool above) noexcept {
  if (&stream != &stdin_) return;
  // SEC-BP-01: a program that does not read its stdin stops the client.
  if (above) {
    client_.pause_client_reads(Stream::kPausePeer);
  } else {
    client_.resume_client_reads(Stream::kPausePeer);
  }
}

void ExecRelay::on_stream_closed(Stream& stream) noexcept {
  if (&stream == &stdin_) client_.resume_client_reads(Stream::kPausePeer);
  client_.release();
}

std::string ExecRelay::describe(const Stream& stream) const {
  const char* which = &stream == &stdin_ ? "stdin" : &stream == &stdout_ ? "stdout" : "stderr";
  return std::string(which) + " of pid " + std::to_string(pid_) + " (route " +
         client_.route().path + ")";
}

void ExecRelay::append_log_fields(std::string& out) const {
  out += " pid=";
  out += pid_ > 0 ? std::to_string(pid_) : "-";
  out += " exit=";
  if (exit_signal_ != 0) {
    out += signal_text(exit_signal_);
  } else if (exit_status_ >= 0 && !running_) {
    out += std::to_string(exit_status_);
  } else {
    out += "-";
  }
}

}  // namespace wsgate
