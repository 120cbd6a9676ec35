// wsgatectl events (see events.h).
#include "ctl/events.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "ctl/control_client.h"

namespace wsgate::ctl {

namespace {

// A scalar as text; "-" for null or a missing member.
std::string scalar(const YAML::Node& node) {
  if (!node || node.IsNull()) return "-";
  if (node.IsScalar()) return node.as<std::string>();
  return "?";
}

}  // namespace

std::string render_event_line(const std::string& json) {
  const YAML::Node event = YAML::Load(json);
  std::string line;
  for (const char* key : {"time", "event", "id", "peer", "route"}) {
    if (!line.empty()) line += ' ';
    line += scalar(event[key]);
  }
  for (const auto& member : event) {
    const std::string key = member.first.as<std::string>();
    if (key == "time" || key == "event" || key == "id" || key == "peer" || key == "route") continue;
    if (member.second.IsMap()) {
      // tls: {version, cipher, ...} becomes tls.version=... and so on.
      for (const auto& inner : member.second) {
        line += ' ' + key + '.' + inner.first.as<std::string>() + '=' + scalar(inner.second);
      }
    } else {
      line += ' ' + key + '=' + scalar(member.second);
    }
  }
  return line + '\n';
}

int run_events(const CtlOptions& options, const std::string& socket_path,
               const volatile sig_atomic_t& interrupted) {
  std::string command = "events";
  if (options.follow) command += " follow";
  if (!options.route.empty()) command += " route=" + options.route;
  bool header_seen = false;
  int code = 0;
  std::string error;
  auto on_line = [&](std::string_view line) {
    const std::string text(line);
    if (!header_seen) {
      // The first line says whether the daemon took the command.
      header_seen = true;
      YAML::Node header;
      try {
        header = YAML::Load(text);
      } catch (const YAML::Exception& e) {
        std::fprintf(stderr, "wsgatectl: events: unreadable answer from wsgated: %s\n", e.what());
        code = 1;
        return false;
      }
      if (!header.IsMap() || !header["ok"] || !header["ok"].as<bool>(false)) {
        if (options.json) std::printf("%s\n", text.c_str());
        const std::string reason =
            header.IsMap() && header["error"] ? header["error"].as<std::string>("") : "failed";
        std::fprintf(stderr, "wsgatectl: events failed: %s\n", reason.c_str());
        code = 1;
        return false;
      }
      return true;
    }
    // The daemon ends a stream it had to cut off with an error line.
    if (text.starts_with(R"({"ok":false)")) {
      if (options.json) std::printf("%s\n", text.c_str());
      YAML::Node failure = YAML::Load(text);
      std::fprintf(stderr, "wsgatectl: events: %s\n",
                   failure["error"] ? failure["error"].as<std::string>("").c_str() : "failed");
      code = 1;
      return false;
    }
    if (options.json) {
      std::printf("%s\n", text.c_str());
    } else {
      try {
        std::fputs(render_event_line(text).c_str(), stdout);
      } catch (const YAML::Exception& e) {
        std::fprintf(stderr, "wsgatectl: events: unreadable event from wsgated: %s\n", e.what());
        code = 1;
        return false;
      }
    }
    // Each event is shown as it comes (a follower is often piped).
    std::fflush(stdout);
    return true;
  };
  const RequestResult result = stream_request(socket_path, command, on_line, interrupted, error);
  if (result == RequestResult::CannotConnect) {
    std::fprintf(stderr, "wsgatectl: %s\n", error.c_str());
    return 3;
  }
  if (result == RequestResult::Failed) {
    std::fprintf(stderr, "wsgatectl: events: %s\n", error.c_str());
    return 1;
  }
  return code;
}

}  // namespace wsgate::ctl
