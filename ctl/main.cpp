// wsgatectl: send one command to wsgated's control socket and print the
// answer, as a table or (--json) as the daemon's JSON.
#include <signal.h>
#include <time.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "ctl/command_line.h"
#include "ctl/control_client.h"
#include "ctl/events.h"
#include "ctl/render.h"
#include "ctl/socket_lookup.h"

namespace {

using namespace wsgate::ctl;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitCannotConnect = 3;

// Commands whose answer comes when the daemon is done: reload (bounded by
// timeouts.worker_start), stop and graceful-stop (bounded by the drain).
int answer_timeout_ms(const std::string& command) {
  if (command == "reload" || command == "stop" || command == "graceful-stop") return -1;
  return 10000;
}

volatile sig_atomic_t g_interrupted = 0;
void on_interrupt(int) {
  g_interrupted = 1;
}

// Why the socket path is a guess (the config file did not load), or "".
std::string g_socket_note;

int run_once(const CtlOptions& options, const std::string& socket_path) {
  std::string answer;
  std::string error;
  const RequestResult result =
      request(socket_path, options.command, answer_timeout_ms(options.command), answer, error);
  if (result == RequestResult::CannotConnect) {
    std::fprintf(stderr, "wsgatectl: %s\n", error.c_str());
    if (!g_socket_note.empty()) {
      std::string note = g_socket_note;
      for (size_t at = note.find('\n'); at != std::string::npos; at = note.find('\n', at + 1)) {
        note.replace(at, 1, "\nwsgatectl: ");
      }
      std::fprintf(stderr, "wsgatectl: %s\n", note.c_str());
    }
    return kExitCannotConnect;
  }
  if (result == RequestResult::Failed) {
    std::fprintf(stderr, "wsgatectl: %s: %s\n", options.command.c_str(), error.c_str());
    return kExitFailed;
  }
  YAML::Node document;
  try {
    document = YAML::Load(answer);
  } catch (const YAML::Exception& e) {
    std::fprintf(stderr, "wsgatectl: %s: unreadable answer from wsgated: %s\n",
                 options.command.c_str(), e.what());
    return kExitFailed;
  }
  const bool ok = document.IsMap() && document["ok"] && document["ok"].as<bool>(false);
  if (options.json) {
    std::printf("%s\n", answer.c_str());
    std::fflush(stdout);
    return ok ? kExitOk : kExitFailed;
  }
  if (!ok) {
    const std::string reason = document.IsMap() && document["error"]
                                   ? document["error"].as<std::string>("")
                                   : std::string("failed");
    std::fprintf(stderr, "wsgatectl: %s failed: %s\n", options.command.c_str(), reason.c_str());
    return kExitFailed;
  }
  try {
    std::fputs(render_answer(options.command, document).c_str(), stdout);
  } catch (const YAML::Exception& e) {
    std::fprintf(stderr, "wsgatectl: %s: unexpected answer from wsgated: %s\n",
                 options.command.c_str(), e.what());
    return kExitFailed;
  }
  std::fflush(stdout);
  return kExitOk;
}

// stats --watch: repeats until SIGINT or SIGTERM (exit 0) or a failure.
int watch(const CtlOptions& options, const std::string& socket_path) {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  while (!g_interrupted) {
    if (!options.json) {
      const std::time_t now = std::time(nullptr);
      char stamp[32];
      std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
      std::printf("--- %s\n", stamp);
    }
    if (const int code = run_once(options, socket_path); code != kExitOk) return code;
    if (!options.json) std::printf("\n");
    std::fflush(stdout);
    timespec pause{};
    pause.tv_sec = static_cast<time_t>(options.watch_seconds);
    pause.tv_nsec =
        static_cast<long>((options.watch_seconds - std::floor(options.watch_seconds)) * 1e9);
    // A signal cuts the pause short (no SA_RESTART) and ends the loop.
    while (!g_interrupted && nanosleep(&pause, &pause) != 0 && errno == EINTR) {
    }
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  const CtlOptions options = parse_command_line(argc, argv);
  std::string socket_path = options.socket_path;
  // A config file that does not load still leads to the daemon (so a
  // reload of a broken file reports the daemon's file:line error).
  if (socket_path.empty()) socket_path = find_control_socket(options.config_path, g_socket_note);
  if (options.watch_seconds > 0) return watch(options, socket_path);
  if (options.command == "events") {
    // Ends with exit code 0 on SIGINT or SIGTERM, like stats --watch.
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    return run_events(options, socket_path, g_interrupted);
  }
  return run_once(options, socket_path);
}
