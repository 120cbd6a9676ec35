// Unit tests of load_config() on valid files: defaults, path resolution,
// workers auto, and the errors about the file itself (missing, syntax).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "config/config.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

using namespace std::chrono_literals;
using testing::errors_of;
using testing::kMinimal;
using testing::load_text;
using testing::write_file;
namespace fs = std::filesystem;

unsigned cpu_count() {
  return std::max(1u, std::min(256u, std::thread::hardware_concurrency()));
}

TEST(ConfigLoader, MinimalConfigGetsTheStructDefaults) {
  ConfigPtr config = load_text(kMinimal);
  const Config defaults;
  EXPECT_EQ(config->daemon, defaults.daemon);
  EXPECT_EQ(config->user, "");
  EXPECT_EQ(config->group, "");
  EXPECT_EQ(config->log.level, defaults.log.level);
  EXPECT_EQ(config->stats_interval, defaults.stats_interval);
  EXPECT_EQ(config->health_path, defaults.health_path);
  EXPECT_TRUE(config->routes.empty());

  const LimitsConfig& l = config->limits;
  const LimitsConfig& d = defaults.limits;
  EXPECT_EQ(l.max_connections, d.max_connections);
  EXPECT_EQ(l.handshake_timeout, d.handshake_timeout);
  EXPECT_EQ(l.max_request_line, d.max_request_line);
  EXPECT_EQ(l.max_header_bytes, d.max_header_bytes);
  EXPECT_EQ(l.max_headers, d.max_headers);
  EXPECT_EQ(l.max_frame, d.max_frame);
  EXPECT_EQ(l.max_message, d.max_message);
  EXPECT_EQ(l.max_fragments, d.max_fragments);
  EXPECT_EQ(l.message_timeout, d.message_timeout);
  EXPECT_EQ(l.control_frames_per_second, d.control_frames_per_second);
  EXPECT_EQ(l.control_frames_burst, d.control_frames_burst);
  EXPECT_EQ(l.write_queue_low, d.write_queue_low);
  EXPECT_EQ(l.write_queue_high, d.write_queue_high);
  EXPECT_EQ(l.write_queue_max, d.write_queue_max);

  const TimeoutsConfig& t = config->timeouts;
  const TimeoutsConfig& e = defaults.timeouts;
  EXPECT_EQ(t.idle, e.idle);
  EXPECT_EQ(t.idle_check_interval, e.idle_check_interval);
  EXPECT_EQ(t.max_request_wait, e.max_request_wait);
  EXPECT_EQ(t.drain, e.drain);
  EXPECT_EQ(t.ping_interval, e.ping_interval);
  EXPECT_EQ(t.pong_timeout, e.pong_timeout);
  EXPECT_EQ(t.close, e.close);
  EXPECT_EQ(t.worker_start, e.worker_start);
  EXPECT_EQ(t.stop, e.stop);
  EXPECT_EQ(t.watchdog, e.watchdog);
}

TEST(ConfigLoader, MinimalConfigGetsTheSchemaDefaultsForResolvedFields) {
  ConfigPtr config = load_text(kMinimal);
  EXPECT_EQ(config->pid_file, config->dir + "/run/wsgated.pid");
  EXPECT_EQ(config->control_socket, config->dir + "/run/wsgated.sock");
  EXPECT_EQ(config->log.file, "stderr");
  EXPECT_EQ(config->log.access_log, "off");
  EXPECT_EQ(config->workers, cpu_count());
  ASSERT_EQ(config->listen.size(), 1u);
  EXPECT_EQ(config->listen[0].backlog, ListenConfig{}.backlog);
}

