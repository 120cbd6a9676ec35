// Unit tests of etc/wsgate.yaml: it loads, documents every schema key with
// a comment above it (keys of commented-out examples count), and holds the
// values ./scripts/run relies on.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "config/config.h"
#include "config/schema.h"

namespace wsgate::config {
namespace {

namespace fs = std::filesystem;

fs::path sample_path() {
  return (fs::path(__FILE__).parent_path() / "../../../etc/wsgate.yaml").lexically_normal();
}

std::string sample_text() {
  std::ifstream in(sample_path());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every key line of a block-style YAML text, by its dotted path with list
// items dropped ("listen.address"), mapped to the comment lines just above
// its first commented appearance.
std::map<std::string, std::string> keys_with_comments(const std::string& text) {
  std::map<std::string, std::string> keys;
  std::vector<std::pair<size_t, std::string>> parents;  // indent, name
  std::string comment;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) {
      comment.clear();
      continue;
    }
    std::string content = line.substr(indent);
    if (content.starts_with("#")) {
      comment += content + "\n";
      continue;
    }
    if (content.starts_with("- ")) {
      indent += 2;
      content = content.substr(2);
    }
    size_t colon = content.find(':');
    if (colon == std::string::npos) continue;
    while (!parents.empty() && parents.back().first >= indent) parents.pop_back();
    std::string path;
    for (const auto& parent : parents) path += parent.second + ".";
    path += content.substr(0, colon);
    // A key is documented where it first appears; later uses (the
    // console's routes) may go without the comment.
    if (keys[path].empty()) keys[path] = comment;
    comment.clear();
    parents.emplace_back(indent, content.substr(0, colon));
  }
  return keys;
}

// `text` with its commented-out examples taken in: every line between a
// "# >>> example" line and a "# <<< example" line loses the "# " after its
// indentation, as an operator would uncomment it.
std::string with_examples(const std::string& text) {
  std::string out;
  bool inside = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const size_t indent = line.find_first_not_of(' ');
    const std::string content = indent == std::string::npos ? "" : line.substr(indent);
    if (content.starts_with("# >>> example")) {
      inside = true;
    } else if (content.starts_with("# <<< example")) {
      inside = false;
    } else if (inside) {
      EXPECT_TRUE(content.starts_with("# ")) << "example line not commented out: " << line;
      if (content.starts_with("# ")) line = line.substr(0, indent) + content.substr(2);
    }
    out += line + "\n";
  }
  EXPECT_FALSE(inside) << "an example has no '# <<< example' line";
  return out;
}

std::string without_brackets(std::string_view key) {
  std::string out(key);
  for (size_t at; (at = out.find("[]")) != std::string::npos;) out.erase(at, 2);
  return out;
}

TEST(SampleConfig, Loads) {
  ASSERT_TRUE(fs::exists(sample_path())) << sample_path();
  EXPECT_NO_THROW(load_config(sample_path().string()));
}

TEST(SampleConfig, HasTheValuesScriptsRunExpects) {
  ConfigPtr config = load_config(sample_path().string());
  fs::path run = sample_path().parent_path() / "run";
  EXPECT_TRUE(config->daemon);
  EXPECT_EQ(config->workers, 2u);
  EXPECT_EQ(config->pid_file, (run / "wsgated.pid").string());
  EXPECT_EQ(config->control_socket, (run / "wsgated.sock").string());
  EXPECT_EQ(config->log.file, (run / "error.log").string());
  EXPECT_EQ(config->log.access_log, (run / "access.log").string());
  EXPECT_EQ(config->health_path, "/healthz");
  ASSERT_EQ(config->listen.size(), 2u);
  EXPECT_EQ(config->listen[0].address, "127.0.0.1:8080");
  EXPECT_FALSE(config->listen[0].tls.enabled());
  // The wss:// listener uses the certificate scripts/run makes.
  EXPECT_EQ(config->listen[1].address, "127.0.0.1:8443");
  ASSERT_EQ(config->listen[1].tls.certificates.size(), 1u);
  EXPECT_EQ(config->listen[1].tls.certificates[0].certificate,
            (sample_path().parent_path() / "tls/localhost.crt").string());
  EXPECT_EQ(config->listen[1].tls.certificates[0].key,
            (sample_path().parent_path() / "tls/localhost.key").string());
  ASSERT_EQ(config->routes.size(), 3u);
  EXPECT_EQ(config->routes[0].path, "/echo");
  EXPECT_EQ(config->routes[0].relay, "echo");
  // The live console: the checkout's console/ page and its WebSocket.
  EXPECT_EQ(config->routes[1].path, "/console/");
  EXPECT_EQ(config->routes[1].static_files.root,
            (sample_path().parent_path().parent_path() / "console").string());
  EXPECT_EQ(config->routes[2].relay, "console");
  EXPECT_EQ(config->routes[2].origins[0], "http://127.0.0.1:8080");
}

TEST(SampleConfig, ContainsEverySchemaKey) {
  std::map<std::string, std::string> keys = keys_with_comments(with_examples(sample_text()));
  for (const SchemaEntry& entry : schema()) {
    EXPECT_TRUE(keys.contains(without_brackets(entry.key))) << entry.key;
  }
}

