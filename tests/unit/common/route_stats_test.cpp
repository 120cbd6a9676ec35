// RouteStats: the field table, channel records and JSON.
#include "common/route_stats.h"

#include <gtest/gtest.h>

#include <string>

namespace wsgate {
namespace {

TEST(RouteStats, FieldTableCoversEveryMemberOnce) {
  EXPECT_EQ(route_stats_fields().size() * sizeof(uint64_t), sizeof(RouteStats));
  size_t gauges = 0;
  for (const auto& field : route_stats_fields()) gauges += field.counter ? 0 : 1;
  // connections_active, translator_sessions_cached, translator_requests_in_flight,
  // exec_processes_running
  EXPECT_EQ(gauges, 4u);
}

TEST(RouteStats, RecordsRoundTripByPath) {
  RouteStats a;
  a.upgrades = 3;
  a.proxy_connect_failures_dns = 2;
  RouteStats b;
  b.connections_active = 7;
  std::string payload;
  encode_route_stats(payload, "/vnc", a);
  encode_route_stats(payload, "/", b);
  RouteStatsByPath out;
  out["/old"].upgrades = 1;
  ASSERT_TRUE(decode_route_stats(payload, out));
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(out["/vnc"].upgrades, 3u);
  EXPECT_EQ(out["/vnc"].proxy_connect_failures_dns, 2u);
  EXPECT_EQ(out["/"].connections_active, 7u);
  EXPECT_EQ(out["/old"].upgrades, 1u);
}

TEST(RouteStats, TruncatedRecordIsRefused) {
  std::string payload;
  encode_route_stats(payload, "/vnc", RouteStats{});
  RouteStatsByPath out;
  EXPECT_FALSE(decode_route_stats(std::string_view(payload).substr(0, payload.size() - 1), out));
  EXPECT_FALSE(decode_route_stats(std::string_view("\x01", 1), out));
  EXPECT_TRUE(decode_route_stats({}, out));
}

TEST(RouteStats, LongPathsAreCutToTheRecordLimit) {
  const std::string path(5000, 'p');
  std::string payload;
  encode_route_stats(payload, path, RouteStats{});
  EXPECT_EQ(payload.size(), kMaxRouteStatsRecord);
  RouteStatsByPath out;
  ASSERT_TRUE(decode_route_stats(payload, out));
  EXPECT_EQ(out.begin()->first, path.substr(0, kMaxRouteStatsPath));
}

TEST(RouteStats, SumsCountersAndGaugesApart) {
  RouteStats total;
  RouteStats one;
  one.upgrades = 2;
  one.connections_active = 5;
  total.add_counters(one);
  EXPECT_EQ(total.upgrades, 2u);
  EXPECT_EQ(total.connections_active, 0u);
  total.add_gauges(one);
  EXPECT_EQ(total.connections_active, 5u);
  std::string json;
  append_route_stats_json(json, total);
  EXPECT_NE(json.find("\"upgrades\":2"), std::string::npos);
  EXPECT_NE(json.find("\"connections_active\":5"), std::string::npos);
}

}  // namespace
}  // namespace wsgate