TEST(ConfigLoader, ReadsEveryKindOfValue) {
  ConfigPtr config = load_text(R"(daemon: false
workers: 3
user: www-data
log:
  level: debug
  access_log: stderr
listen:
  - address: "[::1]:8080"
    backlog: 128
  - address: "*:9000"
limits:
  max_frame: 64k
  handshake_timeout: 1m30s
timeouts:
  ping_interval: 0
stats_interval: 250ms
health_path: ""
routes:
  - path: /echo
    origins: [https://example.com, "null"]
    subprotocols: [chat, v2.json]
)");
  EXPECT_FALSE(config->daemon);
  EXPECT_EQ(config->workers, 3u);
  EXPECT_EQ(config->user, "www-data");
  EXPECT_EQ(config->log.level, "debug");
  EXPECT_EQ(config->log.access_log, "stderr");
  ASSERT_EQ(config->listen.size(), 2u);
  EXPECT_EQ(config->listen[0].address, "[::1]:8080");
  EXPECT_EQ(config->listen[0].host, "::1");
  EXPECT_EQ(config->listen[0].port, 8080);
  EXPECT_TRUE(config->listen[0].ipv6);
  EXPECT_EQ(config->listen[0].backlog, 128);
  EXPECT_EQ(config->listen[0].line, 8);
  EXPECT_EQ(config->listen[1].host, "0.0.0.0");
  EXPECT_EQ(config->listen[1].port, 9000);
  EXPECT_FALSE(config->listen[1].ipv6);
  EXPECT_EQ(config->listen[1].line, 10);
  EXPECT_EQ(config->limits.max_frame, 65536u);
  EXPECT_EQ(config->limits.handshake_timeout, 90s);
  EXPECT_EQ(config->timeouts.ping_interval, 0ms);
  EXPECT_EQ(config->stats_interval, 250ms);
  EXPECT_EQ(config->health_path, "");
  ASSERT_EQ(config->routes.size(), 1u);
  EXPECT_EQ(config->routes[0].path, "/echo");
  EXPECT_EQ(config->routes[0].relay, "echo");
  EXPECT_EQ(config->routes[0].origins, (std::vector<std::string>{"https://example.com", "null"}));
  EXPECT_EQ(config->routes[0].subprotocols, (std::vector<std::string>{"chat", "v2.json"}));
  EXPECT_EQ(config->routes[0].line, 19);
}

TEST(ConfigLoader, ReadsEverySchemaKeyWithoutForgettingOne) {
  // The loader throws std::logic_error if a schema row has no reader; list
  // items are read per item, so this config has one of each.
  EXPECT_NO_THROW(load_text(std::string(kMinimal) + "routes:\n  - path: /a\n"));
}

TEST(ConfigLoader, EmptySectionsAndListsAreAllowed) {
  ConfigPtr config = load_text(std::string(kMinimal) + "limits:\ntimeouts: {}\nroutes:\n");
  EXPECT_TRUE(config->routes.empty());
  EXPECT_EQ(config->limits.max_frame, LimitsConfig{}.max_frame);
}

TEST(ConfigLoader, PathIsAbsoluteAndDirIsItsDirectory) {
  std::string file = write_file("sub/w.yaml", kMinimal);
  ConfigPtr config = load_config(file);
  EXPECT_EQ(config->path, fs::path(file).lexically_normal().string());
  EXPECT_EQ(config->dir, fs::path(file).parent_path().lexically_normal().string());
  EXPECT_TRUE(fs::path(config->path).is_absolute());
}

TEST(ConfigLoader, RelativeFileNameIsMadeAbsolute) {
  std::string file = write_file("rel.yaml", kMinimal);
  fs::path old_cwd = fs::current_path();
  fs::current_path(fs::path(file).parent_path());
  ConfigPtr config;
  EXPECT_NO_THROW(config = load_config("./rel.yaml"));
  fs::current_path(old_cwd);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->path, file);
  EXPECT_EQ(config->pid_file, fs::path(file).parent_path().string() + "/run/wsgated.pid");
}

