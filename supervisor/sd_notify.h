// The systemd service notification protocol (sd_notify(3)), written by
// hand: a datagram of KEY=VALUE lines to the socket named by NOTIFY_SOCKET.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <string_view>

namespace wsgate::supervisor {

// Tells the service manager about readiness, reloads and stops. Inactive
// (every call a no-op) when NOTIFY_SOCKET was not set, so wsgated behaves
// the same whether or not systemd started it. Never fatal: a failed send is
// logged once (call, arguments, errno text) and later failures are only
// logged at debug level.
class ServiceNotifier {
 public:
  ServiceNotifier() = default;

  // Reads NOTIFY_SOCKET ("/path" or "@abstract") once and removes it from
  // the environment, so programs the exec relay starts cannot speak for
  // wsgated. An unusable value is logged and leaves the notifier inactive.
  // Call it in the process that will supervise (after daemonizing), once
  // logging is set up.
  static ServiceNotifier from_environment();

  bool active() const { return length_ > 0; }

  // Sends `state`: newline-separated assignments such as "READY=1\nSTATUS=x".
  void notify(std::string_view state);

  // "READY=1", "MAINPID=<this pid>" and STATUS=`status`, in one datagram.
  void ready(std::string_view status);
  // "RELOADING=1" with "MONOTONIC_USEC=<CLOCK_MONOTONIC now>" and STATUS.
  void reloading(std::string_view status);
  // "READY=1" and STATUS=`status` (the outcome): the reload is over.
  void reloaded(std::string_view status);
  // "STOPPING=1" and STATUS=`status`.
  void stopping(std::string_view status);
  // "STATUS=`status`" alone.
  void status(std::string_view status);

 private:
  std::string socket_name_;  // as NOTIFY_SOCKET gave it, for log lines
  sockaddr_un address_{};
  socklen_t length_ = 0;  // 0 while inactive
  bool failure_logged_ = false;
};

// The first line of `text`, without its newline: multi-line errors (a
// config with several mistakes) are shortened to one STATUS line.
std::string first_line(std::string_view text);

}  // namespace wsgate::supervisor
