// Unix stream socket helpers (see unix_socket.h).
#include "common/unix_socket.h"

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace wsgate {

std::string errno_text(int error) {
  char buffer[256];
  // GNU strerror_r returns the text, which may or may not live in buffer.
  return strerror_r(error < 0 ? -error : error, buffer, sizeof buffer);
}

int make_unix_address(const std::string& path, sockaddr_un& address, socklen_t& length) {
  std::memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) return -ENAMETOOLONG;
  std::memcpy(address.sun_path, path.data(), path.size());
  length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return 0;
}

int connect_unix(const std::string& path) {
  sockaddr_un address;
  socklen_t length = 0;
  if (const int rc = make_unix_address(path, address, length); rc < 0) return rc;
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  while (connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

int peer_credentials(int fd, PeerCredentials& credentials) {
  ucred peer{};
  socklen_t length = sizeof peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) return -errno;
  credentials.pid = peer.pid;
  credentials.uid = peer.uid;
  credentials.gid = peer.gid;
  // SO_PEERGROUPS (Linux 4.13) says ERANGE and the size needed when the
  // buffer is too small.
  credentials.groups.assign(32, 0);
  for (int attempt = 0; attempt < 2; ++attempt) {
    length = static_cast<socklen_t>(credentials.groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, credentials.groups.data(), &length) == 0) {
      credentials.groups.resize(length / sizeof(gid_t));
      return 0;
    }
    if (errno != ERANGE) return -errno;
    credentials.groups.resize(length / sizeof(gid_t) + 1);
  }
  return -ERANGE;
}

}  // namespace wsgate
