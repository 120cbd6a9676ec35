// WorkerStats sums and JSON members.
#include "common/stats.h"

#include <gtest/gtest.h>

#include "common/stats_fields.h"

namespace wsgate {
namespace {

TEST(WorkerStats, AddCountersLeavesGaugesAlone) {
  WorkerStats total;
  WorkerStats one;
  one.messages_in = 5;
  one.closes_drain = 2;
  one.connections_active = 7;
  total.add_counters(one);
  total.add_counters(one);
  EXPECT_EQ(total.messages_in, 10u);
  EXPECT_EQ(total.closes_drain, 4u);
  EXPECT_EQ(total.connections_active, 0u);
}

TEST(WorkerStats, AddGaugesSumsGaugesAndKeepsLatestReportTime) {
  WorkerStats total;
  WorkerStats a;
  a.connections_active = 3;
  a.rss_bytes = 100;
  a.report_time_ms = 50;
  a.messages_in = 9;
  WorkerStats b;
  b.connections_active = 4;
  b.rss_bytes = 1;
  b.report_time_ms = 20;
  total.add_gauges(a);
  total.add_gauges(b);
  EXPECT_EQ(total.connections_active, 7u);
  EXPECT_EQ(total.rss_bytes, 101u);
  EXPECT_EQ(total.report_time_ms, 50u);
  EXPECT_EQ(total.messages_in, 0u);
}

TEST(WorkerStats, JsonMembersFollowDeclarationOrder) {
  WorkerStats stats;
  stats.connections_accepted = 1;
  stats.report_time_ms = 99;
  std::string json;
  append_stats_json(json, stats);
  EXPECT_EQ(json.rfind("\"connections_accepted\":1,\"handshakes_ok\":0,", 0), 0u);
  EXPECT_NE(json.find(",\"report_time_ms\":99"), std::string::npos);
  EXPECT_EQ(json.back(), '9');
  EXPECT_EQ(json.find('{'), std::string::npos);
}

TEST(WorkerStats, FieldTableCoversEveryMemberOnce) {
  EXPECT_EQ(stats_fields().size() * sizeof(uint64_t), sizeof(WorkerStats));
  size_t gauges = 0;
  for (const auto& field : stats_fields()) gauges += field.counter ? 0 : 1;
  EXPECT_EQ(gauges, 15u);
}

TEST(WorkerStats, CurrentRssIsNonZero) {
  EXPECT_GT(current_rss_bytes(), 0u);
}

}  // namespace
}  // namespace wsgate
