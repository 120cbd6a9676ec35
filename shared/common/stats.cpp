// Worker statistics: sums, JSON members and the process's resident size.
#include "common/stats.h"

#include <unistd.h>

#include <array>
#include <cstdio>

#include "common/stats_fields.h"

namespace wsgate {
namespace {

// clang-format off
#define WSGATE_COUNTER(name) StatsField{#name, &WorkerStats::name, true}
#define WSGATE_GAUGE(name) StatsField{#name, &WorkerStats::name, false}
// clang-format on

constexpr std::array kFields{
    WSGATE_COUNTER(connections_accepted),
    WSGATE_COUNTER(handshakes_ok),
    WSGATE_COUNTER(handshakes_failed_bad_request),
    WSGATE_COUNTER(handshakes_failed_too_large),
    WSGATE_COUNTER(handshakes_failed_version),
    WSGATE_COUNTER(handshakes_failed_forbidden),
    WSGATE_COUNTER(handshakes_failed_not_found),
    WSGATE_COUNTER(handshakes_failed_timeout),
    WSGATE_COUNTER(http_requests),
    WSGATE_COUNTER(handshake_us_total),
    WSGATE_COUNTER(handshake_under_1ms),
    WSGATE_COUNTER(handshake_under_10ms),
    WSGATE_COUNTER(handshake_under_100ms),
    WSGATE_COUNTER(handshake_under_1s),
    WSGATE_COUNTER(handshake_over_1s),
    WSGATE_COUNTER(connections_shed),
    WSGATE_COUNTER(refused_per_ip_connections),
    WSGATE_COUNTER(refused_per_ip_handshakes),
    WSGATE_COUNTER(per_ip_untracked),
    WSGATE_COUNTER(messages_in),
    WSGATE_COUNTER(messages_out),
    WSGATE_COUNTER(bytes_in),
    WSGATE_COUNTER(bytes_out),
    WSGATE_COUNTER(closes_client),
    WSGATE_COUNTER(closes_idle),
    WSGATE_COUNTER(closes_ping_timeout),
    WSGATE_COUNTER(closes_protocol_error),
    WSGATE_COUNTER(closes_too_big),
    WSGATE_COUNTER(closes_policy),
    WSGATE_COUNTER(closes_slow_consumer),
    WSGATE_COUNTER(closes_drain),
    WSGATE_COUNTER(closes_shutdown),
    WSGATE_COUNTER(closes_error),
    WSGATE_COUNTER(closes_upstream),
    WSGATE_COUNTER(closes_buffer_budget),
    WSGATE_COUNTER(log_lines_dropped),
    WSGATE_COUNTER(events_dropped),
    WSGATE_COUNTER(compression_negotiated),
    WSGATE_COUNTER(compression_declined_memory),
    WSGATE_COUNTER(inflate_deferrals),
    WSGATE_COUNTER(compressed_bytes_in),
    WSGATE_COUNTER(inflated_bytes_in),
    WSGATE_COUNTER(deflated_bytes_out),
    WSGATE_COUNTER(compressed_bytes_out),
    WSGATE_COUNTER(proxy_connects_ok),
    WSGATE_COUNTER(proxy_connect_failures_refused),
    WSGATE_COUNTER(proxy_connect_failures_timeout),
    WSGATE_COUNTER(proxy_connect_failures_dns),
    WSGATE_COUNTER(proxy_connect_failures_tls),
    WSGATE_COUNTER(proxy_connect_failures_other),
    WSGATE_COUNTER(proxy_upstream_errors),
    WSGATE_COUNTER(proxy_connect_us_total),
    WSGATE_COUNTER(proxy_connect_under_1ms),
    WSGATE_COUNTER(proxy_connect_under_10ms),
    WSGATE_COUNTER(proxy_connect_under_100ms),
    WSGATE_COUNTER(proxy_connect_under_1s),
    WSGATE_COUNTER(proxy_connect_over_1s),
    WSGATE_COUNTER(proxy_bytes_to_upstream),
    WSGATE_COUNTER(proxy_bytes_from_upstream),
    WSGATE_COUNTER(exec_spawned),
    WSGATE_COUNTER(exec_spawn_failures),
    WSGATE_COUNTER(exec_exits_ok),
    WSGATE_COUNTER(exec_exits_error),
    WSGATE_COUNTER(exec_exits_signal),
    WSGATE_COUNTER(exec_stderr_lines),
    WSGATE_COUNTER(exec_stderr_suppressed),
    WSGATE_COUNTER(static_requests),
    WSGATE_COUNTER(static_bytes_out),
    WSGATE_COUNTER(static_not_modified),
    WSGATE_COUNTER(static_errors),
    WSGATE_COUNTER(tls_handshakes_ok),
    WSGATE_COUNTER(tls_handshakes_failed_version),
    WSGATE_COUNTER(tls_handshakes_failed_cipher),
    WSGATE_COUNTER(tls_handshakes_failed_alpn),
    WSGATE_COUNTER(tls_handshakes_failed_not_tls),
    WSGATE_COUNTER(tls_handshakes_failed_client_alert),
    WSGATE_COUNTER(tls_handshakes_failed_timeout),
    WSGATE_COUNTER(tls_handshakes_failed_closed),
    WSGATE_COUNTER(tls_handshakes_failed_other),
    WSGATE_COUNTER(tls_resumed_ticket),
    WSGATE_COUNTER(tls_resumed_cache),
    WSGATE_COUNTER(tls_version_1_2),
    WSGATE_COUNTER(tls_version_1_3),
    WSGATE_COUNTER(tls_cipher_aes_128_gcm),
    WSGATE_COUNTER(tls_cipher_aes_256_gcm),
    WSGATE_COUNTER(tls_cipher_chacha20_poly1305),
    WSGATE_COUNTER(tls_cipher_other),
    WSGATE_COUNTER(tls_handshake_us_total),
    WSGATE_COUNTER(tls_handshake_under_1ms),
    WSGATE_COUNTER(tls_handshake_under_10ms),
    WSGATE_COUNTER(tls_handshake_under_100ms),
    WSGATE_COUNTER(tls_handshake_over_100ms),
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
    WSGATE_COUNTER(translator_reply_under_1ms),
    WSGATE_COUNTER(translator_reply_under_10ms),
    WSGATE_COUNTER(translator_reply_under_100ms),
    WSGATE_COUNTER(translator_reply_under_1s),
    WSGATE_COUNTER(translator_reply_over_1s),
    WSGATE_COUNTER(translator_replies_orphaned),
    WSGATE_COUNTER(translator_bus_reconnects),
    WSGATE_COUNTER(translator_bus_errors),
    WSGATE_COUNTER(loop_busy_ns),
    WSGATE_COUNTER(loop_total_ns),
    WSGATE_GAUGE(connections_active),
    WSGATE_GAUGE(connections_handshaking),
    WSGATE_GAUGE(connections_closing),
    WSGATE_GAUGE(compression_zlib_bytes),
    WSGATE_GAUGE(compression_buffer_bytes),
    WSGATE_GAUGE(tls_connections_active),
    WSGATE_GAUGE(proxy_connections_active),
    WSGATE_GAUGE(exec_processes_running),
    WSGATE_GAUGE(static_transfers_active),
    WSGATE_GAUGE(translator_sessions_cached),
    WSGATE_GAUGE(translator_requests_in_flight),
    WSGATE_GAUGE(translator_bus_connections),
    WSGATE_GAUGE(write_queue_bytes),
    WSGATE_GAUGE(rss_bytes),
    WSGATE_GAUGE(report_time_ms),
};

#undef WSGATE_COUNTER
#undef WSGATE_GAUGE

// A member added to WorkerStats without a row here fails the build.
static_assert(sizeof(WorkerStats) == kFields.size() * sizeof(uint64_t),
              "every WorkerStats member needs a row in kFields");

}  // namespace

std::span<const StatsField> stats_fields() {
  return kFields;
}

void WorkerStats::add_counters(const WorkerStats& other) {
  add_fields<WorkerStats>(*this, other, kFields, true);
}

// Gauges add up (connections, queued bytes, memory), except report_time_ms:
// a sum of clock readings means nothing, so the sum keeps the latest one.
void WorkerStats::add_gauges(const WorkerStats& other) {
  for (const StatsField& field : kFields) {
    if (field.counter) continue;
    if (field.member == &WorkerStats::report_time_ms) {
      if (other.report_time_ms > report_time_ms) report_time_ms = other.report_time_ms;
    } else {
      this->*field.member += other.*field.member;
    }
  }
}

void append_stats_json(std::string& out, const WorkerStats& stats) {
  append_fields_json<WorkerStats>(out, stats, kFields);
}

uint64_t current_rss_bytes() {
  std::FILE* file = std::fopen("/proc/self/statm", "re");
  if (file == nullptr) return 0;
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int fields = std::fscanf(file, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(file);
  if (fields != 2) return 0;
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return 0;
  return resident_pages * static_cast<uint64_t>(page_size);
}

}  // namespace wsgate
