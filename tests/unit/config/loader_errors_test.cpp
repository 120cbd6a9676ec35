// Unit tests of the loader's error messages: each reads exactly
// "path:line:col: key.path: what is wrong (got X)" with 1-based positions.
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "config_test_support.h"

namespace wsgate::config {
namespace {

using testing::errors_of;

// kMinimal takes lines 1-2, so a key appended to it is on line 3.
std::string with(const std::string& tail) {
  return std::string(testing::kMinimal) + tail;
}

TEST(ConfigLoader, UnknownKeySuggestsClosestKey) {
  EXPECT_EQ(errors_of(with("deamon: true\n")),
            "f.yaml:3:1: deamon: unknown key; did you mean 'daemon'? (got deamon)");
}

TEST(ConfigLoader, UnknownNestedKeySuggestsItsSibling) {
  EXPECT_EQ(errors_of(with("limits:\n  max_frams: 1MiB\n")),
            "f.yaml:4:3: limits.max_frams: unknown key; did you mean 'max_frame'? (got max_frams)");
}

TEST(ConfigLoader, UnknownKeyMatchesIgnoringCase) {
  EXPECT_EQ(errors_of(with("Daemon: true\n")),
            "f.yaml:3:1: Daemon: unknown key; did you mean 'daemon'? (got Daemon)");
}

TEST(ConfigLoader, MisplacedKeySuggestsWhereItBelongs) {
  EXPECT_EQ(errors_of(with("max_frame: 1MiB\n")),
            "f.yaml:3:1: max_frame: unknown key; did you mean 'limits.max_frame'? (got max_frame)");
}

TEST(ConfigLoader, UnknownKeyWithNothingCloseHasNoSuggestion) {
  EXPECT_EQ(errors_of(with("frobnicate: 1\n")),
            "f.yaml:3:1: frobnicate: unknown key (got frobnicate)");
}

TEST(ConfigLoader, DottedKeyIsExplained) {
  EXPECT_EQ(errors_of(with("limits.max_frame: 1MiB\n")),
            "f.yaml:3:1: limits.max_frame: unknown key; dotted keys are not expanded: write "
            "'max_frame:' nested under 'limits:' (got limits.max_frame)");
}

TEST(ConfigLoader, UnknownKeyInAListItemNamesTheItem) {
  EXPECT_EQ(errors_of("listen:\n  - address: 127.0.0.1:80\n    interface: eth0\n"),
            "f.yaml:3:5: listen[0].interface: unknown key (got interface)");
}

TEST(ConfigLoader, DuplicateKeyNamesTheFirstLine) {
  EXPECT_EQ(errors_of(with("daemon: true\ndaemon: false\n")),
            "f.yaml:4:1: daemon: appears twice in the same map; first at line 3 (got daemon)");
}

TEST(ConfigLoader, ScalarWhereAMapBelongs) {
  EXPECT_EQ(errors_of(with("limits: 5\n")),
            "f.yaml:3:9: limits: must be a map of settings (indented 'key: value' lines) (got 5)");
}

TEST(ConfigLoader, ScalarWhereAListBelongs) {
  EXPECT_EQ(errors_of("listen: 127.0.0.1:80\n"),
            "f.yaml:1:9: listen: must be a list of maps, one '- key: value' item each (got "
            "127.0.0.1:80)");
}

TEST(ConfigLoader, ListWhereAScalarBelongs) {
  EXPECT_EQ(errors_of(with("daemon: [true]\n")),
            "f.yaml:3:9: daemon: must be a single value (bool) (got a list)");
  EXPECT_EQ(errors_of(with("workers:\n  count: 2\n")),
            "f.yaml:4:3: workers: must be a single value (worker-count) (got a map)");
}

TEST(ConfigLoader, ListItemThatIsNotAMap) {
  EXPECT_EQ(errors_of("listen:\n  - 127.0.0.1:80\n"),
            "f.yaml:2:5: listen[0]: must be a map of settings ('- key: value') (got 127.0.0.1:80)");
}

TEST(ConfigLoader, StringListMustBeAList) {
  EXPECT_EQ(errors_of(with("routes:\n  - path: /a\n    subprotocols: chat\n")),
            "f.yaml:5:19: routes[0].subprotocols: must be a list of strings, as in [a, b] (got "
            "chat)");
  EXPECT_EQ(errors_of(with("routes:\n  - path: /a\n    origins: [{a: b}]\n")),
            "f.yaml:5:15: routes[0].origins[0]: must be a string (got a map)");
}

TEST(ConfigLoader, BareNullOriginAsksForQuotes) {
  EXPECT_EQ(errors_of(with("routes:\n  - path: /a\n    origins:\n      - null\n")),
            "f.yaml:6:7: routes[0].origins[0]: is empty (YAML reads a bare null or ~ as nothing; "
            "write \"null\" in quotes for the text null) (got nothing)");
}

TEST(ConfigLoader, EmptyScalarValueNeedsAValue) {
  EXPECT_EQ(errors_of(with("user:\n")),
            "f.yaml:3:1: user: needs a value; write \"\" for an empty string (got nothing)");
  EXPECT_EQ(errors_of(with("daemon: ~\n")), "f.yaml:3:9: daemon: needs a value (got nothing)");
}

TEST(ConfigLoader, BooleanAcceptsOnlyTrueOrFalse) {
  EXPECT_EQ(errors_of(with("daemon: yes\n")),
            "f.yaml:3:9: daemon: must be true or false; write true (yes/no/on/off are not "
            "accepted) (got yes)");
  EXPECT_EQ(errors_of(with("daemon: \"false\"\n")), "");
}

TEST(ConfigLoader, DecimalSizeUnitIsRejectedWithAHint) {
  EXPECT_EQ(errors_of(with("limits:\n  max_frame: 64KB\n")),
            "f.yaml:4:14: limits.max_frame: must say KiB rather than KB: sizes are powers of 1024 "
            "(got 64KB)");
}

TEST(ConfigLoader, DurationWithoutUnitIsRejected) {
  EXPECT_EQ(errors_of(with("timeouts:\n  idle: 30\n")),
            "f.yaml:4:9: timeouts.idle: needs a unit: ms, s, m or h (as in 30s) (got 30)");
}

TEST(ConfigLoader, WrongTypeOfScalar) {
  EXPECT_EQ(errors_of(with("limits:\n  max_headers: many\n")),
            "f.yaml:4:16: limits.max_headers: must be a whole number (got many)");
  EXPECT_EQ(errors_of(with("workers: all\n")),
            "f.yaml:3:10: workers: must be a whole number or auto (got all)");
}

TEST(ConfigLoader, EnumListsTheAllowedWords) {
  EXPECT_EQ(errors_of(with("log:\n  level: INFO\n")),
            "f.yaml:4:10: log.level: must be one of trace, debug, info, warn, error, critical, "
            "off (in lower case) (got INFO)");
  EXPECT_EQ(errors_of(with("routes:\n  - path: /a\n    relay: socks\n")),
            "f.yaml:5:12: routes[0].relay: must be one of echo, proxy, exec, translator, static, "
            "console (got socks)");
}

TEST(ConfigLoader, ListenAddressMustBeNumeric) {
  EXPECT_EQ(errors_of("listen:\n  - address: localhost:8080\n"),
            "f.yaml:2:14: listen[0].address: host must be a numeric IPv4 or IPv6 address; names "
            "are not resolved (got localhost:8080)");
}

TEST(ConfigLoader, SecondListItemIsNumberedFromZero) {
  EXPECT_EQ(errors_of("listen:\n  - address: 127.0.0.1:80\n  - address: 127.0.0.1\n"),
            "f.yaml:3:14: listen[1].address: needs a port; write host:port such as "
            "127.0.0.1:8080, [::1]:8080 or *:8080 (got 127.0.0.1)");
}

TEST(ConfigLoader, MissingRequiredKeyInAListItem) {
  EXPECT_EQ(errors_of("listen:\n  - backlog: 5\n"),
            "f.yaml:2:5: listen[0].address: is required (got nothing)");
  EXPECT_EQ(errors_of(with("routes:\n  - relay: echo\n")),
            "f.yaml:4:5: routes[0].path: is required (got nothing)");
}

TEST(ConfigLoader, ListenNeedsAtLeastOneItem) {
  EXPECT_EQ(errors_of("listen: []\n"),
            "f.yaml:1:9: listen: must have at least 1 item (got an empty list)");
  EXPECT_EQ(errors_of("listen:\n"),
            "f.yaml:1:1: listen: must have at least 1 item (got an empty list)");
}

TEST(ConfigLoader, HealthPathMustStartWithSlash) {
  EXPECT_EQ(errors_of(with("health_path: healthz\n")),
            "f.yaml:3:14: health_path: must start with / (or be \"\" to turn health checks off) "
            "(got healthz)");
}

TEST(ConfigLoader, RoutePathMustBeAPlainAbsolutePath) {
  EXPECT_EQ(errors_of(with("routes:\n  - path: echo\n")),
            "f.yaml:4:11: routes[0].path: must start with / (got echo)");
  EXPECT_EQ(errors_of(with("routes:\n  - path: /echo?x=1\n")),
            "f.yaml:4:11: routes[0].path: must be a plain path, without query, fragment or spaces "
            "(got /echo?x=1)");
  EXPECT_EQ(errors_of(with("routes:\n  - path: \"\"\n")),
            "f.yaml:4:11: routes[0].path: must not be empty; a path starts with / (got \"\")");
}

TEST(ConfigLoader, OriginErrorsPointAtTheEntry) {
  EXPECT_EQ(errors_of(with("routes:\n  - path: /a\n    origins:\n      - https://a.example\n"
                           "      - https://b.example/\n")),
            "f.yaml:7:9: routes[0].origins[1]: must not end with /; an Origin is "
            "scheme://host[:port] only (got https://b.example/)");
}

TEST(ConfigLoader, SubprotocolMustBeAToken) {
  EXPECT_EQ(errors_of(with("routes:\n  - path: /a\n    subprotocols: [chat, \"two words\"]\n")),
            "f.yaml:5:26: routes[0].subprotocols[1]: must be an RFC 7230 token: letters, digits "
            "and !#$%&'*+-.^_`|~ (got two words)");
}

TEST(ConfigLoader, PathCannotBeEmptyOrStartWithTilde) {
  EXPECT_EQ(errors_of(with("pid_file: \"\"\n")),
            "f.yaml:3:11: pid_file: must not be empty (got \"\")");
  EXPECT_EQ(errors_of(with("log:\n  file: ~/wsgate.log\n")),
            "f.yaml:4:9: log.file: must not start with ~ (it is not expanded); write the full "
            "path (got ~/wsgate.log)");
}

TEST(ConfigLoader, ControlSocketPathMustFitSunPath) {
  std::string long_name = "/" + std::string(120, 's') + ".sock";
  EXPECT_EQ(errors_of(with("control_socket: " + long_name + "\n")),
            "f.yaml:3:17: control_socket: is 126 bytes long once resolved; a Unix socket path is "
            "at most 107 (got " +
                long_name.substr(0, 60) + "...)");
}

TEST(ConfigLoader, ValuesWithOuterSpacesAreQuotedInTheMessage) {
  EXPECT_EQ(errors_of(with("log:\n  level: \" info\"\n")),
            "f.yaml:4:10: log.level: must be one of trace, debug, info, warn, error, critical, "
            "off (got \" info\")");
}

TEST(ConfigLoader, CollectsEveryErrorInFileOrder) {
  EXPECT_EQ(errors_of("daemon: on\nlimits:\n  max_frame: 0\n  max_frams: 1\nlisten:\n"
                      "  - address: host:1\n"),
            "f.yaml:1:9: daemon: must be true or false; write true (yes/no/on/off are not "
            "accepted) (got on)\n"
            "f.yaml:3:14: limits.max_frame: must be between 125 and 1GiB (got 0)\n"
            "f.yaml:4:3: limits.max_frams: unknown key; did you mean 'max_frame'? (got max_frams)\n"
            "f.yaml:6:14: listen[0].address: host must be a numeric IPv4 or IPv6 address; names "
            "are not resolved (got host:1)");
}

TEST(ConfigLoader, ReportsABadRequiredKeyOnce) {
  EXPECT_EQ(errors_of("listen:\n  - address: [1, 2]\n"),
            "f.yaml:2:14: listen[0].address: must be a single value (address) (got a list)");
}

}  // namespace
}  // namespace wsgate::config
