// The non-blocking half of logging: spdlog sinks that hand each formatted
// line to a bounded in-memory queue, and one writer thread per process that
// empties it into files, stderr or the syslog socket. A stalled disk, a pipe
// nobody reads or a slow journald stops only that thread; the loop that
// logs never waits. Lines that do not fit are dropped and counted.
#pragma once

#include <spdlog/sinks/sink.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgate {

// The queue holds at most this many bytes of formatted lines per process.
inline constexpr size_t kLogQueueBytes = 1 << 20;

// Test-only (WSGATE_FAULTS=log_queue_bytes:N): another capacity for this
// process and the children it forks from now on.
void set_log_queue_capacity(size_t bytes);

// A sink that appends to `fd` (a file opened by open_log_file, or 2 for
// stderr). When `owns_fd`, the fd is closed once the sink and every line
// queued for it are gone, so a reopen never loses lines of the old file.
spdlog::sink_ptr make_queued_fd_sink(int fd, bool owns_fd);

// A sink that sends each line as one datagram to the local syslog socket
// (/dev/log), facility daemon, tagged "wsgated[PID]". glibc's syslog() is
// not used: it blocks while journald is slow and its lock is not fork-safe.
spdlog::sink_ptr make_queued_syslog_sink();

// Opens `path` for appending (O_APPEND|O_CREAT, mode 0640), creating a
// missing parent directory (0750). When the process is root and an owner
// was set (set_log_file_owner), the file (and a directory it created) is
// given to that owner with mode 0640 (0750), so that the unprivileged
// daemon can reopen it after the privilege drop. Returns the fd, or -1 and
// the failed call with its arguments in `error`.
int open_log_file(const std::string& path, std::string& error);

// The account that log files belong to (the configured user:group), or
// nullopt to leave files owned by whoever creates them.
struct LogFileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};
void set_log_file_owner(std::optional<LogFileOwner> owner);

// Lines dropped by this process since it started (queue full, or the write
// failed), for the stats.
uint64_t dropped_log_lines();

// Waits up to `timeout` for the queue to be written out; true if it was.
// For exits and tests only: it blocks the caller.
bool flush_log_queue(std::chrono::milliseconds timeout);

// In a child after fork(): the fds of `sinks` were opened by the parent;
// waits for what the child queued for them, then closes them, so the child
// keeps no descriptor of the parent's files.
void close_inherited_sink_fds(const std::vector<spdlog::sink_ptr>& sinks);

}  // namespace wsgate
