// wsgated: parse the command line, load the configuration, then either
// answer -t / --print-schema / --version or run the daemon.
#include <cstdio>

#include "common/log_writer.h"
#include "common/process_title.h"
#include "config/config.h"
#include "config/schema.h"
#include "supervisor/command_line.h"
#include "supervisor/log_checks.h"
#include "supervisor/startup.h"
#include "tls/server_tls.h"
#include "tls/upstream_tls.h"

int main(int argc, char** argv) {
  using namespace wsgate;
  // Before anything keeps a pointer into argv or the environment.
  init_process_title(argc, argv);
  const supervisor::CommandLine options = supervisor::parse_command_line(argc, argv);
  if (options.version) {
    std::printf("wsgated %s\n", WSGATE_VERSION);
    return 0;
  }
  if (options.print_schema) {
    std::fputs(config::render_schema_table().c_str(), stdout);
    return 0;
  }
  config::ConfigPtr config;
  try {
    config = config::load_config(options.config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    if (options.test_config) {
      std::fprintf(stderr, "wsgated: configuration file %s test failed\n",
                   options.config_path.c_str());
    }
    return 1;
  }
  if (options.test_config) {
    // Every certificate/key pair and upstream CA file is loaded and
    // checked as startup would (token files were read by load_config).
    try {
      tls::ServerTls::load(*config);
      tls::UpstreamTls::load(*config);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      std::fprintf(stderr, "wsgated: configuration file %s test failed\n",
                   options.config_path.c_str());
      return 1;
    }
    for (const std::string& warning : supervisor::log_directory_warnings(*config)) {
      std::fprintf(stderr, "wsgated: warning: %s\n", warning.c_str());
    }
    std::printf("wsgated: configuration file %s is valid\n", config->path.c_str());
    return 0;
  }
  const int code = supervisor::run_daemon(config, options.foreground);
  // The daemon's last lines are still queued for the writer thread.
  flush_log_queue(std::chrono::milliseconds(2000));
  return code;
}
