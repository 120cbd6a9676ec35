// The configuration schema: one table of every key, its type, default, range
// and reload behaviour, which drives the loader, `wsgated -t`,
// `wsgated --print-schema`, the man page and the sample config.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wsgate::config {

enum class ValueType {
  Bool,          // true or false, nothing else
  Int,           // decimal integer
  Duration,      // "0", "100ms", "30s", "5m", "1h", "1m30s"; held in milliseconds
  Size,          // "512", "4k", "64KiB", "1MiB", "1GiB"; held in bytes, powers of 1024
  String,        // any scalar text
  Path,          // file path; relative paths resolve against the config file's directory;
                 //   "" (none) is allowed only when the default is ""
  Enum,          // one of enum_values
  StringList,    // YAML sequence of scalars
  DurationList,  // YAML sequence of durations, each within [min, max]
  StringMap,     // YAML map of free names to scalars ("NAME: value"), in file order
  WorkerCount,   // integer, or "auto" for the CPU count
  Address,       // numeric "host:port": "127.0.0.1:8080", "[::1]:8080", "*:8080"
  List,          // YAML sequence of maps; item keys are "key[].item"
  Map,           // YAML map; child keys are "key.child"
};

// One row of the schema. Every key the loader accepts has a row; a key
// without a row is an error in the config file.
struct SchemaEntry {
  std::string_view key;  // dotted; list items as "listen[].address"
  ValueType type;
  std::string_view default_text;  // as written in YAML; empty means required
  int64_t min;                    // Int, Duration (ms), Size (bytes), WorkerCount;
  int64_t max;                    //   DurationList: each element; List: number of items
  std::string_view enum_values;   // Enum: the allowed words, "a|b|c";
                                  //   Path: words kept as-is rather than resolved;
                                  //   Int, Duration, Size: words that mean "not set"
                                  //   (read with SectionReader::optional_number)
  bool reloadable;                // a reload (SIGUSR1) can change it
  std::string_view description;   // one sentence, for the table and man page
};

// The whole table, parents before their children, in the order the sample
// config and the man page present the keys.
std::span<const SchemaEntry> schema();

// The row for `key` (schema spelling, "listen[].address"), or nullptr.
const SchemaEntry* find_schema(std::string_view key);

// The word used for `type` in messages and the printed table ("duration").
std::string_view type_name(ValueType type);

// True when `type` holds a single scalar (everything but lists and maps).
bool is_scalar_type(ValueType type);

// True when `entry` is required: it has no default.
inline bool is_required(const SchemaEntry& entry) {
  return entry.default_text.empty();
}

// The key a child of `parent` has in the schema: "limits" + "max_frame" ->
// "limits.max_frame"; for a List parent, "listen" + "address" ->
// "listen[].address". An empty parent names a top-level key.
std::string child_key(const SchemaEntry* parent, std::string_view name);

// The range of `entry` in its own units ("100ms..10m", "1..256", "1KiB..1GiB",
// "3..1048576|inherit" for a number that also takes words), or "" when it
// has none.
std::string range_text(const SchemaEntry& entry);

// A plain-text table of the schema, one line per key: key, type, default,
// range, reloadable (yes/no) and description, columns separated by spaces,
// under a header line. Printed by `wsgated --print-schema`.
std::string render_schema_table();

}  // namespace wsgate::config
