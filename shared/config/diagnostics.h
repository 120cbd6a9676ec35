// Collects configuration errors, every one in the same form:
// "path:line:col: key.path: what is wrong (got X)".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
class Mark;
}  // namespace YAML

namespace wsgate::config {

// A position in the config file, 1-based. Line 0 means "not known".
struct Location {
  int line = 0;
  int column = 0;

  bool known() const { return line > 0; }
  friend auto operator<=>(const Location&, const Location&) = default;
};

// Converts a yaml-cpp mark (0-based, -1 when unknown) to a Location.
Location location_of(const YAML::Mark& mark);

// The "X" of "(got X)" for a value as written: the text itself when it is
// plain, quoted with escapes when it is empty or has spaces at either end or
// control characters, and cut to 60 characters with "...".
std::string got_text(std::string_view text);

// The "X" of "(got X)" for a YAML node: got_text() of a scalar, or "a map",
// "a list", "nothing" for the other kinds.
std::string got_node(const YAML::Node& node);

class Diagnostics {
 public:
  // `file` is the config path as the operator gave it; messages start with it.
  explicit Diagnostics(std::string file);

  // Records one error. An unknown location is printed as 1:1.
  void add(Location where, std::string_view key, std::string_view what, std::string_view got);
  // Records an error about another file the config names (a token file),
  // already in its own "FILE:LINE: what" form; sorted as if at `where`.
  void add_message(Location where, std::string message);

  const std::string& file() const { return file_; }
  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }

  // The errors so far, ordered by position in the file (errors at the same
  // position keep the order they were added in), joined by '\n'.
  std::string text() const;

  // Throws ConfigError carrying text() when any error was recorded.
  void throw_if_any() const;

 private:
  struct Error {
    Location where;
    std::string message;
  };

  std::string file_;
  std::vector<Error> errors_;
};

}  // namespace wsgate::config
