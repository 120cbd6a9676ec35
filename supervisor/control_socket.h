// The control socket's file: refuse a live one, replace a stale one, bind
// with mode 0660 and no window where it is wider (SEC-CTL-01, SEC-CTL-03).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace wsgate::supervisor {

// Binds a non-blocking unix stream socket at `path` (not yet listening).
// Fails with "control socket PATH is in use" when a server answers there;
// unlinks a stale socket file. The socket is created under umask(0077),
// then chmod 0660 and, when `group_id` is set and we are root, chown to
// root:group. Returns the fd, or -1 with `error` set (and logged).
int bind_control_socket(const std::string& path, std::optional<gid_t> group_id, std::string& error);

// Unlinks the control socket file on exit; a failure is logged.
void remove_control_socket(const std::string& path);

}  // namespace wsgate::supervisor
