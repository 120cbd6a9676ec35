// The control socket's file: refuse a live one, replace a stale one, bind
// with mode 0660 and no window where it is wider (SEC-CTL-01, SEC-CTL-03).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace wsgate::supervisor {

// Binds a non-blocking unix stream socket at `path` (not yet listening).
// Fails with "control socket PATH is in use" when a server answers there;
// unlinks a stale socket file. The file is created with its final mode
// (`mode`, by the umask around bind) and, when `group_id` is set and we
// are root, its final group (by the effective gid around bind): nothing is
// changed by path afterwards, so there is no window with other
// permissions. Returns the fd, or -1 with `error` set (and logged).
int bind_control_socket(const std::string& path, std::optional<gid_t> group_id, mode_t mode,
                        std::string& error);

// Unlinks the control socket file on exit; a failure is logged.
void remove_control_socket(const std::string& path);

}  // namespace wsgate::supervisor
