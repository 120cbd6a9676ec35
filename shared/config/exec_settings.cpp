// The exec: section of a route (see exec_settings.h).
#include "config/exec_settings.h"

#include <algorithm>
#include <array>
#include <map>

#include "config/exec_scripts.h"
#include "config/system_lookup.h"

namespace wsgate::config {
namespace {

constexpr std::string_view kExec = "routes[].exec";
constexpr std::string_view kCommand = "routes[].exec.command";
constexpr std::string_view kScriptsDir = "routes[].exec.scripts_dir";
constexpr std::string_view kDir = "routes[].exec.dir";
constexpr std::string_view kPass = "routes[].exec.env.pass";
constexpr std::string_view kSet = "routes[].exec.env.set";
constexpr std::string_view kUser = "routes[].exec.user";
constexpr std::string_view kGroup = "routes[].exec.group";
constexpr std::string_view kKillAfter = "routes[].exec.kill_after";

// The CGI/1.1 variables websocketd sets, which the worker sets the same way.
constexpr std::array<std::string_view, 21> kConnectionVariables{
    "SERVER_SOFTWARE", "REMOTE_ADDR",     "REMOTE_HOST",       "REMOTE_PORT",    "SERVER_NAME",
    "SERVER_PORT",     "SERVER_PROTOCOL", "GATEWAY_INTERFACE", "REQUEST_METHOD", "SCRIPT_NAME",
    "PATH_INFO",       "PATH_TRANSLATED", "QUERY_STRING",      "REQUEST_URI",    "UNIQUE_ID",
    "HTTPS",           "AUTH_TYPE",       "CONTENT_LENGTH",    "CONTENT_TYPE",   "REMOTE_IDENT",
    "REMOTE_USER"};

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

// What is wrong with `name` as a variable of a child's environment, or "".
std::string check_variable_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front()) ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return is_name_start(c) || (c >= '0' && c <= '9'); })) {
    return "must be a variable name: a letter or _, then letters, digits and _";
  }
  if (name.starts_with("HTTP_")) {
    return "starts with HTTP_, which wsgate sets for each connection from its request headers";
  }
  if (is_connection_variable(name)) return "is set by wsgate for each connection";
  return "";
}

bool has_nul(std::string_view text) {
  return text.find('\0') != std::string_view::npos;
}

// Checks the command and resolves its program; errors about one element
// are reported at it.
void read_command(SectionReader& r, std::vector<ListElement>& elements, ExecConfig& exec) {
  if (elements.empty()) {
    r.error(kCommand, "must name the program, then its arguments, as in [/usr/bin/cat]",
            "an empty list");
    return;
  }
  for (const ListElement& element : elements) {
    if (has_nul(element.text)) {
      r.error(element, kCommand, "must not contain a NUL byte", got_text(element.text));
    }
  }
  if (!r.ok(kCommand)) return;
  Parsed<std::string> program = find_program(elements[0].text, program_search_path());
  if (!program) {
    r.error(elements[0], kCommand, program.error, got_text(elements[0].text));
    return;
  }
  elements[0].text = std::move(*program.value);
  for (ListElement& element : elements) exec.command.push_back(std::move(element.text));
}

// Checks a directory key; stores its realpath() form when `real` is set.
void read_directory(SectionReader& r, std::string_view key, bool real, std::string& path) {
  if (path.empty() || !r.ok(key)) return;
  Parsed<std::string> found = find_directory(path);
  if (!found) {
    r.error(key, found.error, got_text(path));
  } else if (real) {
    path = std::move(*found.value);
  }
}

void read_environment(SectionReader& r, const std::vector<ListElement>& pass,
                      const std::vector<MapElement>& set, ExecConfig& exec) {
  std::map<std::string_view, const ListElement*> passed;
  exec.env_pass.clear();
  for (const ListElement& element : pass) {
    if (std::string why = check_variable_name(element.text); !why.empty()) {
      r.error(element, kPass, why, got_text(element.text));
      continue;
    }
    auto [first, inserted] = passed.emplace(element.text, &element);
    if (!inserted) {
      r.error(element, kPass, "repeats " + first->second->path, got_text(element.text));
      continue;
    }
    exec.env_pass.push_back(element.text);
  }
  for (const MapElement& element : set) {
    if (std::string why = check_variable_name(element.name); !why.empty()) {
      r.error(element, kSet, why, got_text(element.name));
    } else if (has_nul(element.value)) {
      r.error(element, kSet, "must not contain a NUL byte", got_text(element.value));
    } else {
      exec.env_set.emplace_back(element.name, element.value);
    }
  }
  // A name both passed and set gets the fixed value, so the worker never
  // sees it twice.
  std::erase_if(exec.env_pass, [&](const std::string& name) {
    return std::any_of(exec.env_set.begin(), exec.env_set.end(),
                       [&](const auto& pair) { return pair.first == name; });
  });
}

