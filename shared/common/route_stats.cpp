// Per-route statistics: the field table, channel records and JSON.
#include "common/route_stats.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace wsgate {
namespace {

// clang-format off
#define WSGATE_COUNTER(name) RouteStatsField{#name, &RouteStats::name, true}
#define WSGATE_GAUGE(name) RouteStatsField{#name, &RouteStats::name, false}
// clang-format on

constexpr std::array kFields{
    WSGATE_COUNTER(upgrades),
    WSGATE_COUNTER(messages_in),
    WSGATE_COUNTER(messages_out),
    WSGATE_COUNTER(bytes_in),
    WSGATE_COUNTER(bytes_out),
    WSGATE_COUNTER(closes_upstream),
    WSGATE_COUNTER(proxy_connects_ok),
    WSGATE_COUNTER(proxy_connect_failures_refused),
    WSGATE_COUNTER(proxy_connect_failures_timeout),
    WSGATE_COUNTER(proxy_connect_failures_dns),
    WSGATE_COUNTER(proxy_connect_failures_tls),
    WSGATE_COUNTER(proxy_connect_failures_other),
    WSGATE_COUNTER(proxy_upstream_errors),
    WSGATE_COUNTER(proxy_connect_us_total),
    WSGATE_COUNTER(proxy_bytes_to_upstream),
    WSGATE_COUNTER(proxy_bytes_from_upstream),
    WSGATE_COUNTER(exec_spawned),
    WSGATE_COUNTER(exec_spawn_failures),
    WSGATE_COUNTER(exec_exits_ok),
    WSGATE_COUNTER(exec_exits_error),
    WSGATE_COUNTER(exec_exits_signal),
    WSGATE_COUNTER(translator_bus_messages_out),
    WSGATE_COUNTER(translator_bus_messages_in),
    WSGATE_COUNTER(translator_dropped_invalid_json),
    WSGATE_COUNTER(translator_dropped_bad_thread),
    WSGATE_COUNTER(translator_dropped_bad_log_xid),
    WSGATE_COUNTER(translator_dropped_bad_service),
    WSGATE_COUNTER(translator_dropped_bad_osrf_msg),
    WSGATE_COUNTER(translator_dropped_no_recipient),
    WSGATE_COUNTER(translator_dropped_too_many_requests),
    WSGATE_COUNTER(translator_session_cache_full),
    WSGATE_COUNTER(translator_transport_errors),
    WSGATE_COUNTER(translator_requests_dead),
    WSGATE_COUNTER(translator_replies_timed),
    WSGATE_COUNTER(translator_reply_us_total),
    WSGATE_GAUGE(connections_active),
    WSGATE_GAUGE(translator_sessions_cached),
    WSGATE_GAUGE(translator_requests_in_flight),
    WSGATE_GAUGE(exec_processes_running),
};

#undef WSGATE_COUNTER
#undef WSGATE_GAUGE

static_assert(sizeof(RouteStats) == kFields.size() * sizeof(uint64_t),
              "every RouteStats member needs a row in kFields");

}  // namespace

std::span<const RouteStatsField> route_stats_fields() {
  return kFields;
}

void RouteStats::add_counters(const RouteStats& other) {
  add_fields<RouteStats>(*this, other, kFields, true);
}

void RouteStats::add_gauges(const RouteStats& other) {
  add_fields<RouteStats>(*this, other, kFields, false);
}

void encode_route_stats(std::string& out, std::string_view path, const RouteStats& stats) {
  const auto length = static_cast<uint16_t>(std::min(path.size(), kMaxRouteStatsPath));
  out += static_cast<char>(length >> 8);
  out += static_cast<char>(length & 0xff);
  out.append(path.substr(0, length));
  out.append(reinterpret_cast<const char*>(&stats), sizeof(stats));
}

bool decode_route_stats(std::string_view payload, RouteStatsByPath& into) {
  while (!payload.empty()) {
    if (payload.size() < 2) return false;
    const size_t length = (static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]);
    payload.remove_prefix(2);
    if (payload.size() < length + sizeof(RouteStats)) return false;
    RouteStats stats;
    std::memcpy(&stats, payload.data() + length, sizeof(stats));
    into.insert_or_assign(std::string(payload.substr(0, length)), stats);
    payload.remove_prefix(length + sizeof(RouteStats));
  }
  return true;
}

void append_route_stats_json(std::string& out, const RouteStats& stats) {
  append_fields_json<RouteStats>(out, stats, kFields);
}

}  // namespace wsgate
