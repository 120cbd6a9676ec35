// Worker statistics: counters and gauges in one plain struct, sent to the
// supervisor every stats_interval and summed there.
#pragma once

#include <cstdint>
#include <string>

namespace wsgate {

// Counters only grow; gauges describe "now". The struct crosses the
// channel as raw bytes between processes of the same binary.
struct WorkerStats {
  // counters
  uint64_t connections_accepted = 0;
  uint64_t handshakes_ok = 0;
  uint64_t handshakes_failed_bad_request = 0;  // 400, 405
  uint64_t handshakes_failed_too_large = 0;    // 414, 431
  uint64_t handshakes_failed_version = 0;      // 426 on an upgrade
  uint64_t handshakes_failed_forbidden = 0;    // 403 origin
  uint64_t handshakes_failed_not_found = 0;    // 404
  uint64_t handshakes_failed_timeout = 0;      // 408 / no complete head in time
  uint64_t http_requests = 0;                  // plain HTTP answered (health, 426 ...)
  // Upgrades by time from accept to the 101 (the loop's clock, in whole
  // milliseconds; TLS included), and their sum.
  uint64_t handshake_us_total = 0;
  uint64_t handshake_under_1ms = 0;
  uint64_t handshake_under_10ms = 0;
  uint64_t handshake_under_100ms = 0;
  uint64_t handshake_under_1s = 0;
  uint64_t handshake_over_1s = 0;
  uint64_t connections_shed = 0;               // refused: max_connections, EMFILE
  uint64_t refused_per_ip_connections = 0;     // limits.max_connections_per_ip (503)
  uint64_t refused_per_ip_handshakes = 0;      // limits.handshakes_per_ip_per_second (429)
  uint64_t per_ip_untracked = 0;               // let in uncounted: the per-IP table was full
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t bytes_in = 0;  // message payload bytes
  uint64_t bytes_out = 0;
  uint64_t closes_client = 0;  // peer sent Close or EOF
  uint64_t closes_idle = 0;
  uint64_t closes_ping_timeout = 0;
  uint64_t closes_protocol_error = 0;  // 1002, 1007
  uint64_t closes_too_big = 0;         // 1009
  uint64_t closes_policy = 0;          // 1008 other than slow consumer
  uint64_t closes_slow_consumer = 0;
  uint64_t closes_drain = 0;
  uint64_t closes_shutdown = 0;
  uint64_t closes_error = 0;   // socket errors, resets
  uint64_t closes_upstream = 0;  // a relay's backend closed, failed or was unreachable
  uint64_t closes_buffer_budget = 0;  // limits.worker_buffer_memory exhausted: 1009 or 1008
  uint64_t log_lines_dropped = 0;     // the log queue was full or its destination failed
  uint64_t events_dropped = 0;        // connection-state events not sent: the channel was backed up
  // permessage-deflate: connections, and bytes on each side of zlib.
  uint64_t compression_negotiated = 0;
  uint64_t compression_declined_memory = 0;  // limits.compression_memory was full
  uint64_t inflate_deferrals = 0;            // reads whose rest waited a loop turn (PMD-11)
  uint64_t compressed_bytes_in = 0;          // compressed payload received
  uint64_t inflated_bytes_in = 0;            // what it inflated to
  uint64_t deflated_bytes_out = 0;           // payload sent compressed, before
  uint64_t compressed_bytes_out = 0;         // and after compression
  // Proxy routes: upstream connects by outcome, connect latency, bytes.
  uint64_t proxy_connects_ok = 0;
  uint64_t proxy_connect_failures_refused = 0;  // ECONNREFUSED, no such Unix socket
  uint64_t proxy_connect_failures_timeout = 0;  // timeouts.upstream_connect passed
  uint64_t proxy_connect_failures_dns = 0;      // the name did not resolve
  uint64_t proxy_connect_failures_tls = 0;      // TLS handshake or verification failed
  uint64_t proxy_connect_failures_other = 0;
  uint64_t proxy_upstream_errors = 0;  // a connected upstream reset or failed
  uint64_t proxy_connect_us_total = 0;  // sum of connect times (TLS included), for the mean
  // Connects made, by time taken (count_latency()).
  uint64_t proxy_connect_under_1ms = 0;
  uint64_t proxy_connect_under_10ms = 0;
  uint64_t proxy_connect_under_100ms = 0;
  uint64_t proxy_connect_under_1s = 0;
  uint64_t proxy_connect_over_1s = 0;
  uint64_t proxy_bytes_to_upstream = 0;
  uint64_t proxy_bytes_from_upstream = 0;
  // Exec routes: programs started, failed to start, and how they ended.
  uint64_t exec_spawned = 0;
  uint64_t exec_spawn_failures = 0;  // uv_spawn failed (fork, pipes, the launcher)
  uint64_t exec_exits_ok = 0;        // exit status 0
  uint64_t exec_exits_error = 0;     // non-zero exit status (127: the program could not run)
  uint64_t exec_exits_signal = 0;    // killed by a signal (our termination sequence included)
  uint64_t exec_stderr_lines = 0;    // logged
  uint64_t exec_stderr_suppressed = 0;  // over the per-child rate, not logged
  // Static routes: requests answered (every status), file bytes sent,
  // 304 answers, and answers of 400 and above.
  uint64_t static_requests = 0;
  uint64_t static_bytes_out = 0;
  uint64_t static_not_modified = 0;
  uint64_t static_errors = 0;
  // TLS listeners: handshakes by outcome, resumptions, versions, ciphers
  // (by AEAD) and handshake latency, from the first ClientHello byte.
  uint64_t tls_handshakes_ok = 0;
  uint64_t tls_handshakes_failed_version = 0;       // no common protocol version
  uint64_t tls_handshakes_failed_cipher = 0;        // no common cipher, group or signature
  uint64_t tls_handshakes_failed_alpn = 0;          // ALPN without http/1.1
  uint64_t tls_handshakes_failed_not_tls = 0;       // plain HTTP or garbage on a TLS port
  uint64_t tls_handshakes_failed_client_alert = 0;  // client refused us (untrusted certificate...)
  uint64_t tls_handshakes_failed_timeout = 0;       // handshake_timeout passed
  uint64_t tls_handshakes_failed_closed = 0;        // peer closed mid-handshake
  uint64_t tls_handshakes_failed_other = 0;
  uint64_t tls_resumed_ticket = 0;
  uint64_t tls_resumed_cache = 0;
  uint64_t tls_version_1_2 = 0;
  uint64_t tls_version_1_3 = 0;
  uint64_t tls_cipher_aes_128_gcm = 0;
  uint64_t tls_cipher_aes_256_gcm = 0;
  uint64_t tls_cipher_chacha20_poly1305 = 0;
  uint64_t tls_cipher_other = 0;
  uint64_t tls_handshake_us_total = 0;  // sum of handshake times, for the mean
  uint64_t tls_handshake_under_1ms = 0;
  uint64_t tls_handshake_under_10ms = 0;
  uint64_t tls_handshake_under_100ms = 0;
  uint64_t tls_handshake_over_100ms = 0;
  // Translator routes: the OpenSRF bus traffic, what was dropped and why,
  // and reply latency.
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
  // First replies, by time taken (count_latency()).
  uint64_t translator_reply_under_1ms = 0;
  uint64_t translator_reply_under_10ms = 0;
  uint64_t translator_reply_under_100ms = 0;
  uint64_t translator_reply_under_1s = 0;
  uint64_t translator_reply_over_1s = 0;
  uint64_t translator_replies_orphaned = 0;  // bus messages for a connection that is gone, dropped
  uint64_t translator_bus_reconnects = 0;  // Redis connections re-established after a loss
  uint64_t translator_bus_errors = 0;  // Redis connections lost or refused (AUTH included)
  uint64_t loop_busy_ns = 0;   // event-loop time not idle
  uint64_t loop_total_ns = 0;  // event-loop time elapsed
  // gauges
  uint64_t connections_active = 0;       // every connection, in any state
  uint64_t connections_handshaking = 0;  // of those, before the 101 (or refusal)
  uint64_t connections_closing = 0;      // of those, closing
  uint64_t compression_zlib_bytes = 0;   // held by zlib streams (limits.compression_memory)
  uint64_t compression_buffer_bytes = 0;  // the worker's shared compression buffers
  uint64_t tls_connections_active = 0;
  uint64_t proxy_connections_active = 0;  // upstream connected or connecting
  uint64_t exec_processes_running = 0;    // spawned and not yet reaped
  uint64_t static_transfers_active = 0;   // static file bodies being sent
  uint64_t translator_sessions_cached = 0;  // stateful sessions cached
  uint64_t translator_requests_in_flight = 0;  // requests sent and not yet finally answered
  uint64_t translator_bus_connections = 0;  // Redis connections established
  uint64_t write_queue_bytes = 0;
  uint64_t rss_bytes = 0;
  uint64_t report_time_ms = 0;  // worker's CLOCK_MONOTONIC, ms

  // Adds the counters of `other`; gauges too (callers decide which set).
  // (A new field must also join the table in stats.cpp.)
  void add_counters(const WorkerStats& other);
  void add_gauges(const WorkerStats& other);
};

// Counts one duration in the five buckets named NAME_under_1ms,
// NAME_under_10ms, NAME_under_100ms, NAME_under_1s and NAME_over_1s.
inline void count_latency(uint64_t micros, uint64_t& under_1ms, uint64_t& under_10ms,
                          uint64_t& under_100ms, uint64_t& under_1s, uint64_t& over_1s) {
  if (micros < 1000) {
    ++under_1ms;
  } else if (micros < 10000) {
    ++under_10ms;
  } else if (micros < 100000) {
    ++under_100ms;
  } else if (micros < 1000000) {
    ++under_1s;
  } else {
    ++over_1s;
  }
}

// Appends `stats` as JSON object members ("name": value, ...) without the
// braces, in declaration order. The names are the field names above.
void append_stats_json(std::string& out, const WorkerStats& stats);

// Resident set size of this process in bytes (from /proc/self/statm), 0 on error.
uint64_t current_rss_bytes();

}  // namespace wsgate
