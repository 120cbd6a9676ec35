// A statistics struct described as a table of uint64_t members (name,
// member pointer, counter or gauge), so sums and JSON are written once for
// every such struct (WorkerStats, RouteStats).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wsgate {

template <typename Stats>
struct FieldOf {
  std::string_view name;  // the member's name, also its JSON key
  uint64_t Stats::*member;
  bool counter;  // true: only grows; false: a gauge
};

// Adds the counters (counters == true) or the gauges of `from` to `to`.
template <typename Stats>
void add_fields(Stats& to, const Stats& from, std::span<const FieldOf<Stats>> fields,
                bool counters) {
  for (const FieldOf<Stats>& field : fields) {
    if (field.counter == counters) to.*field.member += from.*field.member;
  }
}

// Appends "name": value members for every field, without braces.
template <typename Stats>
void append_fields_json(std::string& out, const Stats& stats,
                        std::span<const FieldOf<Stats>> fields) {
  bool first = true;
  for (const FieldOf<Stats>& field : fields) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += field.name;
    out += "\":";
    out += std::to_string(stats.*field.member);
  }
}

}  // namespace wsgate
