// escape_for_log (SEC-LOG-01) and logger setup.
#include "common/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/log_writer.h"

namespace wsgate {
namespace {

TEST(EscapeForLog, KeepsPrintableAsciiAndValidUtf8) {
  EXPECT_EQ(escape_for_log("GET /chat"), "GET /chat");
  EXPECT_EQ(escape_for_log("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
            "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(EscapeForLog, SEC_LOG_01_EscapesLineBreaksAndControls) {
  EXPECT_EQ(escape_for_log("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(escape_for_log(std::string_view("\0\x1b[31m", 6)), "\\x00\\x1b[31m");
  EXPECT_EQ(escape_for_log("\x7f"), "\\x7f");
  EXPECT_EQ(escape_for_log("say \"hi\""), "say \\x22hi\\x22");
  EXPECT_EQ(escape_for_log("back\\slash"), "back\\\\slash");
}

TEST(EscapeForLog, SEC_LOG_01_EscapesC1Controls) {
  EXPECT_EQ(escape_for_log("\xc2\x85x\xc2\x9f"), "\\xc2\\x85x\\xc2\\x9f");
  EXPECT_EQ(escape_for_log("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is printable
}

TEST(EscapeForLog, SEC_LOG_01_EscapesInvalidUtf8ByteByByte) {
  EXPECT_EQ(escape_for_log("\xff"), "\\xff");
  EXPECT_EQ(escape_for_log("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(escape_for_log("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(escape_for_log("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  EXPECT_EQ(escape_for_log("\xe2\x82"), "\\xe2\\x82");                    // truncated
}

TEST(EscapeForLog, TruncatesAtUnitBoundaryWithEllipsis) {
  EXPECT_EQ(escape_for_log("abcdef", 4), "abcd...");
  EXPECT_EQ(escape_for_log("abcd", 4), "abcd");
  EXPECT_EQ(escape_for_log("ab\ncd", 4), "ab...");        // "\x0a" does not fit
  EXPECT_EQ(escape_for_log("a\xe2\x82\xac", 3), "a...");  // never half a character
  EXPECT_EQ(escape_for_log(std::string(1000, 'x')).size(), 256u + 3u);
}

TEST(Logging, WritesIdentityToFileAndReopensIt) {
  char dir_template[] = "/tmp/wsgate_log_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  config::LogConfig log;
  log.level = "info";
  log.file = dir + "/error.log";
  log.access_log = dir + "/access.log";
  ASSERT_TRUE(setup_logging(log, {"worker", 3, 7}));
  error_log().info("first line");
  access_log().info("GET /echo 101");
  ASSERT_EQ(std::rename(log.file.c_str(), (log.file + ".1").c_str()), 0);
  ASSERT_TRUE(setup_logging(log, {"worker", 3, 7}));
  error_log().info("after reopen");
  ASSERT_TRUE(flush_log_queue(std::chrono::milliseconds(5000)));

  const auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string rotated = read(log.file + ".1");
  EXPECT_NE(rotated.find("[info] [pid " + std::to_string(getpid()) + " worker 3 gen 7] first line"),
            std::string::npos)
      << rotated;
  EXPECT_NE(read(log.file).find("after reopen"), std::string::npos);
  EXPECT_NE(read(log.access_log).find(" GET /echo 101"), std::string::npos);
  EXPECT_TRUE(access_log_enabled());

  log.access_log = "off";
  log.file = "stderr";
  ASSERT_TRUE(setup_logging(log, {}));
  EXPECT_FALSE(access_log_enabled());
  std::system(("rm -rf " + dir).c_str());
}

TEST(Logging, FallsBackToStderrWhenFileCannotOpen) {
  config::LogConfig log;
  log.file = "/dev/null/error.log";
  log.access_log = "off";
  EXPECT_FALSE(setup_logging(log, {}));
  EXPECT_NE(last_logging_error().find("/dev/null/error.log"), std::string::npos);
  log.file = "stderr";
  EXPECT_TRUE(setup_logging(log, {}));
  EXPECT_TRUE(last_logging_error().empty());
}

// Issue 10, item 2: a destination that stops reading never blocks the
// logging thread; the lines that do not fit are dropped and counted, and
// the rest arrive once it reads again.
TEST(LogQueue, StalledPipeNeverBlocksTheCallerAndCountsDrops) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  spdlog::logger logger("stalled", make_queued_fd_sink(fds[1], true));
  logger.set_pattern("%v");
  const uint64_t dropped_before = dropped_log_lines();
  const std::string line(1000, 'x');
  const auto start = std::chrono::steady_clock::now();
  // 4 MiB of lines into a 64 KiB pipe plus a 1 MiB queue.
  for (int i = 0; i < 4096; ++i) logger.info("{}", line);
  const auto spent = std::chrono::steady_clock::now() - start;
  const uint64_t dropped = dropped_log_lines() - dropped_before;
  EXPECT_GT(dropped, 2000u);
  EXPECT_LT(dropped, 4096u);
  // Generous: a blocked write would never return at all.
  EXPECT_LT(spent, std::chrono::seconds(10));
  EXPECT_FALSE(flush_log_queue(std::chrono::milliseconds(50)));

  // The reader wakes up: everything queued arrives, in order and whole.
  size_t received = 0;
  char buffer[65536];
  ASSERT_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!flush_log_queue(std::chrono::milliseconds(0)) || (received % (line.size() + 1)) != 0 ||
         received == 0) {
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      for (ssize_t i = 0; i < n; ++i) {
        ASSERT_TRUE(buffer[i] == 'x' || buffer[i] == '\n');
      }
      received += static_cast<size_t>(n);
    } else {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      usleep(1000);
    }
  }
  // What the writer wrote last may still sit in the pipe.
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;)
    received += static_cast<size_t>(n);
  EXPECT_EQ(received / (line.size() + 1) + dropped, 4096u);
  close(fds[0]);
}

TEST(LogQueue, NewFilesAreMode0640) {
  char dir_template[] = "/tmp/wsgate_log_mode_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/sub/error.log";
  const mode_t old_mask = umask(0077);
  std::string error;
  const int fd = open_log_file(path, error);
  umask(old_mask);
  ASSERT_GE(fd, 0) << error;
  struct stat status {};
  ASSERT_EQ(fstat(fd, &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0640u);
  close(fd);
  EXPECT_LT(open_log_file("/dev/null/x.log", error), 0);
  EXPECT_NE(error.find("/dev/null"), std::string::npos) << error;
  std::system(("rm -rf " + std::string(dir_template)).c_str());
}

}  // namespace
}  // namespace wsgate
