// The exec relay's environment and URL split: websocketd 0.4.1's values,
// as measured for the same requests (docs/exec.md).
#include "worker/relays/exec_env.h"

#include <gtest/gtest.h>

#include <map>

#include "config/config.h"

namespace wsgate {
namespace {

http::Request make_request(std::string path, std::string query) {
  http::Request request;
  request.method = "GET";
  request.http_major = 1;
  request.http_minor = 1;
  request.path = std::move(path);
  request.query = std::move(query);
  request.target = request.query.empty() ? request.path : request.path + "?" + request.query;
  request.host = "example.org:8080";
  // Names as the head parser keeps them: lower case, values as sent.
  request.headers = {{"host", "Example.ORG:8080"},
                     {"x-custom-header", "one"},
                     {"x-lower_under", "u"},
                     {"x-custom-header", "two"},
                     {"cookie", "a=1"},
                     {"cookie", "b=2"},
                     {"upgrade", "websocket"}};
  return request;
}

std::map<std::string, std::string> as_map(const std::vector<std::string>& env) {
  std::map<std::string, std::string> out;
  for (const std::string& entry : env) {
    const size_t eq = entry.find('=');
    EXPECT_NE(eq, std::string::npos) << entry;
    EXPECT_TRUE(out.emplace(entry.substr(0, eq), entry.substr(eq + 1)).second)
        << "twice: " << entry;
  }
  return out;
}

config::ExecConfig command_route() {
  config::ExecConfig exec;
  exec.command = {"/bin/cat", "-u"};
  return exec;
}

TEST(ExecEnv, SingleCommandGetsScriptNameSlashAndThePathAsPathInfo) {
  const config::ExecConfig exec = command_route();
  const auto target = find_exec_target(exec, "/foo/bar", "/foo/bar");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->program, "/bin/cat");
  EXPECT_EQ(target->script_name, "/");
  EXPECT_EQ(target->path_info, "/foo/bar");
  EXPECT_EQ(target->path, "/foo/bar");
}

TEST(ExecEnv, VariablesMatchWebsocketd) {
  const config::ExecConfig exec = command_route();
  const http::Request request = make_request("/foo/bar", "x=1&y=%20z");
  const auto target = find_exec_target(exec, "/foo/bar", request.path);
  ASSERT_TRUE(target);
  const char* daemon_env[] = {"PATH=/usr/bin:/bin", "WSGATE_SECRET=1", nullptr};
  ExecEnvFacts facts{"127.0.0.1", 54316, false, "id-1", daemon_env};
  const auto env = as_map(build_exec_env(exec, *target, request, facts));
  EXPECT_EQ(env.at("REMOTE_ADDR"), "127.0.0.1");
  EXPECT_EQ(env.at("REMOTE_HOST"), "127.0.0.1");
  EXPECT_EQ(env.at("REMOTE_PORT"), "54316");
  EXPECT_EQ(env.at("SERVER_NAME"), "Example.ORG");  // from Host, case kept
  EXPECT_EQ(env.at("SERVER_PORT"), "8080");
  EXPECT_EQ(env.at("SERVER_PROTOCOL"), "HTTP/1.1");
  EXPECT_EQ(env.at("GATEWAY_INTERFACE"), "websocketd-CGI/0.1");
  EXPECT_EQ(env.at("REQUEST_METHOD"), "GET");
  EXPECT_EQ(env.at("SCRIPT_NAME"), "/");
  EXPECT_EQ(env.at("PATH_INFO"), "/foo/bar");
  EXPECT_EQ(env.at("PATH_TRANSLATED"), "/foo/bar");
  EXPECT_EQ(env.at("QUERY_STRING"), "x=1&y=%20z");
  EXPECT_EQ(env.at("REQUEST_URI"), "/foo/bar?x=1&y=%20z");
  EXPECT_EQ(env.at("UNIQUE_ID"), "id-1");
  for (const char* empty : {"AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "REMOTE_IDENT",
                            "REMOTE_USER"}) {
    EXPECT_EQ(env.at(empty), "") << empty;
  }
  EXPECT_EQ(env.count("HTTPS"), 0u);
  EXPECT_EQ(env.at("HTTP_X_CUSTOM_HEADER"), "one, two");
  EXPECT_EQ(env.at("HTTP_X_LOWER_UNDER"), "u");
  EXPECT_EQ(env.at("HTTP_COOKIE"), "a=1, b=2");
  EXPECT_EQ(env.at("HTTP_UPGRADE"), "websocket");
  EXPECT_EQ(env.count("HTTP_HOST"), 0u);  // Go keeps Host out of the header map
  EXPECT_EQ(env.at("PATH"), "/usr/bin:/bin");
  EXPECT_EQ(env.count("WSGATE_SECRET"), 0u);
  EXPECT_EQ(env.count("LD_LIBRARY_PATH"), 0u);  // passed only when the daemon has it
}

TEST(ExecEnv, HttpsAndDefaultPortOnTls) {
  const config::ExecConfig exec = command_route();
  http::Request request = make_request("/p", "q");
  request.headers[0].second = "[::1]";
  const auto target = find_exec_target(exec, "/p", request.path);
  ExecEnvFacts facts{"::1", 1, true, "id", nullptr};
  const auto env = as_map(build_exec_env(exec, *target, request, facts));
  EXPECT_EQ(env.at("HTTPS"), "on");
  EXPECT_EQ(env.at("SERVER_NAME"), "[::1]");  // Go keeps the brackets without a port
  EXPECT_EQ(env.at("SERVER_PORT"), "443");
  request.headers[0].second = "[::1]:99";
  const auto env2 = as_map(build_exec_env(exec, *target, request, facts));
  EXPECT_EQ(env2.at("SERVER_NAME"), "::1");
  EXPECT_EQ(env2.at("SERVER_PORT"), "99");
}

TEST(ExecEnv, SetAndPassFollowTheRoute) {
  config::ExecConfig exec = command_route();
  exec.env_pass = {"LANG"};
  exec.env_set = {{"APP_MODE", "test"}};
  const http::Request request = make_request("/p", "");
  const auto target = find_exec_target(exec, "/p", request.path);
  const char* daemon_env[] = {"PATH=/bin", "LANG=C.UTF-8", "LANGUAGE=x", nullptr};
  ExecEnvFacts facts{"127.0.0.1", 1, false, "id", daemon_env};
  const auto env = as_map(build_exec_env(exec, *target, request, facts));
  EXPECT_EQ(env.at("LANG"), "C.UTF-8");
  EXPECT_EQ(env.count("LANGUAGE"), 0u);
  EXPECT_EQ(env.count("PATH"), 0u);
  EXPECT_EQ(env.at("APP_MODE"), "test");
}

config::ExecConfig scripts_route() {
  config::ExecConfig exec;
  exec.scripts_dir = "/srv/ws";
  exec.scripts = {{"/env.sh", "/srv/ws/env.sh"}, {"/sub/env.sh", "/srv/ws/sub/env.sh"}};
  return exec;
}

TEST(ExecEnv, ScriptsDirSplitsLikeWebsocketd) {
  const config::ExecConfig exec = scripts_route();
  auto target = find_exec_target(exec, "/", "/env.sh/extra/path");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->program, "/srv/ws/env.sh");
  EXPECT_EQ(target->script_name, "/env.sh");
  EXPECT_EQ(target->path_info, "/extra/path");
  EXPECT_EQ(target->path, "/env.sh/extra/path");
  target = find_exec_target(exec, "/", "/sub/env.sh");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->script_name, "/sub/env.sh");
  EXPECT_EQ(target->path_info, "");
  target = find_exec_target(exec, "/", "/env%2esh/");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->script_name, "/env.sh");
  EXPECT_EQ(target->path_info, "/");
}

TEST(ExecEnv, ScriptsDirUnderAPrefixKeepsThePrefixInScriptName) {
  const config::ExecConfig exec = scripts_route();
  const auto target = find_exec_target(exec, "/x", "/x/env.sh/extra/path");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->script_name, "/x/env.sh");
  EXPECT_EQ(target->path_info, "/extra/path");
  EXPECT_FALSE(find_exec_target(exec, "/x", "/xenv.sh"));
}

TEST(ExecEnv, ScriptsDirRefusesWhatNoScriptIsNamedBy) {
  const config::ExecConfig exec = scripts_route();
  for (const char* path : {"/missing.sh", "/", "/sub", "/sub/", "/../env.sh", "/%2e%2e/env.sh",
                           "/sub/../env.sh", "/sub/%2E%2E/env.sh", "/./env.sh", "/sub%2fenv.sh",
                           "/env.sh%00", "/env%zz.sh", "/env.sh%2"}) {
    EXPECT_FALSE(find_exec_target(exec, "/", path)) << path;
  }
}

}  // namespace
}  // namespace wsgate
