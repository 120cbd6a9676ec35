// Configuration rules that involve more than one key.
#include "config/cross_checks.h"

#include <map>

#include "config/system_lookup.h"
#include "config/typed_value.h"

namespace wsgate::config {
namespace {

// One key taking part in a rule, with its value as a config file writes it.
struct Side {
  SectionReader& reader;
  std::string_view key;
  std::string value;
};

Side number_side(SectionReader& reader, std::string_view key, int64_t value) {
  return Side{reader, key, format_number(*find_schema(key), value)};
}

// "limits.write_queue_low (64KiB, line 12)" or "... (64KiB by default)".
std::string describe(const Side& side) {
  std::string out = side.reader.display(side.key) + " (" + side.value;
  if (side.reader.present(side.key)) {
    out += ", line " + std::to_string(side.reader.where(side.key).line) + ")";
  } else {
    out += " by default)";
  }
  return out;
}

// Reports a broken rule at whichever side was written later (`b` when
// neither or both at once), saying `a_says` or `b_says` about it followed by
// a description of the other side.
void report(const Side& a, const Side& b, std::string_view a_says, std::string_view b_says) {
  if (!a.reader.ok(a.key) || !b.reader.ok(b.key)) return;
  bool a_later = a.reader.present(a.key) &&
                 (!b.reader.present(b.key) || b.reader.where(b.key) < a.reader.where(a.key));
  const Side& at = a_later ? a : b;
  const Side& other = a_later ? b : a;
  at.reader.error(at.key, std::string(a_later ? a_says : b_says) + " " + describe(other),
                  got_text(at.value));
}

void check_files(const Config& config, SectionReader& root) {
  if (config.pid_file == config.control_socket) {
    report(Side{root, "pid_file", config.pid_file},
           Side{root, "control_socket", config.control_socket}, "must differ from",
           "must differ from");
  }
}

void check_write_queue(const LimitsConfig& limits, SectionReader& root) {
  Side low =
      number_side(root, "limits.write_queue_low", static_cast<int64_t>(limits.write_queue_low));
  Side high =
      number_side(root, "limits.write_queue_high", static_cast<int64_t>(limits.write_queue_high));
  Side max =
      number_side(root, "limits.write_queue_max", static_cast<int64_t>(limits.write_queue_max));
  if (limits.write_queue_low >= limits.write_queue_high) {
    report(low, high, "must be less than", "must be greater than");
  }
  if (limits.write_queue_high > limits.write_queue_max) {
    report(high, max, "must be at most", "must be at least");
  }
}

void check_timers(const Config& config, SectionReader& root) {
  const TimeoutsConfig& timeouts = config.timeouts;
  if (timeouts.ping_interval.count() > 0 && timeouts.pong_timeout.count() == 0) {
    report(number_side(root, "timeouts.ping_interval", timeouts.ping_interval.count()),
           number_side(root, "timeouts.pong_timeout", 0),
           "must be 0 (pings off) when pongs cannot time out, as set by",
           "must be above 0 while pings are on, as set by");
  }
  if (timeouts.watchdog.count() > 0 && timeouts.watchdog <= config.stats_interval) {
    report(number_side(root, "stats_interval", config.stats_interval.count()),
           number_side(root, "timeouts.watchdog", timeouts.watchdog.count()), "must be less than",
           "must be 0 (off) or greater than");
  }
}

void check_listen(const Config& config, std::vector<SectionReader>& listen) {
  std::map<std::string, size_t> first;  // canonical address -> item index
  for (size_t i = 0; i < config.listen.size() && i < listen.size(); ++i) {
    constexpr std::string_view kKey = "listen[].address";
    if (!listen[i].ok(kKey)) continue;
    Parsed<ListenAddress> address = parse_address(config.listen[i].address);
    if (!address) continue;
    auto [seen, inserted] = first.emplace(address.value->canonical, i);
    if (!inserted) {
      SectionReader& earlier = listen[seen->second];
      listen[i].error(kKey,
                      "repeats the address of " + earlier.display(kKey) + " (line " +
                          std::to_string(earlier.where(kKey).line) + ")",
                      got_text(config.listen[i].address));
    }
  }
}

void check_routes(const Config& config, SectionReader& root, std::vector<SectionReader>& routes) {
  constexpr std::string_view kKey = "routes[].path";
  // (static?, path) -> item index: a static route and a WebSocket route may
  // share a path (the page and its WebSocket); two of a kind may not.
  std::map<std::pair<bool, std::string>, size_t> first;
  for (size_t i = 0; i < config.routes.size() && i < routes.size(); ++i) {
    const std::string& path = config.routes[i].path;
    if (!routes[i].ok(kKey) || path.empty()) continue;
    auto [seen, inserted] = first.emplace(std::pair{config.routes[i].is_static(), path}, i);
    if (!inserted) {
      SectionReader& earlier = routes[seen->second];
      routes[i].error(kKey,
                      "repeats the path of " + earlier.display(kKey) + " (line " +
                          std::to_string(earlier.where(kKey).line) + ")",
                      got_text(path));
      continue;
    }
    if (!config.health_path.empty() && path == config.health_path) {
      report(Side{root, "health_path", config.health_path}, Side{routes[i], kKey, path},
             "must differ from every route path, but equals",
             "must differ from the health check path, but equals");
    }
  }
}

// With the top-level user set, workers run as that user and group, and an
// unprivileged process cannot setuid(2) or setgid(2) to another id: each
// exec route's user and group must then be the workers' own (or unset).
// A top-level user or group unknown here is left to the supervisor, which
// reports it when it switches.
void check_exec_identity(const Config& config, SectionReader& root,
                         std::vector<SectionReader>& routes) {
  if (config.user.empty() || !root.ok("user") || !root.ok("group")) return;
  Parsed<Account> worker = lookup_user(config.user);
  if (!worker) return;
  int64_t worker_gid = worker.value->gid;
  std::string worker_group =
      "gid " + std::to_string(worker_gid) + " (the primary group of " + config.user + ")";
  std::string group_value = std::to_string(worker_gid);  // what exec.group could say
  if (!config.group.empty()) {
    Parsed<int64_t> gid = lookup_group(config.group);
    if (!gid) return;
    worker_gid = *gid.value;
    worker_group = config.group + " (gid " + std::to_string(worker_gid) + ")";
    group_value = config.group;
  }
  const std::string fix =
      "; remove the top-level user: so that workers keep root and switch each child, or ";
  const std::string set_by = " (user: at line " + std::to_string(root.where("user").line) + ")";
  constexpr std::string_view kUser = "routes[].exec.user";
  constexpr std::string_view kGroup = "routes[].exec.group";
  for (size_t i = 0; i < config.routes.size() && i < routes.size(); ++i) {
    const ExecConfig& exec = config.routes[i].exec;
    SectionReader& r = routes[i];
    if (config.routes[i].relay != "exec" || !r.ok(kUser) || !r.ok(kGroup)) continue;
    if (exec.uid >= 0 && exec.uid != worker.value->uid) {
      r.error(kUser,
              "workers run as " + config.user + set_by + " and cannot start children as " +
                  exec.user + fix + "remove " + r.display(kUser),
              got_text(exec.user));
    } else if (exec.gid >= 0 && exec.gid != worker_gid) {
      const bool written = !exec.group.empty();
      const std::string child_group =
          written ? exec.group + " (gid " + std::to_string(exec.gid) + ")"
                  : "gid " + std::to_string(exec.gid) + " (the primary group of " + exec.user + ")";
      r.error(written ? kGroup : kUser,
              "workers run in group " + worker_group + set_by +
                  " and cannot start children in group " + child_group + fix + "write " +
                  r.display(kGroup) + ": " + group_value,
              got_text(written ? exec.group : exec.user));
    }
  }
}

}  // namespace

void check_cross_fields(const Config& config, SectionReader& root,
                        std::vector<SectionReader>& listen, std::vector<SectionReader>& routes) {
  check_files(config, root);
  check_write_queue(config.limits, root);
  check_timers(config, root);
  check_listen(config, listen);
  check_routes(config, root, routes);
  check_exec_identity(config, root, routes);
}

}  // namespace wsgate::config
