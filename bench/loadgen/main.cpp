// wsgate-loadgen: parse the command line, run the load, report.
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "loadgen/options.h"
#include "loadgen/report.h"
#include "loadgen/run.h"

namespace {

// Thousands of sockets need more than the usual 1024 descriptors: the soft
// limit goes up to the hard one.
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur == limit.rlim_max) return;
  const rlim_t wanted = limit.rlim_max;
  limit.rlim_cur = wanted;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    std::fprintf(stderr, "wsgate-loadgen: setrlimit(RLIMIT_NOFILE, %llu): %s\n",
                 static_cast<unsigned long long>(wanted), std::strerror(errno));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const wsgate::loadgen::Options options = wsgate::loadgen::parse_command_line(argc, argv);
  raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);
  wsgate::loadgen::Run run(options);
  std::string error;
  if (!run.start(error)) {
    std::fprintf(stderr, "wsgate-loadgen: %s\n", error.c_str());
    return 2;
  }
  run.run();
  if (options.json) {
    wsgate::loadgen::print_json(options, run.results());
  } else {
    wsgate::loadgen::print_human(options, run.results());
  }
  return wsgate::loadgen::exit_status(run.results());
}
