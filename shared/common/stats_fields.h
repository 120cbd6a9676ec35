// The fields of WorkerStats as a table (name, member, counter or gauge), so
// sums, JSON and tables are written once instead of once per field.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/field_table.h"
#include "common/stats.h"

namespace wsgate {

using StatsField = FieldOf<WorkerStats>;

// Every member of WorkerStats, in declaration order.
std::span<const StatsField> stats_fields();

}  // namespace wsgate
