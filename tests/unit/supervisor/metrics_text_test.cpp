// The Prometheus exposition of the supervisor's statistics: names follow
// Prometheus conventions (counters end in _total, times in seconds), every
// series has HELP and TYPE, and label values are escaped.
#include "supervisor/metrics_text.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

namespace wsgate::supervisor {
namespace {

MetricsSnapshot sample() {
  MetricsSnapshot s;
  s.totals.messages_in = 42;
  s.totals.connections_active = 3;
  s.totals.loop_busy_ns = 1500000000;
  s.totals.translator_reply_us_total = 250000;
  s.routes["/echo"].upgrades = 7;
  s.routes["/we\"ird\\path\n"].upgrades = 1;
  s.relays["/echo"] = "echo";
  s.generation = 2;
  s.generations = {{1, 1, 0, 4, 1}, {2, 2, 3, 10, 0}};
  return s;
}

std::string line_of(const std::string& text, const std::string& start) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(start)) return line;
  }
  return "";
}

TEST(MetricsText, CountersGaugesAndSeconds) {
  const std::string text = render_metrics(sample());
  EXPECT_EQ(line_of(text, "wsgate_messages_in_total "), "wsgate_messages_in_total 42");
  EXPECT_EQ(line_of(text, "# TYPE wsgate_messages_in_total"),
            "# TYPE wsgate_messages_in_total counter");
  EXPECT_EQ(line_of(text, "wsgate_connections_active "), "wsgate_connections_active 3");
  EXPECT_EQ(line_of(text, "# TYPE wsgate_connections_active"),
            "# TYPE wsgate_connections_active gauge");
  EXPECT_EQ(line_of(text, "wsgate_loop_busy_seconds_total "), "wsgate_loop_busy_seconds_total 1.5");
  // A sum and bucket counters that make a histogram appear only in it.
  EXPECT_EQ(line_of(text, "wsgate_translator_reply_duration_seconds_sum "),
            "wsgate_translator_reply_duration_seconds_sum 0.25");
  EXPECT_EQ(line_of(text, "wsgate_translator_reply_seconds_total"), "");
  EXPECT_EQ(line_of(text, "wsgate_handshake_under_1ms"), "");
  EXPECT_EQ(line_of(text, "wsgate_report_time"), "");  // not a metric
}

TEST(MetricsText, RoutesAndGenerationsAreLabelled) {
  const std::string text = render_metrics(sample());
  EXPECT_EQ(line_of(text, "wsgate_route_upgrades_total{route=\"/echo\""),
            "wsgate_route_upgrades_total{route=\"/echo\",relay=\"echo\"} 7");
  // A route of an older configuration has no relay in the running one.
  EXPECT_EQ(line_of(text, "wsgate_route_upgrades_total{route=\"/we"),
            "wsgate_route_upgrades_total{route=\"/we\\\"ird\\\\path\\n\",relay=\"\"} 1");
  EXPECT_EQ(line_of(text, "wsgate_generation_workers{generation=\"1\"}"),
            "wsgate_generation_workers{generation=\"1\"} 1");
  EXPECT_EQ(line_of(text, "wsgate_generation_connections{generation=\"2\",state=\"open\"}"),
            "wsgate_generation_connections{generation=\"2\",state=\"open\"} 10");
  EXPECT_EQ(line_of(text, "wsgate_generation_connections{generation=\"2\",state=\"handshake\"}"),
            "wsgate_generation_connections{generation=\"2\",state=\"handshake\"} 3");
  EXPECT_EQ(line_of(text, "wsgate_generation_connections{generation=\"1\",state=\"closing\"}"),
            "wsgate_generation_connections{generation=\"1\",state=\"closing\"} 1");
  EXPECT_EQ(line_of(text, "wsgate_generation "), "wsgate_generation 2");
}

TEST(MetricsText, EveryMetricHasOneHelpAndOneTypeBeforeItsSamples) {
  const std::string text = render_metrics(sample());
  std::istringstream in(text);
  std::set<std::string> typed;
  std::string current;
  bool histogram = false;
  for (std::string line; std::getline(in, line);) {
    ASSERT_FALSE(line.empty());
    if (line.starts_with("# HELP ")) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(typed.insert(current).second) << "twice: " << current;
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      EXPECT_EQ(line.substr(7, current.size()), current);
      const bool counter = line.ends_with(" counter");
      EXPECT_EQ(counter, current.ends_with("_total")) << line;
      histogram = line.ends_with(" histogram");
      continue;
    }
    std::string name = line.substr(0, line.find_first_of("{ "));
    if (histogram) {
      // A histogram's samples are NAME_bucket{le}, NAME_sum and NAME_count.
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name == current + suffix) name = current;
      }
    }
    EXPECT_EQ(name, current) << line;
  }
  EXPECT_GT(typed.size(), 100u);
}

TEST(MetricsText, HistogramsAreCumulativeWithSumAndCount) {
  MetricsSnapshot s;
  s.totals.handshake_under_1ms = 2;
  s.totals.handshake_under_100ms = 1;
  s.totals.handshake_over_1s = 1;
  s.totals.handshake_us_total = 3'000'000;
  const std::string text = render_metrics(s);
  EXPECT_EQ(line_of(text, "# TYPE wsgate_handshake_duration_seconds "),
            "# TYPE wsgate_handshake_duration_seconds histogram");
  const char* expected[] = {
      "wsgate_handshake_duration_seconds_bucket{le=\"0.001\"} 2",
      "wsgate_handshake_duration_seconds_bucket{le=\"0.01\"} 2",
      "wsgate_handshake_duration_seconds_bucket{le=\"0.1\"} 3",
      "wsgate_handshake_duration_seconds_bucket{le=\"1\"} 3",
      "wsgate_handshake_duration_seconds_bucket{le=\"+Inf\"} 4",
      "wsgate_handshake_duration_seconds_sum 3",
      "wsgate_handshake_duration_seconds_count 4",
  };
  for (const char* line : expected)
    EXPECT_NE(text.find(std::string(line) + "\n"), std::string::npos) << line;
}

}  // namespace
}  // namespace wsgate::supervisor
