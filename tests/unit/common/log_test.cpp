// escape_for_log (SEC-LOG-01) and logger setup.
#include "common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

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

}  // namespace
}  // namespace wsgate
