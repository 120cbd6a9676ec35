// The reload transaction: a new config and a new generation of workers
// replace the old ones completely, or nothing changes (rollback).
#include <signal.h>

#include "common/json.h"
#include "supervisor/startup.h"
#include "supervisor/supervisor.h"

namespace wsgate::supervisor {
namespace {

// Keys a reload cannot change (reloadable = false in the schema table):
// they are acted on once, at start. Returns "" or the error naming the key.
std::string non_reloadable_change(const config::Config& running, const config::Config& next) {
  const auto changed = [&](std::string_view key, const std::string& was, const std::string& is) {
    return next.path + ": " + std::string(key) + ": cannot change on reload (running with \"" +
           was + "\", the file now says \"" + is + "\"); restart wsgated to apply it";
  };
  if (running.pid_file != next.pid_file)
    return changed("pid_file", running.pid_file, next.pid_file);
  if (running.control_socket != next.control_socket) {
    return changed("control_socket", running.control_socket, next.control_socket);
  }
  if (running.user != next.user) return changed("user", running.user, next.user);
  if (running.group != next.group) return changed("group", running.group, next.group);
  const auto ids = [](const std::vector<int64_t>& list) {
    std::string text;
    for (int64_t id : list) text += (text.empty() ? "" : ",") + std::to_string(id);
    return text;
  };
  if (running.control_uids != next.control_uids) {
    return changed("control_users", ids(running.control_uids), ids(next.control_uids));
  }
  if (running.control_gids != next.control_gids) {
    return changed("control_groups", ids(running.control_gids), ids(next.control_gids));
  }
  if (running.metrics.address != next.metrics.address) {
    return changed("metrics.address", running.metrics.address, next.metrics.address);
  }
  if (running.daemon != next.daemon) {
    return changed("daemon", running.daemon ? "true" : "false", next.daemon ? "true" : "false");
  }
  return "";
}

bool same_log_config(const config::LogConfig& a, const config::LogConfig& b) {
  return a.level == b.level && a.file == b.file && a.access_log == b.access_log;
}

}  // namespace

// Starts a reload for `requester` (a control request) or for SIGUSR1
// (nullopt). The outcome is logged and, for a requester, answered when the
// transaction ends.
void Supervisor::request_reload(std::optional<uint64_t> requester) {
  if (mode_ == Mode::Stopping || mode_ == Mode::GracefulStopping) {
    error_log().warn("reload refused: wsgated is stopping");
    reply_error(requester, "wsgated is stopping");
    return;
  }
  if (mode_ == Mode::Starting) {
    error_log().warn("reload refused: generation 1 is still starting");
    reply_error(requester, "wsgated is still starting");
    return;
  }
  if (reload_) {
    if (requester) {
      error_log().warn("reload refused: reload already in progress");
      reply_error(requester, "reload already in progress");
    } else {
      error_log().info("reload already in progress; the SIGUSR1 reload runs after it");
      reload_queued_ = true;
    }
    return;
  }

  notifier_.reloading("reloading " + config_->path);
  // A reload that fails before forking: nothing was started, nothing changes.
  const auto fail_early = [&](const std::string& error) {
    error_log().error("reload failed, generation {} keeps serving: {}", generation_, error);
    notifier_.reloaded("reload failed: " + error);
    reply_error(requester, error);
    run_queued_reload();
  };
  config::ConfigPtr next;
  try {
    next = config::load_config(config_->path);
  } catch (const std::exception& e) {
    fail_early(e.what());
    return;
  }
  if (std::string error = non_reloadable_change(*config_, *next); !error.empty()) {
    fail_early(error);
    return;
  }
  // Certificates, keys and upstream CA files are read again (token files
  // were, by load_config); a broken one fails the reload here, before
  // anything was started (the old generation keeps serving).
  std::shared_ptr<const tls::ServerTls> next_tls;
  std::shared_ptr<const tls::UpstreamTls> next_upstream_tls;
  try {
    next_tls = tls::ServerTls::load(*next);
    next_upstream_tls = tls::UpstreamTls::load(*next);
  } catch (const std::exception& e) {
    fail_early(e.what());
    return;
  }
  if (std::string error = listeners_.prepare(*next); !error.empty()) {
    fail_early(error);
    return;
  }
  if (next_tls) {
    log_tls_listeners(*next, *next_tls);
    keep_keys_out_of_core_dumps();
  }

  Reload reload;
  reload.config = next;
  reload.tls = next_tls;
  reload.upstream_tls = next_upstream_tls;
  reload.generation = next_generation_++;
  reload.deadline_ms = now() + static_cast<uint64_t>(next->timeouts.worker_start.count());
  if (requester) reload.requesters.push_back(*requester);
  reload_ = std::move(reload);
  error_log().info("reload: starting generation {} ({} workers) from {}", reload_->generation,
                   next->workers, next->path);
  for (unsigned slot = 0; slot < next->workers; ++slot) {
    WorkerProcess* process =
        spawn(static_cast<int>(slot), reload_->generation, next, next_tls, next_upstream_tls);
    if (process == nullptr) {
      fail_reload("rollback: cannot fork worker slot " + std::to_string(slot));
      return;
    }
    reload_->pids.push_back(process->pid);
  }
}

// Every new worker is READY, and none accepts yet: the sockets bound for
// the new generation start listening, the old generation drains, the new
// config and generation take over and are told to accept, and listeners
// the new config dropped are closed. Connections arriving meanwhile wait
// in the kernel's backlog of the (shared) sockets.
void Supervisor::commit_reload() {
  if (std::string error = listeners_.activate(); !error.empty()) {
    fail_reload("rollback: " + error);
    return;
  }
  Reload reload = std::move(*reload_);
  reload_.reset();
  const unsigned old_generation = generation_;
  const config::ConfigPtr old_config = config_;

  size_t draining = 0;
  for (auto& [pid, process] : processes_) {
    if (process->reaped || process->generation == reload.generation) continue;
    if (process->state != WorkerState::Starting && process->state != WorkerState::Ready) continue;
    if (process->channel != nullptr) process->channel->send(ChannelMessage::Drain);
    process->accepting.clear();  // a draining worker stops accepting
    transition(*process, WorkerState::Draining);
    process->kill_at_ms =
        now() + static_cast<uint64_t>(process->config->timeouts.drain.count()) + kDrainKillSlackMs;
    ++draining;
  }
  slots_.assign(reload.config->workers, Slot{});
  for (pid_t pid : reload.pids) {
    const WorkerProcess* process = find(pid);
    if (process != nullptr) slots_[process->slot].pid = pid;
  }
  config_ = reload.config;
  if (metrics_) metrics_->set_path(config_->metrics.path);
  // Sticky: orphans of an older generation's programs are still swept
  // after a reload that removed every exec route.
  exec_routes_seen_ = exec_routes_seen_ || config_->has_exec_route();
  tls_ = reload.tls;
  upstream_tls_ = reload.upstream_tls;
  generation_ = reload.generation;
  listeners_.commit(*config_);
  listeners_.steer_by_source_address(*config_);
  assign_accepting();
  if (!same_log_config(old_config->log, config_->log)) {
    if (setup_logging(config_->log, identity())) {
      error_log().info("log settings changed by the reload");
    } else {
      error_log().error("applying the new log settings: {}", last_logging_error());
    }
  }
  error_log().info(
      "reload: generation {} serving with {} workers; {} workers of generation {} draining",
      generation_, slots_.size(), draining, old_generation);
  notifier_.reloaded("reload ok: generation " + std::to_string(generation_));
  JsonWriter json;
  json.begin_object().field("ok", true).field("generation", generation_).end_object();
  const std::string answer = json.take();
  for (uint64_t request : reload.requesters) control_->reply(request, answer);
  run_queued_reload();
}

// The new generation failed (a worker exited, or the deadline passed): it
// is killed, listeners bound for it are closed, the old one serves on.
// Nothing is lost: the new workers never accepted (they accept only once
// the reload commits), and the sockets bound for them never listened, so
// no connection was queued on them.
void Supervisor::fail_reload(const std::string& error) {
  if (!reload_) return;
  Reload reload = std::move(*reload_);
  reload_.reset();
  for (pid_t pid : reload.pids) {
    WorkerProcess* process = find(pid);
    if (process == nullptr || process->reaped) continue;
    transition(*process, WorkerState::Stopping);
    send_signal(*process, SIGKILL);
  }
  listeners_.rollback();
  error_log().error("reload failed, generation {} keeps serving: {}", generation_, error);
  notifier_.reloaded("reload failed: " + error);
  for (uint64_t request : reload.requesters) reply_error(request, error);
  run_queued_reload();
}

void Supervisor::run_queued_reload() {
  if (!reload_queued_ || reload_ || mode_ != Mode::Running) return;
  reload_queued_ = false;
  error_log().info("running the reload requested by SIGUSR1 during the last one");
  request_reload(std::nullopt);
}

}  // namespace wsgate::supervisor
