// The supervisor: one libuv loop that owns the worker table, the signals,
// the control server, reloads and shutdown. Built by startup.cpp once the
// lock, listeners and control socket are in hand.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/faults.h"
#include "common/log.h"
#include "common/stats.h"
#include "config/config.h"
#include "supervisor/control_server.h"
#include "supervisor/daemonize.h"
#include "supervisor/event_hub.h"
#include "supervisor/listeners.h"
#include "supervisor/lock_file.h"
#include "supervisor/metrics_server.h"
#include "supervisor/sd_notify.h"
#include "supervisor/worker_channel.h"
#include "supervisor/worker_process.h"
#include "tls/server_tls.h"
#include "tls/ticket_keys.h"
#include "tls/upstream_tls.h"

namespace wsgate::supervisor {

// Respawn backoff of a slot whose worker died: 100 ms, doubling, at most
// 30 s; back to 100 ms once a worker of the slot ran for a minute.
inline constexpr uint64_t kRespawnBackoffMinMs = 100;
inline constexpr uint64_t kRespawnBackoffMaxMs = 30000;
inline constexpr uint64_t kRespawnStableMs = 60000;
// After SIGABRT from the watchdog, SIGKILL follows this much later.
inline constexpr uint64_t kWatchdogKillGraceMs = 5000;
// A worker whose channel is gone but which has not exited is killed after this.
inline constexpr uint64_t kChannelLostGraceMs = 2000;
// A reaped worker's channel is read this long for its final report.
inline constexpr uint64_t kFinalReportWaitMs = 1000;
// Old workers get timeouts.drain plus this before SIGKILL.
inline constexpr uint64_t kDrainKillSlackMs = 10000;
// A stats command waits this long at most for fresh reports.
inline constexpr uint64_t kStatsQueryWaitMs = 500;
// Period of the housekeeping timer (deadlines, watchdog, respawns).
inline constexpr uint64_t kTickMs = 100;

class Supervisor final : private ControlServer::Handler, private WorkerChannel::Listener {
 public:
  // `listeners` already holds the sockets of `config`; `lock` holds the pid
  // file; `readiness` is told OK once generation 1 is READY (or the error);
  // `notifier` tells the service manager of readiness, reloads and stops.
  // `server_tls` holds the contexts of the TLS listeners (null when none);
  // `upstream_tls` holds the client contexts of proxy routes with upstream
  // TLS (null when none); `ticket_keys` is the first session ticket key,
  // rotated from here on.
  Supervisor(config::ConfigPtr config, std::shared_ptr<const tls::ServerTls> server_tls,
             std::shared_ptr<const tls::UpstreamTls> upstream_tls, tls::TicketKeyRing ticket_keys,
             ListenerSet& listeners, LockFile& lock, ReadinessPipe& readiness,
             ServiceNotifier& notifier);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Creates the loop, forks generation 1 and runs until stopped. Takes
  // `control_fd` (bound by bind_control_socket). Returns the exit code.
  // Before returning, the pid file and the control socket are removed.
  int run(int control_fd, ControlAccess access);

  // The metrics listener (bind_metrics_socket), served by run(); the
  // supervisor owns it from here.
  void set_metrics_fd(int fd) { metrics_fd_ = fd; }

  // Test-only failure paths (WSGATE_FAULTS), before run().
  void inject_faults(const Faults& faults) { faults_ = faults; }

  // Why startup failed ("" when it did not): generation 1 never became
  // READY, or a stop came first. The caller reports it to the launcher.
  const std::string& startup_error() const { return startup_error_; }

 private:
  enum class Mode { Starting, Running, Stopping, GracefulStopping };

  // One worker slot of the serving generation.
  struct Slot {
    pid_t pid = 0;  // its live worker, 0 when none
    unsigned restarts = 0;
    uint64_t backoff_ms = 0;     // delay of the last respawn
    uint64_t respawn_at_ms = 0;  // respawn due then (0: none pending)
    bool fatal = false;          // its worker exited with kWorkerExitFatal
  };

  // A reload in progress: the new generation is starting.
  struct Reload {
    config::ConfigPtr config;
    std::shared_ptr<const tls::ServerTls> tls;
    std::shared_ptr<const tls::UpstreamTls> upstream_tls;
    unsigned generation = 0;
    std::vector<pid_t> pids;
    uint64_t deadline_ms = 0;
    std::vector<uint64_t> requesters;  // control requests waiting for the outcome
  };

  // A stats command waiting for fresh reports.
  struct StatsQuery {
    uint64_t request = 0;
    std::vector<pid_t> waiting;
    uint64_t deadline_ms = 0;
  };

