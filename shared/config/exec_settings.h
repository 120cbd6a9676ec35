// Reads the exec: section of a route (routes[].exec.*) and checks its rules,
// some of them against the running system: the program, the directories,
// the user and the group.
#pragma once

#include <string_view>

#include "config/config.h"
#include "config/section_reader.h"

namespace wsgate::config {

// Environment names the worker sets for each connection of an exec route
// (CGI/1.1 as websocketd sets them), which env.pass and env.set must not
// name; every name starting with HTTP_ is one too (one per request header).
bool is_connection_variable(std::string_view name);

// Reads every routes[].exec key of one route item with `r` into
// route.exec, `route.relay` already read. Reports: an exec section on a
// route whose relay is not exec; an exec route with neither or both of
// command and scripts_dir; an empty command; a program that is not an
// absolute path or a name found in PATH, or not an executable regular file
// (command[0] becomes its absolute path); a scripts_dir or dir that is not
// an existing directory (scripts_dir becomes its realpath); env names that
// are not [A-Za-z_][A-Za-z0-9_]*, that repeat in env.pass, or that the
// worker sets for each connection; NUL bytes in arguments and values; a
// user or group unknown to the system (uid and gid are resolved here, gid
// from the user's primary group when group is not written); a kill_after
// list that is not three durations. A name in env.set is taken out of
// env_pass (the fixed value wins). Nothing of the system is consulted for
// routes whose relay is not exec.
void read_exec(SectionReader& r, RouteConfig& route);

}  // namespace wsgate::config
