// render_schema_table(): the schema as a plain-text table for
// `wsgated --print-schema` and the wsgate.yaml(5) man page.
#include <algorithm>
#include <array>
#include <vector>

#include "config/schema.h"

namespace wsgate::config {
namespace {

// How values of each scalar type are written, printed under the table.
constexpr std::string_view kSyntax[] = {
    "bool          true or false (yes, no, on and off are rejected)",
    "int           decimal digits",
    "duration      0, or numbers with units ms, s, m, h: 100ms, 30s, 5m, 1h, 1m30s",
    "size          bytes, or units B, k/K/KiB (1024), M/MiB (1024^2), G/GiB (1024^3); "
    "KB, MB and GB are rejected",
    "path          absolute, or relative to the directory of the config file",
    "worker-count  a number, or auto for one worker per CPU",
    "address       numeric host:port: 127.0.0.1:8080, [::1]:8080, *:8080 (every IPv4 address)",
    "string-list   a YAML list of strings: [a, b]",
    "duration-list a YAML list of durations: [100ms, 1s]",
    "string-map    a YAML map of names to strings: {LANG: C.UTF-8, TZ: UTC}",
    "list          a YAML list of maps, one '- key: value' item each",
};

}  // namespace

std::string render_schema_table() {
  using Row = std::array<std::string, 6>;
  std::vector<Row> rows;
  rows.push_back({"KEY", "TYPE", "DEFAULT", "RANGE", "RELOAD", "DESCRIPTION"});
  for (const SchemaEntry& entry : schema()) {
    std::string range = range_text(entry);
    rows.push_back({std::string(entry.key), std::string(type_name(entry.type)),
                    is_required(entry) ? "(required)" : std::string(entry.default_text),
                    range.empty() ? "-" : range, entry.reloadable ? "yes" : "no",
                    std::string(entry.description)});
  }
  std::array<size_t, 6> width{};
  for (const Row& row : rows) {
    for (size_t column = 0; column < row.size(); ++column) {
      width[column] = std::max(width[column], row[column].size());
    }
  }
  std::string out;
  for (const Row& row : rows) {
    for (size_t column = 0; column + 1 < row.size(); ++column) {
      out += row[column];
      out.append(width[column] - row[column].size() + 2, ' ');
    }
    out += row.back();
    out += '\n';
  }
  out += "\nValues:\n";
  for (std::string_view line : kSyntax) {
    out += "  ";
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace wsgate::config
