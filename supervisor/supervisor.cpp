// The supervisor loop: signals set work for the loop, a housekeeping tick
// enforces every deadline, and channel messages drive the worker table
// (worker_slots.cpp).
#include "supervisor/supervisor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "common/unix_socket.h"
#include "supervisor/control_socket.h"

namespace wsgate::supervisor {

namespace {

constexpr uint64_t kOrphanSweepMs = 1000;

constexpr int kSignals[] = {SIGCHLD, SIGUSR1, SIGHUP, SIGTERM, SIGINT, SIGQUIT};

// Runs `body`, turning an escaping exception into a log line: libuv
// callbacks are noexcept.
template <typename Body>
void guarded(const char* where, Body&& body) noexcept {
  try {
    body();
  } catch (const std::exception& e) {
    try {
      error_log().critical("{}: unexpected exception: {}", where, e.what());
    } catch (...) {
    }
  } catch (...) {
    try {
      error_log().critical("{}: unexpected exception", where);
    } catch (...) {
    }
  }
}

}  // namespace

Supervisor::Supervisor(config::ConfigPtr config, std::shared_ptr<const tls::ServerTls> server_tls,
                       std::shared_ptr<const tls::UpstreamTls> upstream_tls,
                       tls::TicketKeyRing ticket_keys, ListenerSet& listeners, LockFile& lock,
                       ReadinessPipe& readiness, ServiceNotifier& notifier)
    : config_(std::move(config)),
      exec_routes_seen_(config_->has_exec_route()),
      tls_(std::move(server_tls)),
      upstream_tls_(std::move(upstream_tls)),
      ticket_keys_(std::move(ticket_keys)),
      listeners_(listeners),
      lock_(lock),
      readiness_(readiness),
      notifier_(notifier) {}

Supervisor::~Supervisor() {
  if (loop_ready_) {
    const int rc = uv_loop_close(&loop_);
    if (rc < 0) error_log().error("uv_loop_close: {}", uv_strerror(rc));
  }
}

LogIdentity Supervisor::identity() const {
  return LogIdentity{"supervisor", -1, generation_};
}

int Supervisor::run(int control_fd, ControlAccess access) {
  int rc = uv_loop_init(&loop_);
  if (rc < 0) {
    close(control_fd);
    startup_error_ = std::string("uv_loop_init: ") + uv_strerror(rc);
    error_log().critical("{}", startup_error_);
    lock_.remove();
    remove_control_socket(config_->control_socket);
    return 1;
  }
  loop_ready_ = true;
  // Every handle exists before anything can fail, so maybe_finish() can
  // always close them all.
  for (size_t i = 0; i < signals_.size(); ++i) {
    uv_signal_init(&loop_, &signals_[i]);
    signals_[i].data = this;
  }
  uv_timer_init(&loop_, &tick_);
  tick_.data = this;
  control_ =
      std::make_unique<ControlServer>(&loop_, static_cast<ControlServer::Handler&>(*this), access);
  if (faults_.stream_backlog_bytes != 0) control_->set_stream_backlog(faults_.stream_backlog_bytes);
  started_ms_ = now();
  ticket_keys_made_ms_ = started_ms_;

  for (size_t i = 0; i < signals_.size(); ++i) {
    rc = uv_signal_start(&signals_[i], on_signal, kSignals[i]);
    if (rc < 0) {
      error_log().critical("uv_signal_start({}): {}", signal_name(kSignals[i]), uv_strerror(rc));
      close(control_fd);
      fail_startup(std::string("uv_signal_start: ") + uv_strerror(rc));
      uv_run(&loop_, UV_RUN_DEFAULT);
      return exit_code_;
    }
  }
  // Exec programs orphaned by a worker's death are adopted here rather
  // than by init, so kill_orphans() can end them (see worker_slots.cpp).
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    error_log().warn("prctl(PR_SET_CHILD_SUBREAPER, 1): {}", errno_text(errno));
  }
  uv_timer_start(&tick_, on_tick, kTickMs, kTickMs);
  if (metrics_fd_ >= 0) {
    metrics_ = std::make_unique<MetricsServer>(&loop_, [this] { return metrics_text(); });
    metrics_->set_path(config_->metrics.path);
  }
  const int metrics_fd = std::exchange(metrics_fd_, -1);
  if (control_->start(control_fd) < 0) {
    if (metrics_fd >= 0) close(metrics_fd);
    fail_startup("cannot serve the control socket " + config_->control_socket);
  } else if (metrics_ && metrics_->start(metrics_fd) < 0) {
    fail_startup("cannot serve metrics on " + config_->metrics.address);
  } else {
    slots_.assign(config_->workers, Slot{});
    startup_deadline_ms_ = now() + static_cast<uint64_t>(config_->timeouts.worker_start.count());
    error_log().info("starting generation 1: {} workers", config_->workers);
    for (unsigned slot = 0; slot < config_->workers && mode_ == Mode::Starting; ++slot) {
      WorkerProcess* process =
          spawn(static_cast<int>(slot), generation_, config_, tls_, upstream_tls_);
      if (process == nullptr) {
        fail_startup("cannot fork worker slot " + std::to_string(slot));
        break;
      }
      slots_[slot].pid = process->pid;
    }
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

void Supervisor::on_signal(uv_signal_t* handle, int signum) noexcept {
  auto* self = static_cast<Supervisor*>(handle->data);
  guarded("signal", [&] { self->handle_signal(signum); });
}

void Supervisor::handle_signal(int signum) {
  switch (signum) {
    case SIGCHLD:
      reap_children();
      break;
    case SIGUSR1:
      error_log().info("SIGUSR1 received: graceful reload");
      request_reload(std::nullopt);
      break;
    case SIGHUP:
      error_log().info("SIGHUP received: reopening log files");
      reopen_logs(std::nullopt);
      break;
    case SIGTERM:
    case SIGINT:
      stop_fast(std::string(signal_name(signum)) + " received");
      break;
    case SIGQUIT:
      stop_graceful("SIGQUIT received");
      break;
    default:
      break;
  }
}

void Supervisor::on_tick(uv_timer_t* timer) noexcept {
  auto* self = static_cast<Supervisor*>(timer->data);
  guarded("tick", [&] { self->tick(); });
}

// Every deadline of the table, checked each kTickMs: final reports, kills
// that are due, the watchdog, slow starters, respawns, reload and stats.
void Supervisor::tick() {
  const uint64_t t = now();
  std::vector<pid_t> pids;
  pids.reserve(processes_.size());
  for (const auto& [pid, process] : processes_) pids.push_back(pid);

  for (pid_t pid : pids) {
    WorkerProcess* p = find(pid);
    if (p == nullptr) continue;
    if (p->reaped) {
      if (t - p->reaped_ms >= kFinalReportWaitMs) {
        if (p->channel != nullptr) p->channel->close();
        p->channel = nullptr;
        finalize(pid);
      }
      continue;
    }
    if (p->killed) continue;  // SIGKILL cannot fail: only its reaping is left
    if (p->kill_at_ms != 0 && t >= p->kill_at_ms) {
      error_log().warn("worker slot {} pid {} gen {} still runs in state {}; sending SIGKILL",
                       p->slot, p->pid, p->generation, state_name(p->state));
      p->kill_at_ms = 0;
      send_signal(*p, SIGKILL);
      continue;
    }
    const uint64_t watchdog = static_cast<uint64_t>(p->config->timeouts.watchdog.count());
    if (watchdog > 0 && !p->watchdog_fired &&
        (p->state == WorkerState::Ready || p->state == WorkerState::Draining) &&
        t - p->last_report_ms > watchdog) {
      error_log().error(
          "worker slot {} pid {} gen {}: no report for {} ms (watchdog {} ms); sending SIGABRT",
          p->slot, p->pid, p->generation, t - p->last_report_ms, watchdog);
      p->watchdog_fired = true;
      send_signal(*p, SIGABRT);
      p->kill_at_ms = t + kWatchdogKillGraceMs;
      continue;
    }
    const uint64_t start_limit = static_cast<uint64_t>(p->config->timeouts.worker_start.count());
    const bool in_reload = reload_ && p->generation == reload_->generation;
    if (p->state == WorkerState::Starting && mode_ == Mode::Running && !in_reload &&
        t - p->started_ms > start_limit) {
      error_log().error("worker slot {} pid {} gen {}: not READY after {} ms; sending SIGKILL",
                        p->slot, p->pid, p->generation, start_limit);
      send_signal(*p, SIGKILL);
    }
  }

  if (mode_ == Mode::Starting && t >= startup_deadline_ms_) {
    for (const Slot& slot : slots_) {
      const WorkerProcess* p = find(slot.pid);
      if (p != nullptr && p->state == WorkerState::Starting) {
        fail_startup("worker slot " + std::to_string(p->slot) + " not READY after " +
                     std::to_string(config_->timeouts.worker_start.count()) + " ms");
        break;
      }
    }
  }
  if (mode_ == Mode::Running) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].respawn_at_ms != 0 && t >= slots_[i].respawn_at_ms)
        respawn(static_cast<int>(i));
    }
  }
  send_console_updates();
  if (reload_ && t >= reload_->deadline_ms) {
    for (pid_t pid : reload_->pids) {
      const WorkerProcess* p = find(pid);
      if (p != nullptr && p->state != WorkerState::Ready) {
        fail_reload("rollback: worker slot " + std::to_string(p->slot) + " not READY after " +
                    std::to_string(reload_->config->timeouts.worker_start.count()) + " ms");
        break;
      }
    }
  }
  rotate_ticket_keys_when_due();
  check_stats_queries();
  // A descendant of an exec program that left its process group (setsid)
  // and outlived its parent is adopted here (PR_SET_CHILD_SUBREAPER).
  // Nothing signals an adoption, so such orphans are looked for once a
  // second while exec routes exist.
  if (exec_routes_seen_ && t - last_orphan_sweep_ms_ >= kOrphanSweepMs) {
    last_orphan_sweep_ms_ = t;
    kill_orphans();
  }
}

