// The pure parts of the connection-state events: ids, times and the
// record format of the Events channel message.
#include "common/events.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/address_text.h"

namespace wsgate {
namespace {

TEST(Events, IdsJoinInstanceAndSequence) {
  EXPECT_EQ(format_connection_id(1, 1), "1-1");
  EXPECT_EQ(format_connection_id(4294967295u, 18446744073709551615ull),
            "4294967295-18446744073709551615");
}

TEST(Events, TimesAreRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(format_event_time(0), "1970-01-01T00:00:00.000Z");
  // 2026-12-04T18:20:47.123456789Z: the sub-millisecond part is cut, not rounded.
  EXPECT_EQ(format_event_time(1796408447123456789ull), "2026-12-04T18:20:47.123Z");
}

TEST(Events, RecordsRoundTrip) {
  std::string payload;
  append_event_record(payload, "/echo", R"({"event":"upgraded"})");
  append_event_record(payload, "", R"({"event":"accepted"})");
  append_event_record(payload, "/a", "");
  EventRecordReader reader(payload);
  std::vector<std::pair<std::string, std::string>> seen;
  std::string_view route;
  std::string_view json;
  while (reader.next(route, json)) seen.emplace_back(route, json);
  EXPECT_FALSE(reader.failed());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("/echo"), std::string(R"({"event":"upgraded"})")));
  EXPECT_EQ(seen[1].first, "");
  EXPECT_EQ(seen[2].second, "");
}

TEST(Events, TruncatedRecordsFailAtEveryCut) {
  std::string payload;
  append_event_record(payload, "/route", R"({"id":"1-2"})");
  for (size_t cut = 1; cut < payload.size(); ++cut) {
    EventRecordReader reader(std::string_view(payload).substr(0, cut));
    std::string_view route;
    std::string_view json;
    EXPECT_FALSE(reader.next(route, json)) << cut;
    EXPECT_TRUE(reader.failed()) << cut;
  }
  EventRecordReader empty("");
  std::string_view route;
  std::string_view json;
  EXPECT_FALSE(empty.next(route, json));
  EXPECT_FALSE(empty.failed());
}

// The dotted quad is written by hand (inet_ntop's costs 1700
// instructions); every width of byte is checked against inet_ntop.
TEST(Events, AddressesMatchInetNtop) {
  for (const char* ip : {"0.0.0.0", "127.0.0.1", "10.20.30.40", "255.255.255.255", "1.22.133.9"}) {
    sockaddr_in in4{};
    in4.sin_family = AF_INET;
    in4.sin_port = htons(8080);
    ASSERT_EQ(inet_pton(AF_INET, ip, &in4.sin_addr), 1);
    EXPECT_EQ(address_text(reinterpret_cast<const sockaddr&>(in4)), std::string(ip) + ":8080");
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(443);
  ASSERT_EQ(inet_pton(AF_INET6, "::1", &in6.sin6_addr), 1);
  EXPECT_EQ(address_text(reinterpret_cast<const sockaddr&>(in6)), "[::1]:443");
  sockaddr none{};
  EXPECT_EQ(address_text(none), "-");
}

}  // namespace
}  // namespace wsgate
