// The Prometheus text exposition of the supervisor's statistics (see
// metrics_text.h).
#include "supervisor/metrics_text.h"

#include <cstdio>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

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

// A latency histogram made of WorkerStats' bucket counters (each counts
// the durations from the previous bound up to its own; the last has no
// bound) and the sum of the durations in microseconds.
struct Histogram {
  std::string_view name;
  std::string_view help;
  std::vector<std::pair<std::string_view, uint64_t WorkerStats::*>> buckets;  // le, counter
  uint64_t WorkerStats::*sum_us;
};

const std::vector<Histogram>& histograms() {
  using W = WorkerStats;
  const auto five = [](uint64_t W::*a, uint64_t W::*b, uint64_t W::*c, uint64_t W::*d,
                       uint64_t W::*e) {
    return std::vector<std::pair<std::string_view, uint64_t W::*>>{
        {"0.001", a}, {"0.01", b}, {"0.1", c}, {"1", d}, {"+Inf", e}};
  };
  static const std::vector<Histogram> all{
      {"wsgate_handshake_duration_seconds",
       "WebSocket upgrades by time from accept to the 101 (TLS included; whole milliseconds).",
       five(&W::handshake_under_1ms, &W::handshake_under_10ms, &W::handshake_under_100ms,
            &W::handshake_under_1s, &W::handshake_over_1s),
       &W::handshake_us_total},
      {"wsgate_tls_handshake_duration_seconds",
       "TLS handshakes completed, by time from the first ClientHello byte.",
       {{"0.001", &W::tls_handshake_under_1ms},
        {"0.01", &W::tls_handshake_under_10ms},
        {"0.1", &W::tls_handshake_under_100ms},
        {"+Inf", &W::tls_handshake_over_100ms}},
       &W::tls_handshake_us_total},
      {"wsgate_upstream_connect_duration_seconds",
       "Proxy routes: upstream connections made, by time to connect (TLS included).",
       five(&W::proxy_connect_under_1ms, &W::proxy_connect_under_10ms,
            &W::proxy_connect_under_100ms, &W::proxy_connect_under_1s, &W::proxy_connect_over_1s),
       &W::proxy_connect_us_total},
      {"wsgate_translator_reply_duration_seconds",
       "Translator routes: time from a request to its first reply.",
       five(&W::translator_reply_under_1ms, &W::translator_reply_under_10ms,
            &W::translator_reply_under_100ms, &W::translator_reply_under_1s,
            &W::translator_reply_over_1s),
       &W::translator_reply_us_total},
  };
  return all;
}

void append_histogram(std::string& out, const Histogram& h, const WorkerStats& stats) {
  const std::string name(h.name);
  out.append("# HELP ").append(name).append(" ").append(h.help).append("\n");
  out.append("# TYPE ").append(name).append(" histogram\n");
  uint64_t cumulative = 0;
  for (const auto& [le, member] : h.buckets) {
    cumulative += stats.*member;
    out.append(name).append("_bucket{le=\"").append(le).append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_sum ");
  append_value(out, stats.*h.sum_us, 1e-6);
  out.append(name).append("_count ").append(std::to_string(cumulative)).append("\n");
}

// Fields that are not metrics of their own: the report's clock, and the
// bucket counters and sums the histograms are made of.
bool skipped(const StatsField& field) {
  if (field.name == "report_time_ms") return true;
  for (const Histogram& h : histograms()) {
    if (field.member == h.sum_us) return true;
    for (const auto& bucket : h.buckets) {
      if (field.member == bucket.second) return true;
    }
  }
  return false;
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& snapshot) {
  std::string out;
  out.reserve(16384);
  for (const StatsField& field : stats_fields()) {
    if (skipped(field)) continue;
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
  for (const Histogram& histogram : histograms()) append_histogram(out, histogram, snapshot.totals);
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
                "Connections by worker generation and state (handshake, open, closing).");
  for (const MetricsSnapshot::Generation& g : snapshot.generations) {
    const std::pair<const char*, uint64_t> states[] = {
        {"handshake", g.handshaking}, {"open", g.open}, {"closing", g.closing}};
    for (const auto& [state, count] : states) {
      out.append("wsgate_generation_connections{generation=\"")
          .append(std::to_string(g.generation))
          .append("\",state=\"")
          .append(state)
          .append("\"} ")
          .append(std::to_string(count))
          .append("\n");
    }
  }
  append_header(out, "wsgate_event_followers", false,
                "Clients following the connection-state events (wsgatectl events --follow).");
  out.append("wsgate_event_followers ")
      .append(std::to_string(snapshot.event_followers))
      .append("\n");
  append_header(out, "wsgate_event_followers_dropped_total", true,
                "Event followers cut off because they read too slowly.");
  out.append("wsgate_event_followers_dropped_total ")
      .append(std::to_string(snapshot.event_followers_dropped))
      .append("\n");
  return out;
}

}  // namespace wsgate::supervisor
