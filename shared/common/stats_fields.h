// The fields of WorkerStats as a table (name, member, counter or gauge), so
// sums, JSON and tables are written once instead of once per field.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/stats.h"

namespace wsgate {

struct StatsField {
  std::string_view name;  // the member's name, also its JSON key
  uint64_t WorkerStats::*member;
  bool counter;  // true: only grows; false: a gauge
};

// Every member of WorkerStats, in declaration order.
std::span<const StatsField> stats_fields();

}  // namespace wsgate
