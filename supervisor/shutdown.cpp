// Stopping: a failed start, the fast stop (SIGTERM, SIGINT, wsgatectl
// stop), the graceful stop (SIGQUIT, wsgatectl graceful-stop) and the end.
#include <signal.h>

#include "supervisor/control_socket.h"
#include "supervisor/supervisor.h"

namespace wsgate::supervisor {

// Generation 1 never became READY: kill what was started and exit 1. The
// error reaches the launcher (or stderr) once everything is cleaned up.
void Supervisor::fail_startup(const std::string& error) {
  if (mode_ != Mode::Starting) return;
  error_log().critical("startup failed: {}", error);
  startup_error_ = error;
  exit_code_ = 1;
  mode_ = Mode::Stopping;
  for (auto& [pid, process] : processes_) {
    if (process->reaped) continue;
    transition(*process, WorkerState::Stopping);
    send_signal(*process, SIGKILL);
  }
  maybe_finish();
}

void Supervisor::abort_reload(std::string_view reason) {
  if (!reload_) return;
  Reload reload = std::move(*reload_);
  reload_.reset();
  listeners_.rollback();
  error_log().warn("reload of generation {} abandoned: {}", reload.generation, reason);
  for (uint64_t request : reload.requesters) reply_error(request, reason);
}

// Every worker gets STOP (close every connection with 1001, exit); what
// still runs after timeouts.stop is killed.
void Supervisor::stop_fast(std::string_view reason) {
  if (mode_ == Mode::Stopping) {
    error_log().info("{}: already stopping", reason);
    maybe_finish();
    return;
  }
  if (mode_ == Mode::Starting) {
    startup_error_ = "stopped during startup (" + std::string(reason) + ")";
    exit_code_ = 1;
  }
  error_log().warn("{}: fast stop, closing every connection", reason);
  notifier_.stopping("fast stop: " + std::string(reason));
  mode_ = Mode::Stopping;
  reload_queued_ = false;
  abort_reload("wsgated is stopping");
  for (Slot& slot : slots_) slot.respawn_at_ms = 0;
  const uint64_t deadline = now() + static_cast<uint64_t>(config_->timeouts.stop.count());
  for (auto& [pid, process] : processes_) {
    if (process->reaped) continue;
    if (process->channel != nullptr) process->channel->send(ChannelMessage::Stop);
    transition(*process, WorkerState::Stopping);
    if (process->kill_at_ms == 0 || process->kill_at_ms > deadline) process->kill_at_ms = deadline;
  }
  maybe_finish();
}

// New connections are refused at once (the listen sockets close here and
// workers stop accepting on DRAIN); existing ones drain; then exit.
void Supervisor::stop_graceful(std::string_view reason) {
  if (mode_ == Mode::Stopping || mode_ == Mode::GracefulStopping) {
    error_log().info("{}: already stopping", reason);
    return;
  }
  if (mode_ == Mode::Starting) {
    stop_fast(reason);
    return;
  }
  error_log().warn("{}: graceful stop, draining every worker", reason);
  notifier_.stopping("graceful stop: " + std::string(reason));
  mode_ = Mode::GracefulStopping;
  reload_queued_ = false;
  abort_reload("wsgated is stopping");
  for (Slot& slot : slots_) slot.respawn_at_ms = 0;
  listeners_.close_all();
  for (auto& [pid, process] : processes_) {
    if (process->reaped) continue;
    if (process->state != WorkerState::Starting && process->state != WorkerState::Ready) continue;
    if (process->channel != nullptr) process->channel->send(ChannelMessage::Drain);
    transition(*process, WorkerState::Draining);
    process->kill_at_ms =
        now() + static_cast<uint64_t>(process->config->timeouts.drain.count()) + kDrainKillSlackMs;
  }
  maybe_finish();
}

// Once stopping and every worker is gone: remove the pid file and control
// socket, answer whoever waits, and close every handle so uv_run returns.
void Supervisor::maybe_finish() {
  if (finished_ || (mode_ != Mode::Stopping && mode_ != Mode::GracefulStopping)) return;
  if (!processes_.empty()) return;
  finished_ = true;
  remove_control_socket(config_->control_socket);
  lock_.remove();
  error_log().info("all workers exited; wsgated exits with code {}", exit_code_);
  for (uint64_t request : stop_requesters_) control_->reply(request, "{\"ok\":true}");
  stop_requesters_.clear();
  for (const StatsQuery& query : stats_queries_) control_->reply(query.request, stats_json());
  stats_queries_.clear();
  control_->fail_pending("wsgated is exiting");
  events_.end_all(*control_);
  control_->close();
  if (metrics_) metrics_->close();
  for (uv_signal_t& handle : signals_) {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&handle), nullptr);
    }
  }
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tick_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  }
  error_log().flush();
}

}  // namespace wsgate::supervisor
