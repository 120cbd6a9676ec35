// Per-route statistics: what each route (by path) did, summed over its
// connections, so an operator can tell one proxy route's upstream failures
// from another's. Workers keep one RouteStats per route of their config and
// send them to the supervisor beside WorkerStats; the supervisor sums them
// by route path over workers and generations, so a counter never goes down
// across a reload.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "common/field_table.h"

namespace wsgate {

struct RouteStats {
  // counters
  uint64_t upgrades = 0;  // 101s sent on this route
  uint64_t messages_in = 0;  // added when each connection closes
  uint64_t messages_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t closes_upstream = 0;
  uint64_t proxy_connects_ok = 0;
  uint64_t proxy_connect_failures_refused = 0;
  uint64_t proxy_connect_failures_timeout = 0;
  uint64_t proxy_connect_failures_dns = 0;
  uint64_t proxy_connect_failures_tls = 0;
  uint64_t proxy_connect_failures_other = 0;
  uint64_t proxy_upstream_errors = 0;
  uint64_t proxy_connect_us_total = 0;
  uint64_t proxy_bytes_to_upstream = 0;
  uint64_t proxy_bytes_from_upstream = 0;
  uint64_t exec_spawned = 0;
  uint64_t exec_spawn_failures = 0;
  uint64_t exec_exits_ok = 0;
  uint64_t exec_exits_error = 0;
  uint64_t exec_exits_signal = 0;
  uint64_t translator_bus_messages_out = 0;  // transport messages RPUSHed for clients
  uint64_t translator_bus_messages_in = 0;  // transport messages BLPOPped and relayed to a client
  uint64_t translator_dropped_invalid_json = 0;  // client messages dropped: not JSON, not an object, too deep
  uint64_t translator_dropped_bad_thread = 0;  // thread missing, empty or over 64 bytes
  uint64_t translator_dropped_bad_log_xid = 0;  // log_xid over 64 bytes
  uint64_t translator_dropped_bad_service = 0;  // service over 128 bytes or not [A-Za-z0-9._-]
  uint64_t translator_dropped_bad_osrf_msg = 0;  // osrf_msg missing or not an array of osrfMessages
  uint64_t translator_dropped_no_recipient = 0;  // no service and no cached session
  uint64_t translator_dropped_too_many_requests = 0;  // over 1024 requests in flight on the connection
  uint64_t translator_session_cache_full = 0;  // CONNECTs past max_sessions, served stateless
  uint64_t translator_transport_errors = 0;  // transport_error replies sent (bus down or lost)
  uint64_t translator_requests_dead = 0;  // requests given up after max_request_wait of silence
  uint64_t translator_replies_timed = 0;  // first replies to a request, for the latency mean
  uint64_t translator_reply_us_total = 0;  // sum of request-to-first-reply times
  // gauges
  uint64_t connections_active = 0;  // upgraded and not yet closed
  uint64_t translator_sessions_cached = 0;  // stateful sessions cached
  uint64_t translator_requests_in_flight = 0;  // requests sent and not yet finally answered
  uint64_t exec_processes_running = 0;  // this worker's children of the route: max_processes

  void add_counters(const RouteStats& other);
  void add_gauges(const RouteStats& other);
};

using RouteStatsByPath = std::map<std::string, RouteStats, std::less<>>;

using RouteStatsField = FieldOf<RouteStats>;

// Every member of RouteStats, in declaration order.
std::span<const RouteStatsField> route_stats_fields();

// Appends one channel record for `path`: a 2-byte length, the path (its
// first kMaxRouteStatsPath bytes: longer paths are not worth a bigger
// record), then the fields as raw uint64_t (the channel joins processes
// of one binary). A record is at most kMaxRouteStatsRecord bytes.
inline constexpr size_t kMaxRouteStatsPath = 1024;
inline constexpr size_t kMaxRouteStatsRecord = 2 + kMaxRouteStatsPath + sizeof(RouteStats);
void encode_route_stats(std::string& out, std::string_view path, const RouteStats& stats);

// Reads records from a channel payload into `into` (replacing entries of
// the same path). False, with `into` partly filled, on a malformed payload.
bool decode_route_stats(std::string_view payload, RouteStatsByPath& into);

// Appends "name": value members, without braces.
void append_route_stats_json(std::string& out, const RouteStats& stats);

}  // namespace wsgate
