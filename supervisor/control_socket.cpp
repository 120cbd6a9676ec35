// The control socket's file (see control_socket.h).
#include "supervisor/control_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "common/unix_socket.h"

namespace wsgate::supervisor {
namespace {

int fail(std::string& error, std::string text, int fd = -1) {
  error_log().error("{}", text);
  error = std::move(text);
  if (fd >= 0) close(fd);
  return -1;
}

}  // namespace

int bind_control_socket(const std::string& path, std::optional<gid_t> group_id, mode_t mode,
                        std::string& error) {
  sockaddr_un address;
  socklen_t length = 0;
  if (make_unix_address(path, address, length) < 0) {
    return fail(error, "control socket path " + path + " is too long for a unix socket");
  }
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      return fail(error, "control socket " + path + " exists and is not a socket");
    }
    const int probe = connect_unix(path);
    if (probe >= 0) {
      close(probe);
      return fail(error, "control socket " + path + " is in use");
    }
    // Only a socket nobody listens on is stale (ECONNREFUSED); anything
    // else (EACCES ...) leaves the file alone.
    if (probe != -ECONNREFUSED) {
      return fail(error, "connect(" + path + "): " + errno_text(probe));
    }
    if (unlink(path.c_str()) != 0) {
      return fail(error, "unlink(" + path + "): " + errno_text(errno));
    }
    error_log().info("removed stale control socket {}", path);
  } else if (errno != ENOENT) {
    return fail(error, "lstat(" + path + "): " + errno_text(errno));
  }

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(error, "socket(AF_UNIX): " + errno_text(errno));
  const gid_t old_gid = getegid();
  const bool switch_gid = group_id && geteuid() == 0 && *group_id != old_gid;
  if (switch_gid && setegid(*group_id) != 0) {
    return fail(error, "setegid(" + std::to_string(*group_id) + "): " + errno_text(errno), fd);
  }
  const mode_t old_mask = umask(static_cast<mode_t>(~mode & 0777));
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&address), length);
  const int bind_error = errno;
  umask(old_mask);
  if (switch_gid && setegid(old_gid) != 0) {
    const std::string text = "setegid(" + std::to_string(old_gid) + "): " + errno_text(errno);
    if (bound == 0) unlink(path.c_str());
    return fail(error, text, fd);
  }
  if (bound != 0) return fail(error, "bind(" + path + "): " + errno_text(bind_error), fd);
  return fd;
}

void remove_control_socket(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    error_log().warn("unlink({}): {}", path, errno_text(errno));
  }
}

}  // namespace wsgate::supervisor