TEST(SampleConfig, DocumentsEveryKeyWithDefaultAndRange) {
  std::map<std::string, std::string> keys = keys_with_comments(with_examples(sample_text()));
  for (const SchemaEntry& entry : schema()) {
    SCOPED_TRACE(std::string(entry.key));
    auto found = keys.find(without_brackets(entry.key));
    if (found == keys.end()) continue;  // reported by ContainsEverySchemaKey
    // Comments wrap, so compare with line breaks and '#' taken out.
    std::string comment;
    std::istringstream lines(found->second);
    for (std::string line; std::getline(lines, line);) comment += line.substr(1);
    EXPECT_FALSE(comment.empty());
    if (entry.type == ValueType::Map) continue;
    std::string expected_default = is_required(entry)
                                       ? std::string(" Required.")
                                       : " Default: " + std::string(entry.default_text) + ".";
    EXPECT_NE(comment.find(expected_default), std::string::npos) << comment;
    std::string range = range_text(entry);
    if (!range.empty()) {
      EXPECT_NE(comment.find(range), std::string::npos) << comment;
    }
  }
}

TEST(SampleConfig, HasNoKeyOutsideTheSchema) {
  std::set<std::string> known;
  for (const SchemaEntry& entry : schema()) known.insert(without_brackets(entry.key));
  for (const auto& [key, comment] : keys_with_comments(with_examples(sample_text()))) {
    EXPECT_TRUE(known.contains(key)) << key;
  }
}

// The proxy, exec, translator and static route examples are valid routes once
// uncommented, with a token file and a password file beside the config as
// their comments describe.
TEST(SampleConfig, ExamplesLoadOnceUncommented) {
  // The config sits in etc/ with the console's page in ../console, as in
  // the source tree.
  const fs::path top =
      fs::temp_directory_path() / ("wsgate-sample-test-" + std::to_string(getpid()));
  const fs::path dir = top / "etc";
  fs::create_directories(dir);
  fs::create_directories(top / "console");
  {
    std::ofstream(dir / "wsgate.yaml") << with_examples(sample_text());
    std::ofstream(dir / "websockify.tokens") << "desk1: vnc1.example.net:5901\n";
    std::ofstream(dir / "redis-gateway.password") << "s3cret\n";
    fs::create_directory(dir / "www");
  }
  ConfigPtr config;
  EXPECT_NO_THROW(config = load_config((dir / "wsgate.yaml").string()));
  fs::remove_all(top);
  ASSERT_TRUE(config);
  ASSERT_EQ(config->routes.size(), 7u);
  const RouteConfig& route = config->routes[1];
  EXPECT_EQ(route.relay, "proxy");
  EXPECT_EQ(route.proxy.token_file, (dir / "websockify.tokens").string());
  ASSERT_EQ(route.proxy.tokens.size(), 1u);
  EXPECT_EQ(route.proxy.tokens.at("desk1").host, "vnc1.example.net");
  EXPECT_TRUE(route.proxy.tls.enabled);
  // The exec example runs a program every Debian system has.
  const RouteConfig& exec_route = config->routes[2];
  EXPECT_EQ(exec_route.relay, "exec");
  EXPECT_EQ(exec_route.exec.command, std::vector<std::string>{"/bin/cat"});
  EXPECT_EQ(exec_route.exec.mode, ExecConfig::Mode::Binary);
  EXPECT_EQ(exec_route.exec.env_set,
            (std::vector<std::pair<std::string, std::string>>{{"LANG", "C.UTF-8"}}));
  EXPECT_EQ(exec_route.exec.rlimits.nofile, 64u);
  EXPECT_FALSE(exec_route.exec.rlimits.nproc);
  EXPECT_EQ(exec_route.exec.rlimits.cpu, 3600u);
  // The translator example joins the public bus with a password and writes
  // log_protect out as its default.
  const RouteConfig& translator_route = config->routes[3];
  EXPECT_EQ(translator_route.relay, "translator");
  EXPECT_EQ(translator_route.translator.domain, "public.localhost");
  EXPECT_EQ(translator_route.translator.password_file, (dir / "redis-gateway.password").string());
  EXPECT_EQ(translator_route.translator.password, "s3cret");
  EXPECT_EQ(translator_route.translator.log_protect,
            YAML::Load(std::string(find_schema("routes[].translator.log_protect")->default_text))
                .as<std::vector<std::string>>());
  EXPECT_EQ(translator_route.translator.log_protect.size(), 17u);
  ASSERT_EQ(translator_route.translator.trusted_proxies.size(), 3u);
  EXPECT_EQ(translator_route.translator.trusted_proxies[1].text, "::1");
  // The static example serves www beside the config under /.
  const RouteConfig& static_route = config->routes[4];
  EXPECT_TRUE(static_route.is_static());
  EXPECT_EQ(static_route.path, "/");
  EXPECT_EQ(static_route.static_files.root, fs::weakly_canonical(dir / "www").string());
  // The console: its page from ../console and its Origin-checked WebSocket.
  EXPECT_TRUE(config->routes[5].is_static());
  EXPECT_EQ(config->routes[5].path, "/console/");
  EXPECT_EQ(config->routes[5].static_files.root, fs::weakly_canonical(top / "console").string());
  EXPECT_EQ(config->routes[6].relay, "console");
  EXPECT_EQ(config->routes[6].path, "/console/live");
  EXPECT_FALSE(config->routes[6].origins.empty());
}

}  // namespace
}  // namespace wsgate::config
