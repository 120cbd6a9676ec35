// Unix stream sockets for the control channel: addresses, a blocking
// connect for wsgatectl, and the peer's credentials for the server.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <string>
#include <vector>

namespace wsgate {

// strerror() text for an errno value (positive or negative).
std::string errno_text(int error);

// Fills `address` for the filesystem path `path`. Returns 0, or
// -ENAMETOOLONG when the path does not fit sun_path (with its NUL).
int make_unix_address(const std::string& path, sockaddr_un& address, socklen_t& length);

// Connects a blocking, close-on-exec stream socket to `path`. Returns the fd
// or a negative errno (ENOENT, ECONNREFUSED, EACCES ...).
int connect_unix(const std::string& path);

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (SO_PEERGROUPS)
};

// SO_PEERCRED and SO_PEERGROUPS of a connected unix socket: who called
// connect(), with its supplementary groups. Returns 0 or a negative errno.
int peer_credentials(int fd, PeerCredentials& credentials);

}  // namespace wsgate