TEST(ConfigLoader, RelativePathsResolveAgainstTheConfigDirectory) {
  std::string file = write_file("etc/w.yaml", std::string(kMinimal) + R"(pid_file: ../var/w.pid
control_socket: w.sock
log:
  file: logs/error.log
  access_log: ./logs/access.log
)");
  ConfigPtr config = load_config(file);
  fs::path dir = fs::path(file).parent_path();
  EXPECT_EQ(config->pid_file, (dir.parent_path() / "var/w.pid").string());
  EXPECT_EQ(config->control_socket, (dir / "w.sock").string());
  EXPECT_EQ(config->log.file, (dir / "logs/error.log").string());
  EXPECT_EQ(config->log.access_log, (dir / "logs/access.log").string());
}

TEST(ConfigLoader, AbsolutePathsAndSpecialLogNamesAreKept) {
  ConfigPtr config = load_text(std::string(kMinimal) + R"(pid_file: /run/wsgate//w.pid
log:
  file: syslog
  access_log: /var/log/wsgate/access.log
)");
  EXPECT_EQ(config->pid_file, "/run/wsgate/w.pid");
  EXPECT_EQ(config->log.file, "syslog");
  EXPECT_EQ(config->log.access_log, "/var/log/wsgate/access.log");
}

TEST(ConfigLoader, WorkersAutoIsTheCpuCount) {
  EXPECT_EQ(load_text(std::string(kMinimal) + "workers: auto\n")->workers, cpu_count());
  EXPECT_EQ(load_text(std::string(kMinimal) + "workers: \"auto\"\n")->workers, cpu_count());
  EXPECT_EQ(load_text(std::string(kMinimal) + "workers: 1\n")->workers, 1u);
}

TEST(ConfigLoader, MissingFileSaysCannotRead) {
  std::string missing = write_file("x.yaml", "") + ".missing";
  try {
    load_config(missing);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), missing + ": cannot read: No such file or directory");
  }
}

TEST(ConfigLoader, DirectorySaysCannotRead) {
  std::string dir = fs::path(write_file("x.yaml", "")).parent_path().string();
  try {
    load_config(dir);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), dir + ": cannot read: Is a directory");
  }
}

TEST(ConfigLoader, UnreadableFileSaysCannotRead) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  std::string file = write_file("secret.yaml", kMinimal);
  fs::permissions(file, fs::perms::none);
  try {
    load_config(file);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), file + ": cannot read: Permission denied");
  }
}

TEST(ConfigLoader, YamlSyntaxErrorGivesLineAndColumn) {
  EXPECT_EQ(errors_of("listen:\n  - address: a: b\n"),
            "f.yaml:2:15: (syntax): illegal map value (got \"  - address: a: b\")");
  EXPECT_EQ(errors_of("routes: [/a, /b\n"),
            "f.yaml:2:1: (syntax): end of sequence flow not found (got invalid YAML)");
  EXPECT_EQ(errors_of("limits:\n  max_frame: 1MiB\n max_message: 1MiB\n"),
            "f.yaml:3:2: (syntax): end of map not found (got \" max_message: 1MiB\")");
}

TEST(ConfigLoader, SecondYamlDocumentIsAnError) {
  EXPECT_EQ(errors_of(std::string(kMinimal) + "---\ndaemon: true\n"),
            "f.yaml:4:1: (document): must be the only YAML document in the file (remove the "
            "'---' line) (got 2 documents)");
}

TEST(ConfigLoader, EmptyFileNeedsListen) {
  EXPECT_EQ(errors_of(""),
            "f.yaml:1:1: listen: is required, with at least 1 item(s) (got nothing)");
  EXPECT_EQ(errors_of("# only a comment\n"),
            "f.yaml:1:1: listen: is required, with at least 1 item(s) (got nothing)");
}

TEST(ConfigLoader, DocumentMustBeAMap) {
  EXPECT_EQ(errors_of("- listen\n"),
            "f.yaml:1:1: (document): must be a map of settings such as 'listen:' (got a list)");
}

}  // namespace
}  // namespace wsgate::config
