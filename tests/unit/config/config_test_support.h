// Helpers shared by the config unit tests (config_test_support.cpp):
// temporary config files and a loader wrapper whose error text names the
// file "f.yaml", so expected messages are stable.
#pragma once

#include <string>

#include "config/config.h"

namespace wsgate::config::testing {

// Writes `text` to a file `name` in the test's temporary directory and
// returns its path.
std::string write_file(const std::string& name, const std::string& text);
// Loads `text` as a config file; throws ConfigError like load_config().
ConfigPtr load_text(const std::string& text);
// The ConfigError text for `text`, or "" when it loads.
std::string errors_of(const std::string& text);
// The smallest valid config (a listener and nothing else).
extern const char* const kMinimal;

}  // namespace wsgate::config::testing
