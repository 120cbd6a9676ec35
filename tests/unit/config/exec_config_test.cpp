// Unit tests of relay: exec routes: the routes[].exec keys and their
// defaults, the program looked up on disk and in PATH, the directories,
// users and groups resolved by the loader, and the exact text of every
// rule's error.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/exec_settings.h"
#include "config/values.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

namespace fs = std::filesystem;
using testing::errors_of;
using testing::load_text;
using testing::write_file;
using Env = std::vector<std::pair<std::string, std::string>>;
using Strings = std::vector<std::string>;

// A config whose only route is /run with `relay` and then `body` (indented
// 4 spaces); the route item starts at 4:5, `body` on line 6.
std::string route(const std::string& body, const std::string& relay = "exec") {
  return "listen:\n"
         "  - address: 127.0.0.1:0\n"
         "routes:\n"
         "  - path: /run\n"
         "    relay: " +
         relay + "\n" + body;
}

// route() with an exec: map (at 6:5) holding `exec` (indented 6 spaces,
// from line 7).
std::string exec_route(const std::string& exec) {
  return route("    exec:\n" + exec);
}

// A file `name` in a fresh directory with `mode`; returns its path.
std::string program(const std::string& name, mode_t mode = 0755) {
  std::string path = write_file(name, "#!/bin/sh\nexec cat\n");
  EXPECT_EQ(::chmod(path.c_str(), mode), 0);
  return path;
}

// A fresh, empty directory.
std::string directory() {
  return fs::path(write_file("keep", "")).parent_path().string();
}

// exec_route() whose command is `program` as written, then the lines of
// `more` (indented 6 spaces, from line 8).
std::string command_route(const std::string& program_text, const std::string& more = "") {
  return exec_route("      command: [" + program_text + "]\n" + more);
}

// Sets PATH for one test and puts the old value (or its absence) back.
class PathGuard {
 public:
  explicit PathGuard(const std::optional<std::string>& value) {
    if (const char* old = std::getenv("PATH")) saved_ = old;
    if (value) {
      ::setenv("PATH", value->c_str(), 1);
    } else {
      ::unsetenv("PATH");
    }
  }
  ~PathGuard() {
    if (saved_) {
      ::setenv("PATH", saved_->c_str(), 1);
    } else {
      ::unsetenv("PATH");
    }
  }
  PathGuard(const PathGuard&) = delete;
  PathGuard& operator=(const PathGuard&) = delete;

 private:
  std::optional<std::string> saved_;
};

TEST(ExecConfig, EchoRouteHasNoProgram) {
  ConfigPtr config = load_text(route("", "echo"));
  const ExecConfig& exec = config->routes[0].exec;
  EXPECT_TRUE(exec.command.empty());
  EXPECT_TRUE(exec.scripts_dir.empty());
  EXPECT_EQ(exec.uid, -1);
}

TEST(ExecConfig, CommandWithDefaults) {
  const std::string cat = program("cat.sh");
  ConfigPtr config = load_text(command_route(cat + ", -u, \"\""));
  const RouteConfig& r = config->routes[0];
  EXPECT_EQ(r.relay, "exec");
  const ExecConfig& exec = r.exec;
  EXPECT_EQ(exec.command, (Strings{cat, "-u", ""}));
  EXPECT_TRUE(exec.scripts_dir.empty());
  EXPECT_TRUE(exec.dir.empty());
  EXPECT_EQ(exec.env_pass, (Strings{"PATH", "LD_LIBRARY_PATH"}));
  EXPECT_TRUE(exec.env_set.empty());
  EXPECT_TRUE(exec.user.empty());
  EXPECT_TRUE(exec.group.empty());
  EXPECT_EQ(exec.uid, -1);
  EXPECT_EQ(exec.gid, -1);
  EXPECT_EQ(exec.max_processes, 256u);
  EXPECT_EQ(exec.mode, ExecConfig::Mode::Text);
  EXPECT_EQ(exec.kill_after,
            (std::array<Duration, 3>{Duration(100), Duration(250), Duration(500)}));
  EXPECT_FALSE(exec.rlimits.nofile);
  EXPECT_FALSE(exec.rlimits.nproc);
  EXPECT_FALSE(exec.rlimits.as);
  EXPECT_FALSE(exec.rlimits.cpu);
  // An exec route offers no subprotocol unless it writes some.
  EXPECT_TRUE(r.subprotocols.empty());
}

