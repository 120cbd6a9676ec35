// Unit tests of rules spanning several keys: each is reported at the key
// written later, naming the other key with its value and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

using testing::errors_of;
using testing::load_text;

std::string with(const std::string& tail) {
  return std::string(testing::kMinimal) + tail;
}

TEST(CrossChecks, PidFileAndControlSocketMustDiffer) {
  EXPECT_EQ(errors_of(with("pid_file: /run/w\ncontrol_socket: /run/w\n")),
            "f.yaml:4:17: control_socket: must differ from pid_file (/run/w, line 3) (got /run/w)");
  // Relative paths are compared, and shown, once resolved.
  EXPECT_THAT(errors_of(with("pid_file: ./run/wsgated.sock\n")),
              ::testing::MatchesRegex("f\\.yaml:3:11: pid_file: must differ from control_socket "
                                      "\\(/.+/run/wsgated\\.sock by default\\) "
                                      "\\(got /.+/run/wsgated\\.sock\\)"));
}

TEST(CrossChecks, WriteQueueLowMustBeBelowHigh) {
  EXPECT_EQ(errors_of(with("limits:\n  write_queue_high: 64KiB\n  write_queue_low: 64KiB\n")),
            "f.yaml:5:20: limits.write_queue_low: must be less than limits.write_queue_high "
            "(64KiB, line 4) (got 64KiB)");
  EXPECT_EQ(errors_of(with("limits:\n  write_queue_low: 512KiB\n")),
            "f.yaml:4:20: limits.write_queue_low: must be less than limits.write_queue_high "
            "(256KiB by default) (got 512KiB)");
  EXPECT_EQ(errors_of(with("limits:\n  write_queue_high: 32KiB\n")),
            "f.yaml:4:21: limits.write_queue_high: must be greater than limits.write_queue_low "
            "(64KiB by default) (got 32KiB)");
}

TEST(CrossChecks, WriteQueueHighMayEqualMax) {
  EXPECT_EQ(errors_of(with("limits:\n  write_queue_high: 1MiB\n  write_queue_max: 1MiB\n")), "");
  EXPECT_EQ(errors_of(with("limits:\n  write_queue_high: 1MiB\n  write_queue_max: 512KiB\n")),
            "f.yaml:5:20: limits.write_queue_max: must be at least limits.write_queue_high "
            "(1MiB, line 4) (got 512KiB)");
}

TEST(CrossChecks, FrameLargerThanMessageIsAllowed) {
  EXPECT_EQ(errors_of(with("limits:\n  max_frame: 4MiB\n  max_message: 1MiB\n")), "");
}

TEST(CrossChecks, PingsNeedAPongTimeout) {
  EXPECT_EQ(errors_of(with("timeouts:\n  pong_timeout: 0\n")),
            "f.yaml:4:17: timeouts.pong_timeout: must be above 0 while pings are on, as set by "
            "timeouts.ping_interval (30s by default) (got 0)");
  EXPECT_EQ(errors_of(with("timeouts:\n  pong_timeout: 0\n  ping_interval: 10s\n")),
            "f.yaml:5:18: timeouts.ping_interval: must be 0 (pings off) when pongs cannot time "
            "out, as set by timeouts.pong_timeout (0, line 4) (got 10s)");
  EXPECT_EQ(errors_of(with("timeouts:\n  pong_timeout: 0\n  ping_interval: 0\n")), "");
}

TEST(CrossChecks, WatchdogMustOutlastTheStatsInterval) {
  EXPECT_EQ(errors_of(with("stats_interval: 1m\n")),
            "f.yaml:3:17: stats_interval: must be less than timeouts.watchdog (30s by default) "
            "(got 1m)");
  EXPECT_EQ(errors_of(with("stats_interval: 1s\ntimeouts:\n  watchdog: 1s\n")),
            "f.yaml:5:13: timeouts.watchdog: must be 0 (off) or greater than stats_interval (1s, "
            "line 3) (got 1s)");
  EXPECT_EQ(errors_of(with("stats_interval: 1m\ntimeouts:\n  watchdog: 0\n")), "");
}

TEST(CrossChecks, DuplicateListenAddressNamesTheFirst) {
  EXPECT_EQ(errors_of("listen:\n  - address: 127.0.0.1:80\n  - address: 127.0.0.1:80\n"),
            "f.yaml:3:14: listen[1].address: repeats the address of listen[0].address (line 2) "
            "(got 127.0.0.1:80)");
}

TEST(CrossChecks, EquivalentListenAddressesAreDuplicates) {
  EXPECT_EQ(errors_of("listen:\n  - address: \"*:80\"\n  - address: 0.0.0.0:80\n"),
            "f.yaml:3:14: listen[1].address: repeats the address of listen[0].address (line 2) "
            "(got 0.0.0.0:80)");
  EXPECT_EQ(errors_of("listen:\n  - address: 127.0.0.1:0\n  - address: 127.0.0.1:0\n"),
            "f.yaml:3:14: listen[1].address: repeats the address of listen[0].address (line 2) "
            "(got 127.0.0.1:0)");
}

TEST(CrossChecks, DifferentFamiliesOrPortsAreNotDuplicates) {
  ConfigPtr config = load_text(
      "listen:\n  - address: \"*:80\"\n  - address: \"[::]:80\"\n"
      "  - address: 127.0.0.1:81\n");
  EXPECT_EQ(config->listen.size(), 3u);
}

TEST(CrossChecks, DuplicateRoutePathNamesTheFirst) {
  EXPECT_EQ(errors_of(with("routes:\n  - path: /a\n  - path: /b\n  - path: /a\n")),
            "f.yaml:6:11: routes[2].path: repeats the path of routes[0].path (line 4) (got /a)");
}

TEST(CrossChecks, HealthPathMustNotHideARoute) {
  EXPECT_EQ(errors_of(with("routes:\n  - path: /healthz\n")),
            "f.yaml:4:11: routes[0].path: must differ from the health check path, but equals "
            "health_path (/healthz by default) (got /healthz)");
  EXPECT_EQ(errors_of(with("routes:\n  - path: /status\nhealth_path: /status\n")),
            "f.yaml:5:14: health_path: must differ from every route path, but equals "
            "routes[0].path (/status, line 4) (got /status)");
  EXPECT_EQ(errors_of(with("health_path: \"\"\nroutes:\n  - path: /healthz\n")), "");
}

TEST(CrossChecks, KeysWithTheirOwnErrorsAreNotCheckedAgain) {
  EXPECT_EQ(errors_of(with("limits:\n  write_queue_low: lots\n")),
            "f.yaml:4:20: limits.write_queue_low: is not a size; write for example 512, 64KiB, "
            "1MiB or 1GiB (got lots)");
}

}  // namespace
}  // namespace wsgate::config
