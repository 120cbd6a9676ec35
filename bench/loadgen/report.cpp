// JSON and human reports (see report.h).
#include "loadgen/report.h"

#include <cinttypes>
#include <cstdio>
#include <string>

namespace wsgate::loadgen {

namespace {

// A JSON string literal for `text` (quotes, backslashes and control bytes
// escaped; other bytes passed through).
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double per_second(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

// Server CPU per unit of work: per echo, or per handshake in connect mode.
double cpu_per_unit(const Options& options, const Results& results) {
  if (!results.have_cpu) return 0.0;
  const uint64_t units = options.mode == Mode::Connect ? results.handshakes : results.messages;
  return units > 0 ? results.server_cpu_us / static_cast<double>(units) : 0.0;
}

}  // namespace

void print_json(const Options& options, const Results& results) {
  const Histogram& latency = results.latency;
  std::string errors;
  for (size_t i = 0; i < kErrorNames.size(); ++i) {
    if (!errors.empty()) errors += ", ";
    errors += "\"" + std::string(kErrorNames[i]) + "\": " + std::to_string(results.errors[i]);
  }
  std::string closes;
  for (const auto& [code, count] : results.closes) {
    if (!closes.empty()) closes += ", ";
    closes += "\"" + std::to_string(code) + "\": " + std::to_string(count);
  }
  std::printf("{\"mode\": \"%s\", \"url\": %s, \"connections\": %" PRIu32 ", \"size\": %" PRIu64
              ", \"depth\": %" PRIu32 ", \"duration_s\": %.3f, \"messages\": %" PRIu64
              ", \"msgs_per_s\": %.1f, \"bytes_per_s\": %.1f, "
              "\"latency_us\": {\"p50\": %" PRIu64 ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64
              ", \"p999\": %" PRIu64 ", \"max\": %" PRIu64 "}, \"handshakes\": %" PRIu64
              ", \"handshakes_per_s\": %.1f, \"handshakes_failed\": %" PRIu64
              ", \"resumed\": %" PRIu64 ", \"open_at_end\": %" PRIu64
              ", \"errors\": {%s}, \"closes\": {%s}, \"lost\": %" PRIu64
              ", \"crossed_close\": %" PRIu64 ", \"reconnects\": %" PRIu64
              ", \"server_cpu_us_per_msg\": %.4f, \"connect_s\": %.3f, \"interrupted\": %s}\n",
              std::string(mode_name(options.mode)).c_str(), json_string(options.url).c_str(),
              options.connections, options.size, options.depth, results.duration_s,
              results.messages, per_second(results.messages, results.duration_s),
              per_second(results.messages * options.size, results.duration_s),
              latency.percentile(0.50), latency.percentile(0.90), latency.percentile(0.99),
              latency.percentile(0.999), latency.max(), results.handshakes,
              per_second(results.handshakes, results.duration_s), results.handshakes_failed,
              results.resumed, results.open_at_end, errors.c_str(), closes.c_str(), results.lost,
              results.crossed_close, results.reconnects, cpu_per_unit(options, results),
              results.connect_s, results.interrupted ? "true" : "false");
  std::fflush(stdout);
}

void print_human(const Options& options, const Results& results) {
  const Histogram& latency = results.latency;
  std::printf(
      "%s %s: %" PRIu32 " connections, %" PRIu64 " B %s, depth %" PRIu32 ", measured %.2f s\n",
      std::string(mode_name(options.mode)).c_str(), options.url.c_str(), options.connections,
      options.size, options.binary ? "binary" : "text", options.depth, results.duration_s);
  if (results.interrupted) std::printf("  INTERRUPTED (SIGINT/SIGTERM): partial figures\n");
  if (options.mode != Mode::Connect) {
    std::printf("  all connections opened in %.2f s\n", results.connect_s);
  }
  if (options.mode == Mode::Echo) {
    std::printf("  %" PRIu64 " echoes, %.0f msg/s, %.1f MB/s payload each way\n", results.messages,
                per_second(results.messages, results.duration_s),
                per_second(results.messages * options.size, results.duration_s) / 1e6);
  } else {
    std::printf("  %" PRIu64 " handshakes (%.0f/s), %" PRIu64 " failed, %" PRIu64
                " resumed, %" PRIu64 " open at the end\n",
                results.handshakes, per_second(results.handshakes, results.duration_s),
                results.handshakes_failed, results.resumed, results.open_at_end);
  }
  if (options.mode != Mode::Idle) {
    std::printf("  latency us: p50 %" PRIu64 "  p90 %" PRIu64 "  p99 %" PRIu64 "  p99.9 %" PRIu64
                "  max %" PRIu64 "\n",
                latency.percentile(0.50), latency.percentile(0.90), latency.percentile(0.99),
                latency.percentile(0.999), latency.max());
  }
  if (results.have_cpu) {
    std::printf("  server CPU: %.3f us per %s\n", cpu_per_unit(options, results),
                options.mode == Mode::Connect ? "handshake" : "message");
  }
  for (const auto& [code, count] : results.closes) {
    std::printf("  server Close %u: %" PRIu64 "\n", static_cast<unsigned>(code), count);
  }
  if (results.crossed_close > 0 || results.reconnects > 0) {
    std::printf("  crossed a Close: %" PRIu64 ", reconnects: %" PRIu64 "\n", results.crossed_close,
                results.reconnects);
  }
  for (size_t i = 0; i < kErrorNames.size(); ++i) {
    if (results.errors[i] > 0) {
      std::printf("  error %s: %" PRIu64 "\n", std::string(kErrorNames[i]).c_str(),
                  results.errors[i]);
    }
  }
  if (results.lost > 0) std::printf("  lost: %" PRIu64 "\n", results.lost);
  if (!results.first_error.empty()) std::printf("  first error: %s\n", results.first_error.c_str());
  std::fflush(stdout);
}

int exit_status(const Results& results) {
  return results.error_total() == 0 && results.lost == 0 && !results.interrupted ? 0 : 1;
}

}  // namespace wsgate::loadgen