// ---- exec: itself -----------------------------------------------------------

TEST(ExecConfig, ExactlyOneOfCommandAndScriptsDir) {
  EXPECT_EQ(errors_of(route("")),
            "f.yaml:4:5: routes[0].exec: set exactly one of command and scripts_dir (got "
            "neither)");
  EXPECT_EQ(errors_of(exec_route("      dir: /\n")),
            "f.yaml:6:5: routes[0].exec: set exactly one of command and scripts_dir (got "
            "neither)");
  EXPECT_EQ(errors_of(route("    exec: {}\n")),
            "f.yaml:6:5: routes[0].exec: set exactly one of command and scripts_dir (got "
            "neither)");
  EXPECT_EQ(errors_of(exec_route("      scripts_dir: \"\"\n")),
            "f.yaml:6:5: routes[0].exec: set exactly one of command and scripts_dir (got "
            "neither)");
  EXPECT_EQ(errors_of(command_route(program("a"), "      scripts_dir: " + directory() + "\n")),
            "f.yaml:6:5: routes[0].exec: set exactly one of command and scripts_dir (got both)");
}

TEST(ExecConfig, ExecSectionOnlyOnExecRoutes) {
  EXPECT_EQ(errors_of(route("    exec:\n      command: [/bin/sh]\n", "echo")),
            "f.yaml:6:5: routes[0].exec: is only read by routes whose relay is exec (got relay "
            "echo)");
  EXPECT_EQ(errors_of(route("    proxy:\n      upstream: tcp://h:1\n    exec: {}\n", "proxy")),
            "f.yaml:8:5: routes[0].exec: is only read by routes whose relay is exec (got relay "
            "proxy)");
  // The default relay is echo, and nothing is looked up for it.
  EXPECT_EQ(errors_of("listen:\n  - address: 127.0.0.1:0\nroutes:\n  - path: /a\n"
                      "    exec:\n      command: [nosuch-program]\n      user: nosuch-user\n"),
            "f.yaml:5:5: routes[0].exec: is only read by routes whose relay is exec (got relay "
            "echo)");
  // And a proxy: map on an exec route is the proxy's error.
  EXPECT_EQ(errors_of(command_route("/bin/sh", "    proxy:\n      upstream: tcp://h:1\n")),
            "f.yaml:8:5: routes[0].proxy: is only read by routes whose relay is proxy (got relay "
            "exec)");
}

TEST(ExecConfig, UnknownKeysAreSuggested) {
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      comand: [x]\n")),
            "f.yaml:8:7: routes[0].exec.comand: unknown key; did you mean 'command'? (got "
            "comand)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      rlimits:\n        nofiles: 10\n")),
            "f.yaml:9:9: routes[0].exec.rlimits.nofiles: unknown key; did you mean 'nofile'? "
            "(got nofiles)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        passs: []\n")),
            "f.yaml:9:9: routes[0].exec.env.passs: unknown key; did you mean 'pass'? (got "
            "passs)");
}

// ---- command ------------------------------------------------------------------

TEST(ExecConfig, AbsoluteProgramIsKeptAsWritten) {
  const std::string cat = program("cat.sh");
  EXPECT_EQ(load_text(command_route(cat))->routes[0].exec.command, Strings{cat});
}

TEST(ExecConfig, BareProgramIsFoundInPath) {
  const std::string not_executable = program("tool", 0644);
  const std::string executable = program("tool");
  const std::string first = fs::path(not_executable).parent_path().string();
  const std::string second = fs::path(executable).parent_path().string();
  // Empty and relative entries are skipped; a match that cannot be run is
  // passed over as execvp does.
  PathGuard path("::relative/dir:/nonexistent:" + first + ":" + second + "/");
  ConfigPtr config = load_text(command_route("tool, --flag"));
  EXPECT_EQ(config->routes[0].exec.command, (Strings{second + "/tool", "--flag"}));
}

TEST(ExecConfig, UnsetPathSearchesTheDefaultDirectories) {
  PathGuard path(std::nullopt);
  std::string expected;
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    const std::string candidate = std::string(dir) + "/sh";
    if (expected.empty() && ::access(candidate.c_str(), X_OK) == 0) expected = candidate;
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(load_text(command_route("sh"))->routes[0].exec.command, Strings{expected});
}

