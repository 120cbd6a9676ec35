// Detaching from the terminal with a readiness pipe: the launching process
// exits 0 only once the daemon says it serves, else 1 with the reason.
#pragma once

#include <string_view>

namespace wsgate::supervisor {

// The daemon's end of the readiness pipe. Inactive (no-op) in foreground mode.
class ReadinessPipe {
 public:
  ReadinessPipe() = default;
  explicit ReadinessPipe(int fd) : fd_(fd) {}
  ReadinessPipe(ReadinessPipe&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ReadinessPipe& operator=(ReadinessPipe&& other) noexcept;
  ReadinessPipe(const ReadinessPipe&) = delete;
  ReadinessPipe& operator=(const ReadinessPipe&) = delete;
  ~ReadinessPipe();

  // True until report_ready() or report_error() has been called.
  bool active() const { return fd_ >= 0; }
  // Tells the launcher to exit 0, then closes the pipe.
  void report_ready();
  // Tells the launcher to print `text` on stderr and exit 1. The pipe is
  // left open until this process exits (the caller is about to): the
  // launcher waits for EOF, so it returns only once the daemon is gone.
  void report_error(std::string_view text);
  int fd() const { return fd_; }  // -1 once reported

 private:
  void write_all(std::string_view message);
  int fd_ = -1;
};

// Forks twice with setsid() between, so the daemon is no session leader and
// has no controlling terminal; then chdir("/"), umask(022) and stdin,
// stdout and stderr to /dev/null. Returns in the daemon only. The launching
// process waits on the pipe and exits: 0 after "OK", 1 with the daemon's
// error on stderr, 1 with "daemon exited during startup" if the pipe closes
// with no word. On a failure before the first fork, prints the error and
// exits 1 itself.
ReadinessPipe daemonize();

}  // namespace wsgate::supervisor
