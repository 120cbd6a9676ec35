// The command line of wsgatectl, on CLI11.
#include "ctl/command_line.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

namespace wsgate::ctl {

CtlOptions parse_command_line(int argc, char** argv) {
  CtlOptions options;
  CLI::App app{
      "wsgatectl: control a running wsgated.\n"
      "Exit codes: 0 ok, 1 the command failed, 2 usage error, 3 cannot connect.",
      "wsgatectl"};
  auto* config = app.add_option("-c,--config", options.config_path,
                                "Configuration file naming the control socket")
                     ->capture_default_str();
  app.add_option("--socket", options.socket_path, "Control socket path (instead of -c)")
      ->excludes(config);
  app.add_flag("--json", options.json, "Print the daemon's JSON answer as is");
  app.add_option("--watch", options.watch_seconds, "stats: repeat every SECONDS until interrupted")
      ->check(CLI::PositiveNumber);
  app.add_flag("-f,--follow", options.follow,
               "events: after the recent events, print new ones as they happen until "
               "interrupted or the daemon stops");
  app.add_option("--route", options.route, "events: only those of the route with this path");
  bool version = false;
  app.add_flag("-V,--version", version, "Print wsgatectl's version and exit");
  app.add_option("command", options.command,
                 "status | stats | workers | events | reload | stop | graceful-stop | "
                 "reopen-logs | version")
      ->check(CLI::IsMember({"status", "stats", "workers", "events", "reload", "stop",
                             "graceful-stop", "reopen-logs", "version"}));
  try {
    app.parse(argc, argv);
    if (version) {
      std::printf("wsgatectl %s\n", WSGATE_VERSION);
      std::exit(0);
    }
    if (options.command.empty()) throw CLI::RequiredError("command");
    if (options.watch_seconds > 0 && options.command != "stats") {
      throw CLI::ValidationError("--watch", "only the stats command can be watched");
    }
    if ((options.follow || !options.route.empty()) && options.command != "events") {
      throw CLI::ValidationError("--follow/--route", "only the events command takes them");
    }
    if (options.route.find_first_of(" \t\r\n") != std::string::npos || options.route.size() > 512) {
      throw CLI::ValidationError("--route", "a route path has no spaces and is under 512 bytes");
    }
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    std::exit(code == 0 ? 0 : 2);
  }
  return options;
}

}  // namespace wsgate::ctl