TEST(ExecConfig, ProgramNotInPath) {
  const std::string dir = directory();
  PathGuard path("/nonexistent:" + dir);
  EXPECT_EQ(errors_of(command_route("nosuch")),
            "f.yaml:7:17: routes[0].exec.command[0]: not found in PATH=/nonexistent:" + dir +
                " (got nosuch)");
  PathGuard empty("");
  EXPECT_EQ(errors_of(command_route("sh")),
            "f.yaml:7:17: routes[0].exec.command[0]: not found in PATH (empty) (got sh)");
}

TEST(ExecConfig, ProgramInPathThatIsNotExecutable) {
  const std::string tool = program("tool", 0644);
  const std::string dir = fs::path(tool).parent_path().string();
  PathGuard path(dir);
  EXPECT_EQ(errors_of(command_route("tool")),
            "f.yaml:7:17: routes[0].exec.command[0]: not found as an executable file in PATH=" +
                dir + "; " + tool + " is not executable (got tool)");
}

TEST(ExecConfig, AbsoluteProgramMustBeAnExecutableFile) {
  const std::string plain = program("plain", 0644);
  EXPECT_EQ(errors_of(command_route(plain)),
            "f.yaml:7:17: routes[0].exec.command[0]: is not executable (got " + plain + ")");
  const std::string missing = directory() + "/missing";
  EXPECT_EQ(errors_of(command_route(missing)),
            "f.yaml:7:17: routes[0].exec.command[0]: does not exist (got " + missing + ")");
  const std::string dir = directory();
  EXPECT_EQ(
      errors_of(command_route(dir)),
      "f.yaml:7:17: routes[0].exec.command[0]: is a directory, not a program (got " + dir + ")");
  EXPECT_EQ(errors_of(command_route("/dev/null")),
            "f.yaml:7:17: routes[0].exec.command[0]: is not a regular file (got /dev/null)");
}

TEST(ExecConfig, ProgramWithASlashMustBeAbsolute) {
  EXPECT_EQ(errors_of(command_route("./run.sh")),
            "f.yaml:7:17: routes[0].exec.command[0]: must be an absolute path, or a name "
            "without / to look up in PATH (got ./run.sh)");
  EXPECT_EQ(errors_of(command_route("bin/run")),
            "f.yaml:7:17: routes[0].exec.command[0]: must be an absolute path, or a name "
            "without / to look up in PATH (got bin/run)");
}

TEST(ExecConfig, CommandMustNameAProgram) {
  EXPECT_EQ(errors_of(command_route("")),
            "f.yaml:7:16: routes[0].exec.command: must name the program, then its arguments, "
            "as in [/usr/bin/cat] (got an empty list)");
  EXPECT_EQ(errors_of(command_route("\"\"")),
            "f.yaml:7:17: routes[0].exec.command[0]: must name a program (got \"\")");
  EXPECT_EQ(errors_of(exec_route("      command: /bin/cat\n")),
            "f.yaml:7:16: routes[0].exec.command: must be a list of strings, as in [a, b] (got "
            "/bin/cat)");
}

TEST(ExecConfig, ArgumentsMustNotHoldNulBytes) {
  EXPECT_EQ(errors_of(command_route("/bin/sh, \"a\\0b\"")),
            "f.yaml:7:26: routes[0].exec.command[1]: must not contain a NUL byte (got "
            "\"a\\x00b\")");
}

// ---- scripts_dir and dir --------------------------------------------------------

TEST(ExecConfig, ScriptsDirIsStoredWithoutSymlinks) {
  const std::string real = directory();
  const std::string link = directory() + "/scripts";
  fs::create_directory_symlink(real, link);
  ConfigPtr config = load_text(exec_route("      scripts_dir: " + link + "/./\n"));
  const ExecConfig& exec = config->routes[0].exec;
  EXPECT_EQ(exec.scripts_dir, fs::canonical(real).string());
  EXPECT_TRUE(exec.command.empty());
}

TEST(ExecConfig, RelativeScriptsDirResolvesAgainstTheConfigDirectory) {
  const std::string config_path = write_file("wsgate.yaml", exec_route("      scripts_dir: ws\n"));
  const fs::path dir = fs::path(config_path).parent_path();
  fs::create_directory(dir / "ws");
  EXPECT_EQ(load_config(config_path)->routes[0].exec.scripts_dir, fs::canonical(dir / "ws"));
}

