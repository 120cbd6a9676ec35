// The command line of wsgatectl.
#pragma once

#include <string>

#include "config/default_path.h"

namespace wsgate::ctl {

struct CtlOptions {
  std::string config_path = config::default_config_path();  // -c: where control_socket is found
  std::string socket_path;                                  // --socket: overrides -c
  bool json = false;                                        // --json: print the daemon's JSON as is
  double watch_seconds = 0;                                 // --watch: repeat stats
  bool follow = false;                                      // events --follow
  std::string route;                                        // events --route
  std::string command;
};

// Parses argv. --help and --version print and exit 0; a usage error
// (unknown command or option, --watch without stats, --follow or --route
// without events) exits 2.
CtlOptions parse_command_line(int argc, char** argv);

}  // namespace wsgate::ctl
