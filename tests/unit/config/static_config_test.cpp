// Unit tests of relay: static routes: the routes[].static keys and their
// defaults, root resolved to its realpath, and the exact text and position
// of every rule's error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "config/config.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

namespace fs = std::filesystem;
using testing::errors_of;
using testing::load_text;
using testing::write_file;

// A directory to serve, made fresh for each call.
std::string make_root() {
  const fs::path dir = fs::path(write_file("www/index.html", "<p>hi</p>\n")).parent_path();
  return dir.string();
}

// A config whose only route has `path` and relay static, then `body`
// (indented 4 spaces, from line 6).
std::string route(const std::string& path, const std::string& body) {
  return "listen:\n"
         "  - address: 127.0.0.1:0\n"
         "routes:\n"
         "  - path: " +
         path +
         "\n"
         "    relay: static\n" +
         body;
}

TEST(StaticConfig, DefaultsAndRealpathOfRoot) {
  const std::string root = make_root();
  const fs::path link = fs::path(root).parent_path() / "link";
  fs::create_directory_symlink(root, link);
  ConfigPtr config = load_text(route("/", "    static: {root: " + link.string() + "}\n"));
  ASSERT_EQ(config->routes.size(), 1u);
  const RouteConfig& r = config->routes[0];
  EXPECT_TRUE(r.is_static());
  EXPECT_EQ(r.static_files.root, fs::canonical(root).string());
  EXPECT_EQ(r.static_files.index, "index.html");
  EXPECT_FALSE(r.static_files.follow_symlinks);
  EXPECT_FALSE(r.static_files.dot_files);
}

TEST(StaticConfig, EveryKeyRead) {
  const std::string root = make_root();
  ConfigPtr config = load_text(route("/app/", "    static:\n      root: " + root +
                                                  "\n      index: start.htm\n"
                                                  "      follow_symlinks: true\n"
                                                  "      dot_files: true\n"));
  const StaticConfig& files = config->routes[0].static_files;
  EXPECT_EQ(files.index, "start.htm");
  EXPECT_TRUE(files.follow_symlinks);
  EXPECT_TRUE(files.dot_files);
}

TEST(StaticConfig, PathMustEndWithSlash) {
  const std::string root = make_root();
  EXPECT_EQ(errors_of(route("/app", "    static: {root: " + root + "}\n")),
            "f.yaml:4:11: routes[0].path: must end with / on a static route: it is the prefix of "
            "the URLs served, such as / or /app/ (got /app)");
}

TEST(StaticConfig, RootIsRequired) {
  EXPECT_EQ(errors_of(route("/", "")),
            "f.yaml:4:5: routes[0].static.root: is required by a relay: static route (the "
            "directory to serve) (got nothing)");
}

TEST(StaticConfig, RootMustBeAnExistingDirectory) {
  EXPECT_EQ(errors_of(route("/", "    static: {root: /nonexistent-wsgate-root}\n")),
            "f.yaml:6:20: routes[0].static.root: does not exist (got /nonexistent-wsgate-root)");
  const std::string file = write_file("plain.txt", "x");
  EXPECT_EQ(errors_of(route("/", "    static: {root: " + file + "}\n")),
            "f.yaml:6:20: routes[0].static.root: is not a directory (got " + file + ")");
}

TEST(StaticConfig, IndexMustBeAFileName) {
  const std::string root = make_root();
  EXPECT_EQ(errors_of(route("/", "    static: {root: " + root + ", index: a/b.html}\n")),
            "f.yaml:6:" + std::to_string(29 + root.size()) +
                ": routes[0].static.index: must be a file name in the directory, without / or "
                "NUL (got a/b.html)");
  EXPECT_NE(errors_of(route("/", "    static: {root: " + root + ", index: ..}\n")), "");
  EXPECT_NE(errors_of(route("/", "    static: {root: " + root + ", index: \"\"}\n")), "");
}

TEST(StaticConfig, StaticSectionOnlyOnStaticRoutes) {
  EXPECT_EQ(errors_of("listen:\n  - address: 127.0.0.1:0\nroutes:\n  - path: /echo\n"
                      "    static: {index: a.html}\n"),
            "f.yaml:5:5: routes[0].static: is only read by routes whose relay is static (got "
            "relay echo)");
}

TEST(StaticConfig, WebSocketKeysAreRefusedOnStaticRoutes) {
  const std::string root = make_root();
  EXPECT_EQ(
      errors_of(route("/", "    origins: [https://a.example]\n    static: {root: " + root + "}\n")),
      "f.yaml:6:14: routes[0].origins: is only read by WebSocket routes; a static route "
      "answers plain requests (got relay static)");
}

TEST(StaticConfig, StaticAndWebSocketRouteMayShareAPath) {
  const std::string root = make_root();
  const std::string text =
      "listen:\n  - address: 127.0.0.1:0\nroutes:\n"
      "  - path: /\n    relay: static\n    static: {root: " +
      root + "}\n  - path: /\n    relay: echo\n";
  EXPECT_EQ(errors_of(text), "");
  EXPECT_NE(errors_of(text + "  - path: /\n    relay: static\n    static: {root: " + root + "}\n")
                .find("repeats the path of routes[0].path"),
            std::string::npos);
}

}  // namespace
}  // namespace wsgate::config
