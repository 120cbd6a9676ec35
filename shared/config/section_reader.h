// Reads typed values out of one Section: parses each key's text with its
// schema row, falls back to the row's default when the key is absent, and
// reports bad values and missing required keys.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/document.h"
#include "config/values.h"

namespace wsgate::config {

// One element of a StringList value.
struct ListElement {
  std::string text;
  std::string path;  // "routes[0].origins[1]"
  Location where;
};

// One pair of a StringMap value.
struct MapElement {
  std::string name;
  std::string value;
  std::string path;  // "routes[0].exec.env.set.LANG"
  Location where;    // of the name
};

class SectionReader {
 public:
  // `section` and `errors` must outlive the reader. `base_dir` is the
  // absolute directory relative paths resolve against.
  SectionReader(const Section& section, Diagnostics& errors, std::string base_dir);

  // Each getter takes a schema key ("limits.max_frame", "listen[].address")
  // whose row has the getter's type, and throws std::logic_error otherwise,
  // or when the row's default does not pass its own checks. A value that
  // fails its checks is reported and the getter returns the default (or a
  // zero value for a required key), so the loader can go on and find more
  // errors. A missing required key is reported at the section's position.
  bool boolean(std::string_view key);
  int64_t number(std::string_view key);  // Int, Duration (ms), Size, WorkerCount
  // A number whose row also takes words meaning "not set" (enum_values):
  // nullopt for a word, written or by default.
  std::optional<int64_t> optional_number(std::string_view key);
  std::string text(std::string_view key);  // String, Enum
  std::string path(std::string_view key);  // Path, absolute unless one of its words or ""
  std::optional<ListenAddress> address(std::string_view key);
  std::vector<ListElement> strings(std::string_view key);
  // Each element checked against the row's range and reported at itself;
  // the default when any element is wrong.
  std::vector<Duration> durations(std::string_view key);
  // The pairs in file order (their shape was checked by read_document).
  std::vector<MapElement> string_map(std::string_view key);
  const std::vector<Section>& items(std::string_view key);

  // Where the value of `key` was written; the section's position when absent.
  Location where(std::string_view key) const;
  // True when `key` was written in the file (a Map key: written at all,
  // even as an empty map).
  bool present(std::string_view key) const;
  // The key path shown in messages: "listen[1].address".
  std::string display(std::string_view key) const;

  // "file:line:col" of where(key).
  std::string position(std::string_view key) const;
  // "file:line:col: display(key)", the prefix of messages that other code
  // (the TLS loader) reports about the value of `key` later.
  std::string origin(std::string_view key) const;

  // Reports an error about `key` at where(key).
  void error(std::string_view key, std::string_view what, std::string_view got);
  // Reports an error about one element of the StringList `key`, at the element.
  void error(const ListElement& element, std::string_view key, std::string_view what,
             std::string_view got);
  // Reports an error about one pair of the StringMap `key`, at its name.
  void error(const MapElement& element, std::string_view key, std::string_view what,
             std::string_view got);
  // Marks `key` as having an error reported some other way (a message about
  // the file it names), so ok(key) is false.
  void mark_failed(std::string_view key) { failed_.insert(std::string(key)); }
  // True when no error has been reported about `key`, so rules that
  // combine it with other keys are worth checking.
  bool ok(std::string_view key) const;

  // Schema keys of this section's scope that no getter has read yet. The
  // loader checks this is empty, so a schema row it forgot cannot go
  // unnoticed.
  std::vector<std::string_view> unread_keys() const;

  // The absolute directory relative paths resolve against.
  const std::string& base_dir() const { return base_dir_; }

 private:
  // The schema row for `key`, checked to have one of `types`, marked read.
  const SchemaEntry& row(std::string_view key, std::initializer_list<ValueType> types);
  // The setting for `key` when it was written and not already rejected.
  const Setting* find(std::string_view key) const;
  // The scalar text to use for `entry`: what was written, else the default;
  // nullopt for a required key that is absent (reported here).
  std::optional<std::string> raw(const SchemaEntry& entry);
  std::string default_scalar(const SchemaEntry& entry) const;
  [[noreturn]] void bad_default(const SchemaEntry& entry, std::string_view why) const;

  const Section& section_;
  Diagnostics& errors_;
  std::string base_dir_;
  std::set<std::string_view> read_;
  std::set<std::string, std::less<>> failed_;
};

}  // namespace wsgate::config
