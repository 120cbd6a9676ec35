// The systemd service notification protocol, by hand (see sd_notify.h).
#include "supervisor/sd_notify.h"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "common/unix_socket.h"

namespace wsgate::supervisor {
namespace {

constexpr const char* kVariable = "NOTIFY_SOCKET";

// The STATUS assignment: one line, as the protocol has one assignment a line.
std::string status_line(std::string_view status) {
  return "STATUS=" + first_line(status);
}

}  // namespace

std::string first_line(std::string_view text) {
  const size_t end = text.find('\n');
  return std::string(end == std::string_view::npos ? text : text.substr(0, end));
}

ServiceNotifier ServiceNotifier::from_environment() {
  ServiceNotifier notifier;
  const char* value = std::getenv(kVariable);
  if (value == nullptr || value[0] == '\0') return notifier;
  const std::string name = value;
  unsetenv(kVariable);
  // "@name" is an abstract socket: sun_path starts with NUL and the length,
  // not a terminator, says where the name ends.
  const bool abstract = name[0] == '@';
  if (name[0] != '/' && !abstract) {
    error_log().warn("{}={}: neither a path nor @abstract; not notifying the service manager",
                     kVariable, name);
    return notifier;
  }
  if (name.size() >= sizeof notifier.address_.sun_path) {
    error_log().warn("{}={}: longer than sun_path ({} bytes); not notifying the service manager",
                     kVariable, name, sizeof notifier.address_.sun_path - 1);
    return notifier;
  }
  notifier.socket_name_ = name;
  notifier.address_.sun_family = AF_UNIX;
  std::memcpy(notifier.address_.sun_path, name.data(), name.size());
  if (abstract) notifier.address_.sun_path[0] = '\0';
  notifier.length_ =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (abstract ? 0 : 1));
  error_log().info("notifying the service manager at {}", name);
  return notifier;
}

// One socket per datagram: the supervisor sends a handful in its life, and
// no descriptor is left for forked workers to inherit.
void ServiceNotifier::notify(std::string_view state) {
  if (!active()) return;
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int error = 0;
  std::string call = "socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC, 0)";
  if (fd < 0) {
    error = errno;
  } else {
    call = std::string("sendto(AF_UNIX, SOCK_DGRAM, ") + kVariable + "=" + socket_name_ + ")";
    ssize_t sent;
    do {
      sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&address_), length_);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) error = errno;
    close(fd);
  }
  if (error == 0) {
    error_log().debug("notified the service manager: {}", first_line(state));
    return;
  }
  const bool first = !failure_logged_;
  failure_logged_ = true;
  error_log().log(first ? spdlog::level::warn : spdlog::level::debug, "{}: {}{}", call,
                  errno_text(error),
                  first ? " (further failures to notify are logged at debug level)" : "");
}

void ServiceNotifier::ready(std::string_view status) {
  notify("READY=1\nMAINPID=" + std::to_string(getpid()) + "\n" + status_line(status));
}

void ServiceNotifier::reloading(std::string_view status) {
  timespec now{};
  if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
    error_log().warn("clock_gettime(CLOCK_MONOTONIC): {}", errno_text(errno));
  }
  const uint64_t usec =
      static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\n" + status_line(status));
}

void ServiceNotifier::reloaded(std::string_view status) {
  notify("READY=1\n" + status_line(status));
}

void ServiceNotifier::stopping(std::string_view status) {
  notify("STOPPING=1\n" + status_line(status));
}

void ServiceNotifier::status(std::string_view status) {
  notify(status_line(status));
}

}  // namespace wsgate::supervisor
