// Test-only fault injection (docs/fault-injection.md). The supervisor reads
// WSGATE_FAULTS once at start; each fault makes one failure path of the
// process model happen on demand, so tests can drive paths that real
// failures reach only by chance. Nothing here is consulted unless the
// variable is set.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wsgate {

struct Faults {
  // The last slot's worker of every reload generation exits with code 1
  // before it reports READY.
  bool new_worker_exit_before_ready = false;
  // The last slot's worker of every reload generation never reports READY.
  bool new_worker_never_ready = false;
  // Every worker exits with the fatal code 2 when it gets SIGUSR2.
  bool worker_fatal_exit = false;
  // Slots whose worker is not respawned once it dies.
  std::vector<unsigned> no_respawn;
  // Every worker throws std::bad_alloc while accepting its Nth connection
  // (counted from 1 per worker); 0: never.
  unsigned accept_throw = 0;
  // Every process's log queue holds this many bytes instead of 1 MiB, so
  // that a test fills it with a few lines; 0: unchanged.
  size_t log_queue_bytes = 0;
  // A control stream (wsgatectl events --follow) may fall this many bytes
  // behind instead of kMaxStreamBacklog, so that a test makes a follower
  // slow with a few hundred events; 0: unchanged.
  size_t stream_backlog_bytes = 0;

  bool any() const {
    return new_worker_exit_before_ready || new_worker_never_ready || worker_fatal_exit ||
           !no_respawn.empty() || accept_throw != 0 || log_queue_bytes != 0 ||
           stream_backlog_bytes != 0;
  }
  bool respawns(unsigned slot) const;
};

// What one worker is told to do wrong (the supervisor picks, see Faults).
struct WorkerFaults {
  bool exit_before_ready = false;
  bool never_ready = false;
  bool fatal_on_sigusr2 = false;
  unsigned throw_on_accept = 0;  // the Nth accepted connection; 0: none
};

// Parses a WSGATE_FAULTS value: fault names separated by commas, with
// "no_respawn:SLOT" taking a slot number, "accept_throw:N" a count and
// "log_queue_bytes:N", "stream_backlog_bytes:N" byte counts; blanks around names are
// ignored. Returns "" or the error naming the bad item.
std::string parse_faults(std::string_view text, Faults& faults);

}  // namespace wsgate