TEST(ExecConfig, ScriptsDirMustBeADirectory) {
  const std::string missing = directory() + "/missing";
  EXPECT_EQ(errors_of(exec_route("      scripts_dir: " + missing + "\n")),
            "f.yaml:7:20: routes[0].exec.scripts_dir: does not exist (got " + missing + ")");
  const std::string file = program("file");
  EXPECT_EQ(errors_of(exec_route("      scripts_dir: " + file + "\n")),
            "f.yaml:7:20: routes[0].exec.scripts_dir: is not a directory (got " + file + ")");
}

TEST(ExecConfig, WorkingDirectory) {
  const std::string dir = directory();
  EXPECT_EQ(load_text(command_route("/bin/sh", "      dir: " + dir + "\n"))->routes[0].exec.dir,
            dir);
  const std::string missing = dir + "/missing";
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      dir: " + missing + "\n")),
            "f.yaml:8:12: routes[0].exec.dir: does not exist (got " + missing + ")");
  const std::string file = program("file");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      dir: " + file + "\n")),
            "f.yaml:8:12: routes[0].exec.dir: is not a directory (got " + file + ")");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      dir: ~/x\n")),
            "f.yaml:8:12: routes[0].exec.dir: must not start with ~ (it is not expanded); write "
            "the full path (got ~/x)");
}

// ---- env --------------------------------------------------------------------------

TEST(ExecConfig, EnvPassReplacesTheDefault) {
  auto pass = [](const std::string& list) {
    return load_text(command_route("/bin/sh", "      env:\n        pass: " + list + "\n"))
        ->routes[0]
        .exec.env_pass;
  };
  EXPECT_EQ(pass("[TZ, LANG, _x1]"), (Strings{"TZ", "LANG", "_x1"}));
  EXPECT_EQ(pass("[]"), Strings{});
}

TEST(ExecConfig, EnvSetKeepsFileOrderAndWinsOverPass) {
  ConfigPtr config = load_text(command_route("/bin/sh",
                                             "      env:\n"
                                             "        set:\n"
                                             "          TZ: UTC\n"
                                             "          PATH: /usr/bin\n"
                                             "          EMPTY: \"\"\n"
                                             "          A_NUMBER: 12\n"));
  const ExecConfig& exec = config->routes[0].exec;
  EXPECT_EQ(exec.env_set,
            (Env{{"TZ", "UTC"}, {"PATH", "/usr/bin"}, {"EMPTY", ""}, {"A_NUMBER", "12"}}));
  EXPECT_EQ(exec.env_pass, Strings{"LD_LIBRARY_PATH"});
  EXPECT_EQ(load_text(command_route("/bin/sh", "      env:\n        set: {LANG: C.UTF-8}\n"))
                ->routes[0]
                .exec.env_set,
            (Env{{"LANG", "C.UTF-8"}}));
}

TEST(ExecConfig, EnvNamesMustBeVariableNames) {
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        pass: [PATH, 1X, A-B]\n")),
            "f.yaml:9:22: routes[0].exec.env.pass[1]: must be a variable name: a letter or _, "
            "then letters, digits and _ (got 1X)\n"
            "f.yaml:9:26: routes[0].exec.env.pass[2]: must be a variable name: a letter or _, "
            "then letters, digits and _ (got A-B)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        set:\n          A=B: x\n")),
            "f.yaml:10:11: routes[0].exec.env.set.A=B: must be a variable name: a letter or _, "
            "then letters, digits and _ (got A=B)");
}

TEST(ExecConfig, EnvMustNotNameConnectionVariables) {
  EXPECT_EQ(
      errors_of(command_route("/bin/sh", "      env:\n        pass: [REMOTE_ADDR, HTTP_HOST]\n")),
      "f.yaml:9:16: routes[0].exec.env.pass[0]: is set by wsgate for each connection (got "
      "REMOTE_ADDR)\n"
      "f.yaml:9:29: routes[0].exec.env.pass[1]: starts with HTTP_, which wsgate sets for each "
      "connection from its request headers (got HTTP_HOST)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        set:\n          HTTPS: on\n")),
            "f.yaml:10:11: routes[0].exec.env.set.HTTPS: is set by wsgate for each connection "
            "(got HTTPS)");
  for (const char* name :
       {"SERVER_SOFTWARE", "REMOTE_ADDR",    "REMOTE_HOST",         "REMOTE_PORT",
        "SERVER_NAME",     "SERVER_PORT",    "SERVER_PROTOCOL",     "GATEWAY_INTERFACE",
        "REQUEST_METHOD",  "SCRIPT_NAME",    "PATH_INFO",           "PATH_TRANSLATED",
        "QUERY_STRING",    "REQUEST_URI",    "UNIQUE_ID",           "HTTPS",
        "AUTH_TYPE",       "CONTENT_LENGTH", "CONTENT_TYPE",        "REMOTE_IDENT",
        "REMOTE_USER",     "HTTP_",          "HTTP_X_FORWARDED_FOR"}) {
    EXPECT_TRUE(is_connection_variable(name)) << name;
  }
  for (const char* name : {"PATH", "HTTP", "LANG", "https", "XHTTP_A"}) {
    EXPECT_FALSE(is_connection_variable(name)) << name;
  }
}

