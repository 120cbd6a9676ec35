// One forked worker as the supervisor sees it, and how it is forked.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/route_stats.h"
#include "common/stats.h"
#include "config/config.h"
#include "supervisor/worker_channel.h"
#include "worker/worker.h"

namespace wsgate::supervisor {

// Starting: forked, not READY yet. Ready: serving. Draining: told DRAIN,
// exits when its connections are gone. Stopping: told STOP (or killed),
// exits at once. Exited: reaped.
enum class WorkerState { Starting, Ready, Draining, Stopping, Exited };

std::string_view state_name(WorkerState state);

struct WorkerProcess {
  int slot = 0;
  unsigned generation = 0;
  pid_t pid = 0;
  WorkerState state = WorkerState::Starting;
  config::ConfigPtr config;          // what it was forked with
  WorkerChannel* channel = nullptr;  // null once lost or closed
  unsigned restarts = 0;             // of its slot, when it was forked
  // The slots it was last told to accept on (Accept message), in order.
  std::vector<unsigned> accepting;

  uint64_t started_ms = 0;      // loop time of the fork
  uint64_t last_report_ms = 0;  // READY or last Stats (the heartbeat)
  WorkerStats stats;            // last report
  RouteStatsByPath routes;      // last report, by route path

  uint64_t kill_at_ms = 0;       // SIGKILL then, if still alive (0: no)
  bool watchdog_fired = false;   // SIGABRT sent for silence
  bool killed = false;           // SIGKILL sent: its end is expected
  uint64_t channel_lost_ms = 0;  // when its channel hit EOF or failed
  bool console = false;          // it has console clients (ConsoleWanted)

  bool reaped = false;
  int wait_status = 0;  // from waitpid
  uint64_t reaped_ms = 0;
};

// "SIGTERM", "SIGKILL" ... for the signals the supervisor handles or sends.
const char* signal_name(int signum);

// "exited with code 2", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

// A worker's exit code, or -1 when a signal ended it.
int exit_code_of(int status);

// Forks the worker `setup` describes (its channel_fd is filled in here).
// The child builds its WorkerSetup and _exit(run_worker(setup)) (it never
// returns here). The parent gets the child's pid and its end of the
// channel socketpair (close-on-exec, to be opened with WorkerChannel), or
// a negative errno with the failure logged.
struct ForkResult {
  pid_t pid = -1;
  int channel_fd = -1;
};
int fork_worker(const WorkerSetup& setup, ForkResult& result);

}  // namespace wsgate::supervisor