void Supervisor::rotate_ticket_keys_when_due() {
  const uint64_t period = static_cast<uint64_t>(config_->ticket_key_rotation.count());
  if (now() - ticket_keys_made_ms_ < period) return;
  if (!tls_) {
    // No TLS listener: nothing uses the keys. A reload that adds one starts
    // from the current key and rotates from then on.
    ticket_keys_made_ms_ = now();
    return;
  }
  try {
    ticket_keys_.rotate();
  } catch (const std::exception& e) {
    // The current key stays in use; the next tick tries again.
    error_log().error("rotating the session ticket key: {}", e.what());
    return;
  }
  ticket_keys_made_ms_ = now();
  const std::string payload = ticket_keys_.encode();
  size_t told = 0;
  for (auto& [pid, process] : processes_) {
    if (process->reaped || process->channel == nullptr) continue;
    if (process->channel->send(ChannelMessage::TicketKeys, payload) == 0) {
      ++told;
    } else {
      // That worker goes on with the old keys until it exits: its tickets
      // stop opening elsewhere one period early, nothing worse.
      error_log().error("worker slot {} pid {}: could not send the new ticket key", process->slot,
                        pid);
    }
  }
  error_log().info("session ticket key rotated; {} workers told", told);
}

void Supervisor::reopen_logs(std::optional<uint64_t> requester) {
  const bool ok = setup_logging(config_->log, identity());
  if (ok) {
    error_log().info("log files reopened");
  } else {
    error_log().error("reopening log files: {}", last_logging_error());
  }
  size_t told = 0;
  for (auto& [pid, process] : processes_) {
    if (process->reaped || process->channel == nullptr) continue;
    if (process->channel->send(ChannelMessage::Reopen) == 0) ++told;
  }
  error_log().info("told {} workers to reopen their log files", told);
  if (requester) {
    if (ok) {
      control_->reply(*requester, "{\"ok\":true}");
    } else {
      reply_error(requester, last_logging_error());
    }
  }
}