  // supervisor.cpp: loop, signals, workers.
  static void on_signal(uv_signal_t* handle, int signum) noexcept;
  static void on_tick(uv_timer_t* timer) noexcept;
  void handle_signal(int signum);
  void tick();
  uint64_t now() const { return uv_now(&loop_); }
  LogIdentity identity() const;
  WorkerProcess* find(pid_t pid);
  WorkerProcess* spawn(int slot, unsigned generation, const config::ConfigPtr& config,
                       const std::shared_ptr<const tls::ServerTls>& server_tls,
                       const std::shared_ptr<const tls::UpstreamTls>& upstream_tls);
  // Replaces the ticket key every tls.ticket_key_rotation and sends the
  // ring to every live worker.
  void rotate_ticket_keys_when_due();
  void transition(WorkerProcess& process, WorkerState state);
  void send_signal(WorkerProcess& process, int signum);
  void reap_children();
  void kill_orphans();
  void on_worker_exit(WorkerProcess& process, int status);
  void finalize(pid_t pid);
  void schedule_respawn(Slot& slot, int index, const WorkerProcess& process);
  void respawn(int index);
  void on_worker_ready(WorkerProcess& process);
  // Tells each READY worker of the serving generation which slots' sockets
  // to accept on (its own, and those of slots without a live worker; see
  // accept_plan.h), sending only changes. Called whenever a worker of the
  // serving generation becomes READY or goes, and when a reload commits.
  void assign_accepting();
  // Sockets of the serving generation that no worker accepts on.
  size_t unserved_sockets() const;
  void reopen_logs(std::optional<uint64_t> requester);
  void on_channel_message(WorkerChannel& channel, ChannelMessage type,
                          std::string_view payload) noexcept override;
  void on_channel_lost(WorkerChannel& channel, int error) noexcept override;

  // reload.cpp: the reload transaction.
  void request_reload(std::optional<uint64_t> requester);
  void commit_reload();
  void fail_reload(const std::string& error);
  void run_queued_reload();

  // shutdown.cpp: startup failure, fast and graceful stop, the final exit.
  void fail_startup(const std::string& error);
  void stop_fast(std::string_view reason);
  void stop_graceful(std::string_view reason);
  void abort_reload(std::string_view reason);
  void maybe_finish();

  // control_commands.cpp: commands and their JSON answers.
  void on_control_command(uint64_t request, std::string_view command,
                          const PeerCredentials& peer) noexcept override;
  void on_stream_closed(uint64_t request) noexcept override { events_.unsubscribe(request); }
  void reply_error(std::optional<uint64_t> request, std::string_view error);
  void start_stats_query(uint64_t request);
  void on_stats_report(pid_t pid);
  void check_stats_queries();
  std::string status_json() const;
  std::string workers_json() const;
  std::string stats_json() const;
  // Counters of every worker ever (the retained ones of workers that are
  // gone included), gauges of the live ones: what stats and metrics show.
  void aggregate(WorkerStats& totals, RouteStatsByPath& routes) const;
  std::string metrics_text() const;
  // console_feed.cpp: the console snapshot, every kConsolePeriodMs, to the
  // workers with console clients.
  void send_console_updates();
  std::string console_snapshot();
  static constexpr uint64_t kConsolePeriodMs = 1000;
  static constexpr size_t kConsoleEvents = 40;
  static constexpr size_t kConsoleWorkers = 64;
  uint64_t last_console_ms_ = 0;
  uint64_t console_events_cursor_ = 0;  // events the last snapshot reached

  config::ConfigPtr config_;
  uint64_t last_orphan_sweep_ms_ = 0;
  bool exec_routes_seen_ = false;  // some configuration had exec routes
  std::shared_ptr<const tls::ServerTls> tls_;             // contexts of config_'s TLS listeners
  std::shared_ptr<const tls::UpstreamTls> upstream_tls_;  // config_'s proxy upstream contexts
  tls::TicketKeyRing ticket_keys_;
  uint64_t ticket_keys_made_ms_ = 0;  // when the current ticket key was made
  ListenerSet& listeners_;
  LockFile& lock_;
  ReadinessPipe& readiness_;
  ServiceNotifier& notifier_;

  uv_loop_t loop_{};
  bool loop_ready_ = false;
  uv_timer_t tick_{};
  std::array<uv_signal_t, 6> signals_{};
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<MetricsServer> metrics_;  // metrics.address set
  int metrics_fd_ = -1;                     // bound by startup, served by run()

  Mode mode_ = Mode::Starting;
  unsigned generation_ = 1;
  unsigned next_generation_ = 2;
  uint32_t next_instance_ = 1;  // WorkerSetup::instance of the next fork
  uint64_t started_ms_ = 0;
  uint64_t startup_deadline_ms_ = 0;
  std::map<pid_t, std::unique_ptr<WorkerProcess>> processes_;
  std::vector<Slot> slots_;
  std::vector<unsigned> unserved_slots_;  // of the last assign_accepting()
  Faults faults_;                         // WSGATE_FAULTS, test-only
  std::optional<Reload> reload_;
  bool reload_queued_ = false;  // SIGUSR1 during a reload: run after it
  std::vector<StatsQuery> stats_queries_;
  std::vector<uint64_t> stop_requesters_;
  EventHub events_;       // connection-state events: history and followers
  WorkerStats retained_;  // counters of workers that are gone
  RouteStatsByPath retained_routes_;  // their route counters, by path
  bool finished_ = false;
  int exit_code_ = 0;
  std::string startup_error_;
};

}  // namespace wsgate::supervisor
