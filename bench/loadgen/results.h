// What a run measured: the counters behind the JSON report and exit status.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "loadgen/histogram.h"

namespace wsgate::loadgen {

// Every way a connection can fail. The names are the report's keys.
enum class ErrorKind : uint8_t {
  ConnectRefused,
  ConnectFailed,  // any other connect error (no ports left, unreachable...)
  Reset,          // read or write error on an open socket
  Eof,            // the server closed TCP without a Close frame
  Timeout,        // connect/handshake over 10 s, drain or Close reply too slow
  BadEcho,        // an echo that is not exactly the message sent
  Protocol,       // the server broke RFC 6455 (frame parser error)
  Handshake,      // a response other than a valid 101
  Tls,            // TLS handshake or record failure
  ServerClose,    // echo mode without --reconnect: the server closed a connection
  Count,
};

constexpr std::array<std::string_view, static_cast<size_t>(ErrorKind::Count)> kErrorNames = {
    "connect_refused", "connect_failed", "reset",     "eof", "timeout",
    "bad_echo",        "protocol",       "handshake", "tls", "server_close",
};

struct Results {
  double duration_s = 0;           // measured window
  uint64_t messages = 0;           // echoes received in the window
  uint64_t handshakes = 0;         // handshakes completed in the window
  uint64_t handshakes_failed = 0;  // the whole run
  uint64_t resumed = 0;            // handshakes in the window that resumed a TLS session
  uint64_t open_at_end = 0;
  std::array<uint64_t, static_cast<size_t>(ErrorKind::Count)> errors{};
  std::map<uint16_t, uint64_t> closes;  // server-initiated Close frames by code
  uint64_t lost = 0;
  uint64_t crossed_close = 0;
  uint64_t reconnects = 0;
  double connect_s = 0;      // echo, idle: time to open (and upgrade) every connection
  bool interrupted = false;  // SIGINT or SIGTERM ended the run early
  double server_cpu_us = 0;  // server CPU over the window, µs (0: no counter)
  bool have_cpu = false;
  Histogram latency;        // µs: echo round trips, or connect-to-101 in connect mode
  std::string first_error;  // the first error's detail, for the human report

  uint64_t error_total() const {
    uint64_t total = 0;
    for (uint64_t count : errors) total += count;
    return total;
  }
};

}  // namespace wsgate::loadgen