TEST(ExecConfig, EnvPassNamesAppearOnce) {
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        pass: [TZ, LANG, TZ]\n")),
            "f.yaml:9:26: routes[0].exec.env.pass[2]: repeats routes[0].exec.env.pass[0] (got "
            "TZ)");
}

TEST(ExecConfig, EnvSetShape) {
  EXPECT_EQ(errors_of(command_route("/bin/sh",
                                    "      env:\n        set:\n          TZ: UTC\n"
                                    "          TZ: CET\n")),
            "f.yaml:11:11: routes[0].exec.env.set.TZ: appears twice in the same map; first at "
            "line 10 (got TZ)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        set:\n          TZ:\n")),
            "f.yaml:10:11: routes[0].exec.env.set.TZ: needs a value; write \"\" for an empty "
            "string (got nothing)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        set:\n          TZ: [a]\n")),
            "f.yaml:10:15: routes[0].exec.env.set.TZ: must be a single value (string) (got a "
            "list)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        set: [TZ=UTC]\n")),
            "f.yaml:9:14: routes[0].exec.env.set: must be a map of NAME: value pairs, as in "
            "{LANG: C.UTF-8} (got a list)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      env:\n        set: {A: \"x\\0y\"}\n")),
            "f.yaml:9:15: routes[0].exec.env.set.A: must not contain a NUL byte (got "
            "\"x\\x00y\")");
  EXPECT_TRUE(load_text(command_route("/bin/sh", "      env:\n        set:\n"))
                  ->routes[0]
                  .exec.env_set.empty());
}

// ---- user and group -------------------------------------------------------------

// The uid and primary gid of `name`, or nullopt when it is no user here.
std::optional<std::pair<int64_t, int64_t>> account(const char* name) {
  const passwd* entry = ::getpwnam(name);
  if (entry == nullptr) return std::nullopt;
  return std::pair<int64_t, int64_t>{entry->pw_uid, entry->pw_gid};
}

TEST(ExecConfig, UserAndGroupAreResolved) {
  ConfigPtr root = load_text(command_route("/bin/sh", "      user: root\n"));
  EXPECT_EQ(root->routes[0].exec.user, "root");
  EXPECT_EQ(root->routes[0].exec.uid, 0);
  EXPECT_EQ(root->routes[0].exec.gid, 0);
  const auto nobody = account("nobody");
  if (!nobody) GTEST_SKIP() << "no user nobody";
  // A user alone takes its primary group.
  ConfigPtr alone = load_text(command_route("/bin/sh", "      user: nobody\n"));
  EXPECT_EQ(alone->routes[0].exec.uid, nobody->first);
  EXPECT_EQ(alone->routes[0].exec.gid, nobody->second);
  ConfigPtr both = load_text(command_route("/bin/sh", "      user: nobody\n      group: root\n"));
  EXPECT_EQ(both->routes[0].exec.uid, nobody->first);
  EXPECT_EQ(both->routes[0].exec.gid, 0);
  EXPECT_EQ(both->routes[0].exec.group, "root");
  // A group alone keeps the worker's user.
  ConfigPtr group = load_text(command_route("/bin/sh", "      group: root\n"));
  EXPECT_EQ(group->routes[0].exec.uid, -1);
  EXPECT_EQ(group->routes[0].exec.gid, 0);
}

