// Logging for every process: an error log and an access log on spdlog,
// created after fork, reopened on request (SIGHUP, logrotate).
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace wsgate {

// Who is logging; it appears on every line with the pid.
struct LogIdentity {
  std::string role = "supervisor";  // "supervisor" or "worker"
  int slot = -1;
  unsigned generation = 0;
};

// (Re)creates the process's loggers from `log`. Safe to call again to
// reopen files (the old sinks are closed first). Never throws: a file that
// cannot be opened falls back to stderr with an error line saying why, and
// the result is false.
bool setup_logging(const config::LogConfig& log, const LogIdentity& identity);

// Why the last setup_logging() returned false ("" after a success), for
// callers that must report it somewhere else than the log (daemon startup).
const std::string& last_logging_error();

// The error log and the access log. Always valid after setup_logging();
// before it, both write to stderr.
spdlog::logger& error_log();
spdlog::logger& access_log();
bool access_log_enabled();

// SEC-LOG-01: escapes client-controlled text for a log line: CR, LF, other
// C0/C1 controls, DEL, '"' and invalid UTF-8 bytes become \xNN (lowercase
// hex), a backslash becomes two, and the result is cut to `max_bytes`, at a
// character or escape boundary, with "..." appended when cut.
std::string escape_for_log(std::string_view text, size_t max_bytes = 256);

}  // namespace wsgate