void read_identity(SectionReader& r, ExecConfig& exec) {
  if (!exec.user.empty()) {
    Parsed<Account> account = lookup_user(exec.user);
    if (!account) {
      r.error(kUser, account.error, got_text(exec.user));
    } else {
      exec.uid = account.value->uid;
      exec.gid = account.value->gid;
    }
  }
  if (!exec.group.empty()) {
    Parsed<int64_t> gid = lookup_group(exec.group);
    if (!gid) {
      r.error(kGroup, gid.error, got_text(exec.group));
    } else {
      exec.gid = *gid.value;
    }
  } else if (exec.uid >= 0 && exec.gid < 0) {
    r.error(kUser,
            "is a uid without an entry in the user database, so it has no primary group; set " +
                r.display(kGroup),
            got_text(exec.user));
  }
}

void read_rlimits(SectionReader& r, ExecRlimits& limits) {
  auto read = [&](std::string_view key) -> std::optional<uint64_t> {
    std::optional<int64_t> value = r.optional_number(key);
    if (!value) return std::nullopt;
    return static_cast<uint64_t>(*value);
  };
  limits.nofile = read("routes[].exec.rlimits.nofile");
  limits.nproc = read("routes[].exec.rlimits.nproc");
  limits.as = read("routes[].exec.rlimits.as");
  // RLIMIT_CPU counts whole seconds; a part of a second rounds up.
  if (std::optional<uint64_t> ms = read("routes[].exec.rlimits.cpu"))
    limits.cpu = (*ms + 999) / 1000;
}

}  // namespace

bool is_connection_variable(std::string_view name) {
  return name.starts_with("HTTP_") ||
         std::find(kConnectionVariables.begin(), kConnectionVariables.end(), name) !=
             kConnectionVariables.end();
}

void read_exec(SectionReader& r, RouteConfig& route) {
  ExecConfig& exec = route.exec;
  std::vector<ListElement> command = r.strings(kCommand);
  exec.scripts_dir = r.path(kScriptsDir);
  exec.dir = r.path(kDir);
  const std::vector<ListElement> pass = r.strings(kPass);
  const std::vector<MapElement> set = r.string_map(kSet);
  exec.user = r.text(kUser);
  exec.group = r.text(kGroup);
  exec.max_processes = static_cast<uint32_t>(r.number("routes[].exec.max_processes"));
  exec.mode =
      r.text("routes[].exec.mode") == "binary" ? ExecConfig::Mode::Binary : ExecConfig::Mode::Text;
  const std::vector<Duration> kill_after = r.durations(kKillAfter);
  read_rlimits(r, exec.rlimits);

  if (route.relay != "exec") {
    if (r.present(kExec) && r.ok("routes[].relay")) {
      r.error(kExec, "is only read by routes whose relay is exec",
              "relay " + got_text(route.relay));
    }
    exec = ExecConfig{};
    return;
  }

  const bool has_command = r.present(kCommand);
  const bool has_scripts_dir = !exec.scripts_dir.empty();
  if (r.ok(kCommand) && r.ok(kScriptsDir)) {
    if (has_command == has_scripts_dir) {
      r.error(kExec, "set exactly one of command and scripts_dir",
              has_command ? "both" : "neither");
    } else if (has_command) {
      read_command(r, command, exec);
    } else {
      read_directory(r, kScriptsDir, true, exec.scripts_dir);
      // Indexed now, so that an upgrade never touches the disk.
      if (r.ok(kScriptsDir)) {
        if (std::string why = index_scripts(exec.scripts_dir, exec.scripts); !why.empty()) {
          r.error(kScriptsDir, why, got_text(exec.scripts_dir));
        }
      }
    }
  }
  read_directory(r, kDir, false, exec.dir);
  read_environment(r, pass, set, exec);
  read_identity(r, exec);
  if (r.ok(kKillAfter)) {
    if (kill_after.size() != exec.kill_after.size()) {
      r.error(kKillAfter, "must list three durations: the waits before SIGINT, SIGTERM and SIGKILL",
              std::to_string(kill_after.size()) + (kill_after.size() == 1 ? " item" : " items"));
    } else {
      std::copy(kill_after.begin(), kill_after.end(), exec.kill_after.begin());
    }
  }
}

}  // namespace wsgate::config
