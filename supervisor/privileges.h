// Process limits and privileges of the supervisor (checklist SEC-PRIV-*):
// raise RLIMIT_NOFILE, then drop root for the configured user and group.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace wsgate::supervisor {

// Raises the RLIMIT_NOFILE soft limit to the hard limit (SEC-PRIV-04). A
// failure is logged with the call and errno text and is not fatal.
void raise_nofile_limit();

// The gid of group `name`, or nullopt (logged) when there is no such group.
std::optional<gid_t> lookup_group(const std::string& name);

// When running as root (euid 0) and `user` is set: initgroups, setgid,
// setuid, in that order (SEC-PRIV-02), then checks that root cannot be
// regained and sets PR_SET_NO_NEW_PRIVS. `group` empty means the user's
// primary group. Does nothing otherwise. Returns "" or the error; an error
// is fatal for the caller.
std::string drop_privileges(const std::string& user, const std::string& group);

}  // namespace wsgate::supervisor
