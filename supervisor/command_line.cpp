// The command line of wsgated, on CLI11.
#include "supervisor/command_line.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

namespace wsgate::supervisor {

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine options;
  CLI::App app{"wsgated: pre-forked WebSocket gateway (supervisor daemon)", "wsgated"};
  app.add_option("-c,--config", options.config_path, "Configuration file")->capture_default_str();
  app.add_flag("-t,--test", options.test_config, "Check the configuration file and exit");
  app.add_flag("--foreground", options.foreground,
               "Stay in the foreground (overrides daemon: true)");
  app.add_flag("--print-schema", options.print_schema,
               "Print every configuration key with type, default and range, and exit");
  app.add_flag("-V,--version", options.version, "Print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    std::exit(code == 0 ? 0 : 2);
  }
  return options;
}

}  // namespace wsgate::supervisor
