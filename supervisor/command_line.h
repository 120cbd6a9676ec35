// The command line of wsgated.
#pragma once

#include <string>

#include "config/default_path.h"

namespace wsgate::supervisor {

struct CommandLine {
  std::string config_path = config::default_config_path();
  bool test_config = false;   // -t: validate and exit
  bool foreground = false;    // --foreground: do not daemonize
  bool print_schema = false;  // --print-schema
  bool version = false;       // -V, --version
};

// Parses argv. --help prints the usage and exits 0; a usage error prints
// it with the reason and exits 2.
CommandLine parse_command_line(int argc, char** argv);

}  // namespace wsgate::supervisor
