// Helpers shared by the config unit tests (declared in config_test_support.h).
#include "config_test_support.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "config/config.h"

namespace wsgate::config::testing {
namespace {

namespace fs = std::filesystem;

// The directory every test file goes into, made on first use.
const fs::path& root_dir() {
  static const fs::path root = [] {
    fs::path dir = fs::temp_directory_path() / ("wsgate-config-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
  }();
  return root;
}

// Removes root_dir() when the test program ends.
class TempRootCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_dir(), ignored);
  }
};

[[maybe_unused]] ::testing::Environment* const kCleanup =
    ::testing::AddGlobalTestEnvironment(new TempRootCleanup);

}  // namespace

// Writes `text` to `name` inside a fresh directory (so names can repeat
// across tests), creating parent directories, and returns the full path.
std::string write_file(const std::string& name, const std::string& text) {
  static std::atomic<int> counter{0};
  fs::path file = root_dir() / std::to_string(counter++) / name;
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return file.string();
}

// Loads `text` from a temporary file named wsgate.yaml.
ConfigPtr load_text(const std::string& text) {
  return load_config(write_file("wsgate.yaml", text));
}

// Loads `text` from a temporary file and returns the ConfigError text with
// the file's path replaced by "f.yaml", or "" when the config is valid.
std::string errors_of(const std::string& text) {
  std::string path = write_file("f.yaml", text);
  try {
    load_config(path);
    return "";
  } catch (const ConfigError& error) {
    std::string message = error.what();
    for (size_t at = 0; (at = message.find(path, at)) != std::string::npos;) {
      message.replace(at, path.size(), "f.yaml");
    }
    return message;
  }
}

// The smallest valid config: one listen address and nothing else.
extern const char* const kMinimal;
const char* const kMinimal = "listen:\n  - address: 127.0.0.1:0\n";

}  // namespace wsgate::config::testing
