// Unit tests of range checks at the boundaries (min-1, min, max, max+1) for
// keys of each numeric type, through the whole loader.
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

using namespace std::chrono_literals;
using testing::errors_of;
using testing::load_text;

// A config whose line 3 is "<section>:" and line 4 "  <key>: <value>", or
// whose line 3 is "<key>: <value>" when section is empty.
std::string config_with(const std::string& section, const std::string& key,
                        const std::string& value) {
  std::string text = testing::kMinimal;
  if (section.empty()) return text + key + ": " + value + "\n";
  return text + section + ":\n  " + key + ": " + value + "\n";
}

// The error expected for `value` out of range at the value's position.
std::string range_error(const std::string& section, const std::string& key,
                        const std::string& value, const std::string& range) {
  std::string shown = section.empty() ? key : section + "." + key;
  size_t column = (section.empty() ? 0 : 2) + key.size() + 3;
  std::string line = section.empty() ? "3" : "4";
  return "f.yaml:" + line + ":" + std::to_string(column) + ": " + shown + ": must be between " +
         range + " (got " + value + ")";
}

struct Boundary {
  std::string section, key;
  std::string below, min, max, above;  // min-1, min, max, max+1 as written
  std::string range;                   // as the error prints it
};

// Names the key in gtest's failure messages instead of dumping bytes.
void PrintTo(const Boundary& boundary, std::ostream* out) {
  *out << (boundary.section.empty() ? "" : boundary.section + ".") << boundary.key;
}

class RangeBoundaries : public ::testing::TestWithParam<Boundary> {};

TEST_P(RangeBoundaries, AcceptMinAndMaxRejectJustOutside) {
  const Boundary& b = GetParam();
  EXPECT_EQ(errors_of(config_with(b.section, b.key, b.min)), "");
  EXPECT_EQ(errors_of(config_with(b.section, b.key, b.max)), "");
  EXPECT_EQ(errors_of(config_with(b.section, b.key, b.below)),
            range_error(b.section, b.key, b.below, b.range));
  EXPECT_EQ(errors_of(config_with(b.section, b.key, b.above)),
            range_error(b.section, b.key, b.above, b.range));
}

INSTANTIATE_TEST_SUITE_P(
    Config, RangeBoundaries,
    ::testing::Values(
        Boundary{"limits", "max_connections", "0", "1", "1000000", "1000001", "1 and 1000000"},
        Boundary{"limits", "max_headers", "7", "8", "1024", "1025", "8 and 1024"},
        Boundary{"limits", "max_frame", "124", "125", "1GiB", "1073741825", "125 and 1GiB"},
        Boundary{"limits", "max_request_line", "255", "256", "1MiB", "1025KiB", "256 and 1MiB"},
        Boundary{"limits", "max_header_bytes", "1023", "1KiB", "1024KiB", "1048577",
                 "1KiB and 1MiB"},
        Boundary{"limits", "handshake_timeout", "99ms", "100ms", "10m", "600001ms",
                 "100ms and 10m"},
        Boundary{"limits", "message_timeout", "999ms", "1s", "1h", "3601s", "1s and 1h"},
        Boundary{"timeouts", "idle_check_interval", "99ms", "100ms", "60m", "1h1ms",
                 "100ms and 1h"},
        Boundary{"timeouts", "worker_start", "999ms", "1s", "10m", "601s", "1s and 10m"},
        Boundary{"", "workers", "0", "1", "256", "257", "1 and 256"}),
    [](const ::testing::TestParamInfo<Boundary>& info) {
      return (info.param.section.empty() ? "" : info.param.section + "_") + info.param.key;
    });

TEST(ConfigLoader, BacklogBoundariesInAListItem) {
  auto listen = [](const std::string& backlog) {
    return "listen:\n  - address: 127.0.0.1:0\n    backlog: " + backlog + "\n";
  };
  EXPECT_EQ(load_text(listen("1"))->listen[0].backlog, 1);
  EXPECT_EQ(load_text(listen("65535"))->listen[0].backlog, 65535);
  EXPECT_EQ(errors_of(listen("0")),
            "f.yaml:3:14: listen[0].backlog: must be between 1 and 65535 (got 0)");
  EXPECT_EQ(errors_of(listen("65536")),
            "f.yaml:3:14: listen[0].backlog: must be between 1 and 65535 (got 65536)");
}

TEST(ConfigLoader, ZeroTurnsOffTimersThatAllowIt) {
  ConfigPtr config = load_text(std::string(testing::kMinimal) +
                               "timeouts:\n  idle: 0\n  ping_interval: 0\n  watchdog: 0\n");
  EXPECT_EQ(config->timeouts.idle, 0ms);
  EXPECT_EQ(config->timeouts.ping_interval, 0ms);
  EXPECT_EQ(config->timeouts.watchdog, 0ms);
  EXPECT_EQ(errors_of(config_with("timeouts", "close", "0")),
            "f.yaml:4:10: timeouts.close: must be between 100ms and 10m (got 0)");
}

TEST(ConfigLoader, HugeNumbersAreTooLargeNotWrapped) {
  EXPECT_EQ(errors_of(config_with("limits", "max_connections", "99999999999999999999")),
            "f.yaml:4:20: limits.max_connections: is too large (got 99999999999999999999)");
  EXPECT_EQ(errors_of(config_with("limits", "max_frame", "-1")),
            "f.yaml:4:14: limits.max_frame: must not be negative (got -1)");
  EXPECT_EQ(errors_of(config_with("limits", "max_connections", "-1")),
            "f.yaml:4:20: limits.max_connections: must be between 1 and 1000000 (got -1)");
}

}  // namespace
}  // namespace wsgate::config
