// Human-readable output of wsgatectl (see render.h).
#include "ctl/render.h"

#include <algorithm>
#include <cstdio>

namespace wsgate::ctl {
namespace {

std::string text(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string("-");
}

uint64_t number(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  if (!value || !value.IsScalar()) return 0;
  try {
    return value.as<uint64_t>();
  } catch (const YAML::Exception&) {
    return 0;
  }
}

std::string render_status(const YAML::Node& s) {
  std::string out = "wsgated " + text(s, "version") + ", pid " + text(s, "pid") + ", " +
                    text(s, "state") + ", generation " + text(s, "generation") + ", up " +
                    format_duration(number(s, "uptime_s")) + "\n";
  out += format_table(
      {{"config:", text(s, "config")},
       {"pid file:", text(s, "pid_file")},
       {"control socket:", text(s, "control_socket")},
       {"workers:", text(s, "workers") + " configured, " + text(s, "workers_ready") + " ready"},
       {"unserved sockets:", text(s, "unserved_sockets")}});
  std::vector<std::vector<std::string>> rows{{"LISTENER", "PORT", "SOCKETS"}};
  for (const YAML::Node& listener : s["listeners"]) {
    rows.push_back({text(listener, "address"), text(listener, "port"), text(listener, "sockets")});
  }
  out += "\n" + format_table(rows);
  return out;
}

std::string render_workers(const YAML::Node& w) {
  std::vector<std::vector<std::string>> rows{
      {"SLOT", "PID", "GEN", "STATE", "UPTIME", "LAST-REPORT", "RESTARTS", "ACCEPTS-FOR"}};
  for (const YAML::Node& worker : w["workers"]) {
    std::string accepts;
    for (const YAML::Node& slot : worker["accepts_for"]) {
      accepts += (accepts.empty() ? "" : ",") + slot.as<std::string>("");
    }
    rows.push_back({text(worker, "slot"), text(worker, "pid"), text(worker, "generation"),
                    text(worker, "state"), format_duration(number(worker, "uptime_s")),
                    format_age(number(worker, "last_report_age_ms")), text(worker, "restarts"),
                    accepts.empty() ? "-" : accepts});
  }
  return format_table(rows);
}

namespace {

// permessage-deflate's ratio each way, from the totals; nothing when no
// message was compressed either way.
std::string render_compression(const YAML::Node& totals) {
  const uint64_t compressed_in = number(totals, "compressed_bytes_in");
  const uint64_t inflated_in = number(totals, "inflated_bytes_in");
  const uint64_t deflated_out = number(totals, "deflated_bytes_out");
  const uint64_t compressed_out = number(totals, "compressed_bytes_out");
  if (compressed_in == 0 && compressed_out == 0) return "";
  const auto row = [](const char* way, uint64_t compressed, uint64_t whole) {
    char ratio[32] = "-";
    if (compressed > 0) {
      std::snprintf(ratio, sizeof ratio, "%.2f:1", static_cast<double>(whole) / compressed);
    }
    return std::vector<std::string>{std::string("  ") + way,
                                    format_bytes(whole) + " as " + format_bytes(compressed), ratio};
  };
  return "\ncompression (payload as sent on the wire, ratio):\n" +
         format_table(
             {row("in", compressed_in, inflated_in), row("out", compressed_out, deflated_out)});
}

}  // namespace

std::string render_stats(const YAML::Node& s) {
  std::string out = "generation " + text(s, "generation") + "\n\ntotals:\n";
  std::vector<std::vector<std::string>> totals;
  for (const auto& member : s["totals"]) {
    const std::string name = member.first.as<std::string>();
    const uint64_t value = member.second.as<uint64_t>(0);
    const bool bytes = name.find("bytes") != std::string::npos;
    totals.push_back({"  " + name, bytes ? std::to_string(value) + " (" + format_bytes(value) + ")"
                                         : std::to_string(value)});
  }
  out += format_table(totals);
  out += render_compression(s["totals"]);
  std::vector<std::vector<std::string>> rows{{"SLOT", "PID", "GEN", "STATE", "CONNS", "ACCEPTED",
                                              "MSG-IN", "MSG-OUT", "BYTES-IN", "BYTES-OUT", "RSS"}};
  for (const YAML::Node& worker : s["workers"]) {
    rows.push_back({text(worker, "slot"), text(worker, "pid"), text(worker, "generation"),
                    text(worker, "state"), text(worker, "connections_active"),
                    text(worker, "connections_accepted"), text(worker, "messages_in"),
                    text(worker, "messages_out"), format_bytes(number(worker, "bytes_in")),
                    format_bytes(number(worker, "bytes_out")),
                    format_bytes(number(worker, "rss_bytes"))});
  }
  out += "\n" + format_table(rows);
  if (s["routes"] && s["routes"].size() > 0) {
    std::vector<std::vector<std::string>> routes{{"ROUTE", "CONNS", "UPGRADES", "MSG-IN",
                                                  "MSG-OUT", "UP-OK", "UP-FAILED", "UP-ERRORS",
                                                  "PROCS"}};
    for (const auto& member : s["routes"]) {
      const YAML::Node& r = member.second;
      const uint64_t failed =
          number(r, "proxy_connect_failures_refused") + number(r, "proxy_connect_failures_timeout") +
          number(r, "proxy_connect_failures_dns") + number(r, "proxy_connect_failures_tls") +
          number(r, "proxy_connect_failures_other");
      routes.push_back({member.first.as<std::string>(), text(r, "connections_active"),
                        text(r, "upgrades"), text(r, "messages_in"), text(r, "messages_out"),
                        text(r, "proxy_connects_ok"), std::to_string(failed),
                        text(r, "proxy_upstream_errors"), text(r, "exec_processes_running")});
    }
    out += "\n" + format_table(routes);
  }
  return out;
}

}  // namespace

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string format_duration(uint64_t seconds) {
  char buffer[32];
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%llus", static_cast<unsigned long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(buffer, sizeof buffer, "%llum%02llus",
                  static_cast<unsigned long long>(seconds / 60),
                  static_cast<unsigned long long>(seconds % 60));
  } else if (seconds < 86400) {
    std::snprintf(buffer, sizeof buffer, "%lluh%02llum",
                  static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds % 3600 / 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%llud%02lluh",
                  static_cast<unsigned long long>(seconds / 86400),
                  static_cast<unsigned long long>(seconds % 86400 / 3600));
  }
  return buffer;
}

std::string format_age(uint64_t milliseconds) {
  char buffer[32];
  if (milliseconds < 1000) {
    std::snprintf(buffer, sizeof buffer, "%llums", static_cast<unsigned long long>(milliseconds));
  } else if (milliseconds < 60000) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", static_cast<double>(milliseconds) / 1000.0);
  } else {
    return format_duration(milliseconds / 1000);
  }
  return buffer;
}

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%s", value, kUnits[unit]);
  return buffer;
}

std::string render_answer(const std::string& command, const YAML::Node& answer) {
  if (command == "status") return render_status(answer);
  if (command == "workers") return render_workers(answer);
  if (command == "stats") return render_stats(answer);
  if (command == "reload")
    return "reloaded: generation " + text(answer, "generation") + " is serving\n";
  if (command == "stop") return "wsgated stopped\n";
  if (command == "graceful-stop") return "wsgated drained its connections and stopped\n";
  if (command == "reopen-logs") return "log files reopened\n";
  if (command == "version")
    return "wsgatectl " WSGATE_VERSION "\nwsgated " + text(answer, "version") + "\n";
  return "ok\n";
}

}  // namespace wsgate::ctl
