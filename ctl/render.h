// Human-readable output of wsgatectl: the daemon's JSON answers as text
// and aligned tables.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace wsgate::ctl {

// Columns separated by two spaces, each as wide as its widest cell; the
// first row is the header.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

// "3h02m", "45s", "2d04h" for a number of seconds.
std::string format_duration(uint64_t seconds);

// "120ms", "1.5s", "2m05s" for a number of milliseconds.
std::string format_age(uint64_t milliseconds);

// "512B", "2.0KiB", "13.4MiB".
std::string format_bytes(uint64_t bytes);

// Renders the successful answer `answer` to `command` for a person.
std::string render_answer(const std::string& command, const YAML::Node& answer);

}  // namespace wsgate::ctl
