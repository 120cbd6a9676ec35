// Entry point of a worker process, called in the child right after fork().
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "common/faults.h"
#include "config/config.h"

namespace wsgate {

namespace tls {
class ServerTls;
class TicketKeyRing;
class UpstreamTls;
}  // namespace tls

// A listening socket, the index of its listener in config.listen, and the
// worker slot it belongs to.
struct ListenFd {
  int fd = -1;
  size_t listener = 0;
  unsigned slot = 0;
};

struct WorkerSetup {
  config::ConfigPtr config;
  int slot = 0;
  unsigned generation = 0;
  // Unique among the workers this daemon has forked (never reused): the
  // first part of each connection id (common/events.h).
  uint32_t instance = 0;
  int channel_fd = -1;                     // this worker's end of its socketpair
  // Every listening socket of the config. The worker accepts on none until
  // the supervisor's Accept message names the slots it serves (its own, and
  // those of slots that have no live worker).
  std::vector<ListenFd> listen_fds;
  // The supervisor's own descriptors, closed in the child first: the lock
  // file, the control socket and its connections, other workers' channels,
  // its loop's internals, log files, listen sockets of other configs.
  std::vector<int> close_fds;
  WorkerFaults faults;                        // test-only (common/faults.h)
  std::shared_ptr<const tls::ServerTls> tls;  // contexts of TLS listeners; null: none
  // Client contexts of proxy routes with upstream TLS, by route index; null: none.
  std::shared_ptr<const tls::UpstreamTls> upstream_tls;
  const tls::TicketKeyRing* ticket_keys = nullptr;  // copied at start; null: no TLS
  // The supervisor's loop, inherited by fork: the worker takes its signal
  // watchers out of libuv's process-wide signal table (see run_worker).
  uv_loop_t* parent_loop = nullptr;
};

// Worker exit codes. kExitFatal tells the supervisor not to respawn.
inline constexpr int kWorkerExitOk = 0;
inline constexpr int kWorkerExitError = 1;
inline constexpr int kWorkerExitFatal = 2;

// Runs the worker until it is told to stop, drains, or loses its
// supervisor (channel EOF). Stops the supervisor's signal watchers, closes
// the supervisor's descriptors (setup.close_fds and the fds of the parent
// loop's handles), resets signal dispositions, creates its own libuv loop
// and loggers. Returns the exit code; the caller passes it to _exit().
int run_worker(const WorkerSetup& setup) noexcept;

}  // namespace wsgate