TEST(ExecConfig, NumericIds) {
  ConfigPtr known = load_text(command_route("/bin/sh", "      user: \"0\"\n"));
  EXPECT_EQ(known->routes[0].exec.uid, 0);
  EXPECT_EQ(known->routes[0].exec.gid, 0);
  // A uid without an entry works with a group, which need not have one.
  const char* free_id = "3999999";
  ASSERT_EQ(::getpwuid(3999999), nullptr);
  ASSERT_EQ(::getgrgid(3999998), nullptr);
  ConfigPtr bare = load_text(
      command_route("/bin/sh", std::string("      user: ") + free_id + "\n      group: 3999998\n"));
  EXPECT_EQ(bare->routes[0].exec.uid, 3999999);
  EXPECT_EQ(bare->routes[0].exec.gid, 3999998);
  EXPECT_EQ(errors_of(command_route("/bin/sh", std::string("      user: ") + free_id + "\n")),
            "f.yaml:8:13: routes[0].exec.user: is a uid without an entry in the user database, "
            "so it has no primary group; set routes[0].exec.group (got 3999999)");
}

TEST(ExecConfig, UnknownUserOrGroupNamesTheKey) {
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      user: no-such-user\n")),
            "f.yaml:8:13: routes[0].exec.user: names no user of this system (got no-such-user)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      group: no-such-group\n")),
            "f.yaml:8:14: routes[0].exec.group: names no group of this system (got "
            "no-such-group)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      user: \"4294967295\"\n")),
            "f.yaml:8:13: routes[0].exec.user: names no user of this system (got 4294967295)");
}

TEST(ExecConfig, WorkersWithATopLevelUserCannotSwitchChildren) {
  const auto nobody = account("nobody");
  if (!nobody) GTEST_SKIP() << "no user nobody";
  const std::string top = "user: nobody\n";
  EXPECT_EQ(errors_of(top + command_route("/bin/sh", "      user: root\n")),
            "f.yaml:9:13: routes[0].exec.user: workers run as nobody (user: at line 1) and cannot "
            "start children as root; remove the top-level user: so that workers keep root and "
            "switch each child, or remove routes[0].exec.user (got root)");
  // The workers' own user (and group) is fine, and so is no exec user.
  EXPECT_TRUE(load_text(top + command_route("/bin/sh", "      user: nobody\n")));
  EXPECT_TRUE(load_text(top + command_route("/bin/sh")));
  EXPECT_EQ(errors_of(top + command_route("/bin/sh", "      group: root\n")),
            "f.yaml:9:14: routes[0].exec.group: workers run in group gid " +
                std::to_string(nobody->second) +
                " (the primary group of nobody) (user: at line 1) and cannot start children in "
                "group root (gid 0); remove the top-level user: so that workers keep root and "
                "switch each child, or write routes[0].exec.group: " +
                std::to_string(nobody->second) + " (got root)");
  // With a top-level group, a user's primary group is not the workers'.
  EXPECT_EQ(errors_of(top + "group: root\n" + command_route("/bin/sh", "      user: nobody\n")),
            "f.yaml:10:13: routes[0].exec.user: workers run in group root (gid 0) (user: at line "
            "1) and cannot start children in group gid " +
                std::to_string(nobody->second) +
                " (the primary group of nobody); remove the top-level user: so that workers keep "
                "root and switch each child, or write routes[0].exec.group: root (got nobody)");
  EXPECT_TRUE(load_text(top + "group: root\n" +
                        command_route("/bin/sh", "      user: nobody\n      group: root\n")));
}

// ---- numbers, mode, kill_after, rlimits -------------------------------------------

TEST(ExecConfig, MaxProcessesAndMode) {
  ConfigPtr config =
      load_text(command_route("/bin/sh", "      max_processes: 100000\n      mode: binary\n"));
  EXPECT_EQ(config->routes[0].exec.max_processes, 100000u);
  EXPECT_EQ(config->routes[0].exec.mode, ExecConfig::Mode::Binary);
  EXPECT_EQ(
      load_text(command_route("/bin/sh", "      max_processes: 1\n"))->routes[0].exec.max_processes,
      1u);
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      max_processes: 0\n")),
            "f.yaml:8:22: routes[0].exec.max_processes: must be between 1 and 100000 (got 0)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      max_processes: 100001\n")),
            "f.yaml:8:22: routes[0].exec.max_processes: must be between 1 and 100000 (got "
            "100001)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      mode: lines\n")),
            "f.yaml:8:13: routes[0].exec.mode: must be one of text, binary (got lines)");
}

