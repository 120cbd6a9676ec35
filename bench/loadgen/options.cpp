// The command line of wsgate-loadgen, on CLI11, and the URL it names.
#include "loadgen/options.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace wsgate::loadgen {

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::Echo:
      return "echo";
    case Mode::Connect:
      return "connect";
    case Mode::Idle:
      return "idle";
  }
  return "echo";
}

namespace {

// Splits "host:port" or "[v6]:port" (port required unless default_port is
// nonzero). Returns false when malformed.
bool parse_authority(std::string_view authority, uint16_t default_port, Target& target) {
  std::string_view host;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      port_text = rest.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return false;
  unsigned port = default_port;
  if (!port_text.empty()) {
    auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size()) return false;
  }
  if (port == 0 || port > 65535) return false;
  target.host = std::string(host);
  target.port = static_cast<uint16_t>(port);
  target.host_header = std::string(authority);
  return true;
}

bool parse_url(std::string_view url, Target& target) {
  uint16_t default_port = 0;
  if (url.starts_with("ws://")) {
    url.remove_prefix(5);
    default_port = 80;
  } else if (url.starts_with("wss://")) {
    url.remove_prefix(6);
    default_port = 443;
    target.tls = true;
  } else {
    return false;
  }
  const size_t slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  target.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  for (char c : target.path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return parse_authority(authority, default_port, target);
}

}  // namespace

Options parse_command_line(int argc, char** argv) {
  Options options;
  std::string raw;
  std::string mode = "echo";
  CLI::App app{
      "wsgate-loadgen: closed-loop WebSocket (or raw TCP) load generator.\n"
      "Exit codes: 0 clean run, 1 errors / lost or bad echoes, 2 usage error.",
      "wsgate-loadgen"};
  auto* url = app.add_option("--url", options.url, "ws://HOST:PORT/PATH or wss://HOST:PORT/PATH");
  auto* raw_option =
      app.add_option("--raw", raw, "HOST:PORT of a plain TCP echo server (no framing)");
  url->excludes(raw_option);
  app.add_option("--mode", mode, "echo | connect | idle")
      ->check(CLI::IsMember({"echo", "connect", "idle"}))
      ->capture_default_str();
  app.add_option("-c,--connections", options.connections, "Connections")
      ->check(CLI::Range(1u, 10000000u))
      ->capture_default_str();
  app.add_option("-s,--size", options.size, "Payload bytes per message")
      ->check(CLI::Range(uint64_t{1}, uint64_t{64} << 20))
      ->capture_default_str();
  app.add_flag("--binary", options.binary, "Binary messages (default: text, ASCII payload)");
  app.add_flag("--stream", options.stream,
               "Echo mode, binary: the echo is a byte stream (a proxy in front of a TCP "
               "echo): binary messages of any size, checked by bytes across message bounds");
  app.add_option("-q,--depth", options.depth, "Messages in flight per connection")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("-d,--duration", options.duration_s, "Measured seconds (float)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("-n,--messages", options.messages,
                 "Echoes to measure instead of a duration (echo mode)");
  app.add_option("-w,--warmup", options.warmup_s, "Warm-up seconds, not measured")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--connect-concurrency", options.connect_concurrency,
                 "Most connects (TCP+TLS+WebSocket handshake) in progress at once")
      ->check(CLI::Range(1u, 10000000u))
      ->capture_default_str();
  app.add_option("--sources", options.sources,
                 "Bind client sockets to 127.0.0.1 .. 127.0.0.N round-robin")
      ->check(CLI::Range(1u, 254u))
      ->capture_default_str();
  app.add_option("--ca", options.ca_file, "wss: trust this CA file and verify the host name");
  app.add_option("--servername", options.servername,
                 "wss: SNI and verified name (default: URL host)");
  app.add_flag("--insecure", options.insecure, "wss: skip certificate verification");
  app.add_flag("--resume", options.resume,
               "connect mode, wss: resume the first connection's TLS session on every connect");
  app.add_flag("--reconnect", options.reconnect,
               "echo mode: reopen connections the server closes and re-send crossed messages");
  app.add_option("--cpu-counter", options.cpu_counter,
                 "File with the server's CPU counter (cpuacct.usage ns or cpu.stat usage_usec)");
  app.add_flag("--json", options.json, "Print one JSON object on stdout");
  try {
    app.parse(argc, argv);
    if (options.url.empty() && raw.empty()) throw CLI::RequiredError("--url or --raw");
    if (!raw.empty()) {
      options.target.raw = true;
      if (!parse_authority(raw, 0, options.target)) {
        throw CLI::ValidationError("--raw", "expected HOST:PORT (got " + raw + ")");
      }
      options.url = "tcp://" + raw;
    } else if (!parse_url(options.url, options.target)) {
      throw CLI::ValidationError(
          "--url", "expected ws://HOST:PORT/PATH or wss://... (got " + options.url + ")");
    }
    options.mode = mode == "connect" ? Mode::Connect : mode == "idle" ? Mode::Idle : Mode::Echo;
    if (options.target.raw && options.mode != Mode::Echo) {
      throw CLI::ValidationError("--raw", "only echo mode runs over raw TCP");
    }
    if (options.messages > 0 && options.mode != Mode::Echo) {
      throw CLI::ValidationError("--messages", "only echo mode counts messages");
    }
    if (options.stream && (options.mode != Mode::Echo || options.target.raw || !options.binary)) {
      throw CLI::ValidationError("--stream", "needs echo mode over WebSocket and --binary");
    }
    if (options.resume && (options.mode != Mode::Connect || !options.target.tls)) {
      throw CLI::ValidationError("--resume", "needs --mode connect and a wss:// URL");
    }
    if (options.reconnect && (options.mode != Mode::Echo || options.target.raw)) {
      throw CLI::ValidationError("--reconnect", "needs echo mode over WebSocket");
    }
    if (!options.target.tls &&
        (!options.ca_file.empty() || options.insecure || !options.servername.empty())) {
      throw CLI::ValidationError("--ca/--insecure/--servername", "need a wss:// URL");
    }
    if (options.insecure && !options.ca_file.empty()) {
      throw CLI::ValidationError("--insecure", "excludes --ca");
    }
    if (options.servername.empty()) options.servername = options.target.host;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    std::exit(code == 0 ? 0 : 2);
  }
  return options;
}

}  // namespace wsgate::loadgen
