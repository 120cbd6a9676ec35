// Log files and the privilege drop: whose the files are, and whether the
// unprivileged daemon will be able to reopen them after a rotation.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/log_writer.h"
#include "config/config.h"

namespace wsgate::supervisor {

// The uid and gid the daemon runs as after the drop (`user:`, with
// `group:` or the user's primary group), or nullopt when no user is
// configured or it does not exist (drop_privileges reports that).
std::optional<LogFileOwner> configured_account(const config::Config& config);

// One warning per log path whose directory the daemon's account cannot
// write: after a bare `mv` of the file, `wsgatectl reopen-logs` could not
// create it again. Started unprivileged, also warns about an existing file
// the daemon cannot append to. Reads the file system; for `wsgated -t` and
// startup only.
std::vector<std::string> log_directory_warnings(const config::Config& config);

}  // namespace wsgate::supervisor