void Supervisor::on_channel_message(WorkerChannel& channel, ChannelMessage type,
                                    std::string_view payload) noexcept {
  guarded("channel", [&] {
    WorkerProcess* process = find(channel.pid());
    if (process == nullptr) return;
    switch (type) {
      case ChannelMessage::Ready:
        process->last_report_ms = now();
        if (process->state == WorkerState::Starting) {
          transition(*process, WorkerState::Ready);
          on_worker_ready(*process);
        }
        break;
      case ChannelMessage::Stats:
        if (payload.size() != sizeof(WorkerStats)) {
          error_log().warn("worker slot {} pid {}: stats report of {} bytes, expected {}",
                           process->slot, process->pid, payload.size(), sizeof(WorkerStats));
          break;
        }
        std::memcpy(&process->stats, payload.data(), sizeof(WorkerStats));
        process->last_report_ms = now();
        on_stats_report(process->pid);
        break;
      case ChannelMessage::RouteStats:
        if (!decode_route_stats(payload, process->routes)) {
          error_log().warn("worker slot {} pid {}: malformed route stats report of {} bytes",
                           process->slot, process->pid, payload.size());
        }
        break;
      case ChannelMessage::Events:
        if (!events_.publish(payload, *control_)) {
          error_log().warn("worker slot {} pid {}: malformed events message of {} bytes",
                           process->slot, process->pid, payload.size());
        }
        break;
      case ChannelMessage::ConsoleWanted:
        process->console = payload == "1";
        break;
      case ChannelMessage::LogFailure:
        error_log().error("worker slot {} pid {} cannot log: {}", process->slot, process->pid,
                          escape_for_log(payload, 1024));
        break;
      default:
        error_log().warn("worker slot {} pid {}: unexpected channel message type {}", process->slot,
                         process->pid, static_cast<int>(type));
        break;
    }
  });
}

void Supervisor::on_channel_lost(WorkerChannel& channel, int error) noexcept {
  guarded("channel", [&] {
    WorkerProcess* process = find(channel.pid());
    if (process == nullptr) return;
    process->channel = nullptr;
    process->channel_lost_ms = now();
    const pid_t pid = process->pid;
    on_stats_report(pid);  // no fresh report can come any more
    process = find(pid);
    if (process == nullptr) return;
    if (process->reaped) {
      finalize(process->pid);
      return;
    }
    if (error != 0) {
      error_log().error("worker slot {} pid {} gen {}: channel failed: {}", process->slot,
                        process->pid, process->generation, uv_strerror(error));
    } else {
      error_log().debug("worker slot {} pid {} gen {}: channel closed", process->slot, process->pid,
                        process->generation);
    }
    if (process->generation == generation_) assign_accepting();  // it can be told nothing now
    // A worker without a channel is gone or broken: it gets a moment to exit.
    const uint64_t deadline = now() + kChannelLostGraceMs;
    if (process->kill_at_ms == 0 || process->kill_at_ms > deadline) process->kill_at_ms = deadline;
  });
}

}  // namespace wsgate::supervisor
