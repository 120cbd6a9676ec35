// The Prometheus text exposition format (0.0.4) of the supervisor's
// aggregated statistics. Pure: numbers in, text out.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/route_stats.h"
#include "common/stats.h"

namespace wsgate::supervisor {

struct MetricsSnapshot {
  // Counters of every worker ever reported (the supervisor keeps those of
  // workers that are gone), gauges of the live ones.
  WorkerStats totals;
  RouteStatsByPath routes;
  std::map<std::string, std::string, std::less<>> relays;  // route path -> relay kind
  struct Generation {
    uint64_t generation = 0;
    uint64_t workers = 0;      // live worker processes
    uint64_t handshaking = 0;  // their connections by state
    uint64_t open = 0;
    uint64_t closing = 0;
  };
  std::vector<Generation> generations;
  uint64_t generation = 0;  // the serving one
  uint64_t event_followers = 0;          // wsgatectl events --follow streams open
  uint64_t event_followers_dropped = 0;  // cut off for reading too slowly
};

// Every field of WorkerStats as wsgate_NAME (counters with _total), every
// field of RouteStats as wsgate_route_NAME{route,relay}, and per
// generation wsgate_generation_workers and wsgate_generation_connections
// (by state: handshake, open, closing), wsgate_event_followers and
// wsgate_event_followers_dropped_total. Times are
// converted to seconds (…_us_total and …_ns become …_seconds_total).
std::string render_metrics(const MetricsSnapshot& snapshot);

}  // namespace wsgate::supervisor