TEST(ExecConfig, KillAfterIsThreeDurations) {
  ConfigPtr config = load_text(command_route("/bin/sh", "      kill_after: [1ms, 2s, 1h]\n"));
  EXPECT_EQ(config->routes[0].exec.kill_after,
            (std::array<Duration, 3>{Duration(1), Duration(2000), Duration(3600000)}));
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      kill_after: [1s, 2s]\n")),
            "f.yaml:8:19: routes[0].exec.kill_after: must list three durations: the waits before "
            "SIGINT, SIGTERM and SIGKILL (got 2 items)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      kill_after: []\n")),
            "f.yaml:8:19: routes[0].exec.kill_after: must list three durations: the waits before "
            "SIGINT, SIGTERM and SIGKILL (got 0 items)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      kill_after: [1s, 0, 2h]\n")),
            "f.yaml:8:24: routes[0].exec.kill_after[1]: must be between 1ms and 1h (got 0)\n"
            "f.yaml:8:27: routes[0].exec.kill_after[2]: must be between 1ms and 1h (got 2h)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      kill_after: [1s, 2, 3s]\n")),
            "f.yaml:8:24: routes[0].exec.kill_after[1]: " + parse_duration("2").error + " (got 2)");
  EXPECT_EQ(errors_of(command_route("/bin/sh", "      kill_after: 1s\n")),
            "f.yaml:8:19: routes[0].exec.kill_after: must be a list of durations, as in [1s, 5s] "
            "(got 1s)");
}

TEST(ExecConfig, RlimitsAreReadAndInheritIsUnset) {
  ConfigPtr config = load_text(command_route("/bin/sh",
                                             "      rlimits:\n"
                                             "        nofile: 3\n"
                                             "        nproc: 4194304\n"
                                             "        as: 16MiB\n"
                                             "        cpu: 1500ms\n"));
  const ExecRlimits& limits = config->routes[0].exec.rlimits;
  EXPECT_EQ(limits.nofile, 3u);
  EXPECT_EQ(limits.nproc, 4194304u);
  EXPECT_EQ(limits.as, 16u << 20);
  EXPECT_EQ(limits.cpu, 2u);  // whole seconds, rounded up
  ConfigPtr inherit = load_text(command_route("/bin/sh",
                                              "      rlimits:\n        nofile: inherit\n"
                                              "        cpu: 1h\n"));
  EXPECT_FALSE(inherit->routes[0].exec.rlimits.nofile);
  EXPECT_EQ(inherit->routes[0].exec.rlimits.cpu, 3600u);
}

TEST(ExecConfig, RlimitRanges) {
  auto limit = [](const std::string& line) {
    return errors_of(command_route("/bin/sh", "      rlimits:\n        " + line + "\n"));
  };
  EXPECT_EQ(limit("nofile: 2"),
            "f.yaml:9:17: routes[0].exec.rlimits.nofile: must be between 3 and 1048576, or "
            "inherit (got 2)");
  EXPECT_EQ(limit("nofile: 1048577"),
            "f.yaml:9:17: routes[0].exec.rlimits.nofile: must be between 3 and 1048576, or "
            "inherit (got 1048577)");
  EXPECT_EQ(limit("nproc: 0"),
            "f.yaml:9:16: routes[0].exec.rlimits.nproc: must be between 1 and 4194304, or "
            "inherit (got 0)");
  EXPECT_EQ(limit("as: 15MiB"),
            "f.yaml:9:13: routes[0].exec.rlimits.as: must be between 16MiB and 1024GiB, or "
            "inherit (got 15MiB)");
  EXPECT_EQ(limit("cpu: 999ms"),
            "f.yaml:9:14: routes[0].exec.rlimits.cpu: must be between 1s and 168h, or inherit "
            "(got 999ms)");
  EXPECT_EQ(limit("nofile: unlimited"),
            "f.yaml:9:17: routes[0].exec.rlimits.nofile: must be a whole number, or inherit "
            "(got unlimited)");
}

TEST(ExecConfig, ErrorsOfEveryRouteAreReportedTogether) {
  std::string text =
      "listen:\n  - address: 127.0.0.1:0\nroutes:\n"
      "  - path: /a\n    relay: exec\n"
      "  - path: /b\n    relay: exec\n    exec:\n      command: [/bin/sh]\n"
      "      mode: Text\n";
  EXPECT_EQ(errors_of(text),
            "f.yaml:4:5: routes[0].exec: set exactly one of command and scripts_dir (got "
            "neither)\n"
            "f.yaml:10:13: routes[1].exec.mode: must be one of text, binary (in lower case) (got "
            "Text)");
}

}  // namespace
}  // namespace wsgate::config
