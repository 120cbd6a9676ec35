// The Prometheus text exposition of the supervisor's statistics (see
// metrics_text.h).
#include "supervisor/metrics_text.h"

#include <cstdio>
#include <span>
#include <string_view>

#include "common/stats_fields.h"

namespace wsgate::supervisor {
namespace {

// A field's metric name and the factor that takes its value to base units.
struct Metric {
  std::string name;
  double scale = 1;  // 1: the integer as it is
};

Metric metric_for(std::string_view prefix, std::string_view field, bool counter) {
  Metric metric{std::string(prefix), 1};
  std::string_view base = field;
  if (base.ends_with("_us_total")) {
    base.remove_suffix(9);
    metric.name.append(base).append("_seconds");
    metric.scale = 1e-6;
  } else if (base.ends_with("_ns")) {
    base.remove_suffix(3);
    metric.name.append(base).append("_seconds");
    metric.scale = 1e-9;
  } else {
    metric.name.append(base);
  }
  if (counter && !metric.name.ends_with("_total")) metric.name.append("_total");
  return metric;
}

// Label values escape \, " and newline (exposition format).
std::string label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void append_value(std::string& out, uint64_t value, double scale) {
  if (scale == 1) {
    out += std::to_string(value);
  } else {
    char text[40];
    std::snprintf(text, sizeof text, "%.9g", static_cast<double>(value) * scale);
    out += text;
  }
  out += '\n';
}

void append_header(std::string& out, const std::string& name, bool counter, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(counter ? " counter\n" : " gauge\n");
}

// Fields that are not metrics.
bool skipped(std::string_view field) {
  return field == "report_time_ms";
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& snapshot) {
  std::string out;
  out.reserve(16384);
  for (const StatsField& field : stats_fields()) {
    if (skipped(field.name)) continue;
    const Metric metric = metric_for("wsgate_", field.name, field.counter);
    append_header(out, metric.name, field.counter,
                  std::string(field.counter ? "Counter " : "Gauge ") + std::string(field.name) +
                      " of wsgatectl stats, over all workers" +
                      (field.counter ? " and generations." : " running."));
    out.append(metric.name).append(" ");
    append_value(out, snapshot.totals.*field.member, metric.scale);
  }
  for (const RouteStatsField& field : route_stats_fields()) {
    const Metric metric = metric_for("wsgate_route_", field.name, field.counter);
    append_header(out, metric.name, field.counter,
                  std::string(field.counter ? "Route counter " : "Route gauge ") +
                      std::string(field.name) + " of wsgatectl stats, by route.");
    for (const auto& [path, stats] : snapshot.routes) {
      const auto relay = snapshot.relays.find(path);
      out.append(metric.name)
          .append("{route=\"")
          .append(label_value(path))
          .append("\",relay=\"")
          .append(relay == snapshot.relays.end() ? "" : label_value(relay->second))
          .append("\"} ");
      append_value(out, stats.*field.member, metric.scale);
    }
  }
  append_header(out, "wsgate_generation", false, "The worker generation that serves.");
  out.append("wsgate_generation ").append(std::to_string(snapshot.generation)).append("\n");
  append_header(out, "wsgate_generation_workers", false,
                "Worker processes alive, by generation (an old one drains after a reload).");
  for (const MetricsSnapshot::Generation& g : snapshot.generations) {
    out.append("wsgate_generation_workers{generation=\"")
        .append(std::to_string(g.generation))
        .append("\"} ")
        .append(std::to_string(g.workers))
        .append("\n");
  }
  append_header(out, "wsgate_generation_connections", false,
                "Open WebSocket connections, by worker generation.");
  for (const MetricsSnapshot::Generation& g : snapshot.generations) {
    out.append("wsgate_generation_connections{generation=\"")
        .append(std::to_string(g.generation))
        .append("\"} ")
        .append(std::to_string(g.connections))
        .append("\n");
  }
  return out;
}

}  // namespace wsgate::supervisor
