// wsgatectl events: the daemon's connection-state events, as lines of a
// table or (--json) as the daemon's JSON, one event a line.
#pragma once

#include <csignal>
#include <string>

#include "ctl/command_line.h"

namespace wsgate::ctl {

// Prints the recent events (of --route, when given) and, with --follow,
// new ones until `interrupted` turns non-zero or the daemon stops. Returns
// the exit code (0 ok, 1 failed, 3 cannot connect).
int run_events(const CtlOptions& options, const std::string& socket_path,
               const volatile sig_atomic_t& interrupted);

// One event (a JSON object) as a table line: time, event, id, peer,
// route, then the event's own members as key=value.
std::string render_event_line(const std::string& json);

}  // namespace wsgate::ctl
