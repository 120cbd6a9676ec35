// The command line of wsgate-loadgen: what to load, how hard, for how long.
#pragma once

#include <cstdint>
#include <string>

namespace wsgate::loadgen {

enum class Mode : uint8_t { Echo, Connect, Idle };

// Where to connect. From --url (ws:// or wss://) or --raw HOST:PORT.
struct Target {
  bool raw = false;  // plain TCP echo, no WebSocket framing
  bool tls = false;  // wss://
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  std::string path = "/";
  std::string host_header;  // the Host header value (host[:port] as given)
};

struct Options {
  std::string url;  // as given (--url), or "tcp://HOST:PORT" for --raw
  Target target;
  Mode mode = Mode::Echo;
  uint32_t connections = 100;
  uint64_t size = 32;
  bool binary = false;
  bool stream = false;  // echoes are a byte stream split into messages anyhow (proxy relays)
  uint32_t depth = 1;
  double duration_s = 10.0;
  uint64_t messages = 0;  // 0: run for duration_s
  double warmup_s = 2.0;
  uint32_t connect_concurrency = 200;
  uint32_t sources = 1;
  std::string ca_file;
  std::string servername;  // SNI and the name verified; defaults to target.host
  bool insecure = false;
  bool resume = false;
  bool reconnect = false;
  std::string cpu_counter;
  bool json = false;
};

std::string_view mode_name(Mode mode);

// Parses argv. Prints help and exits 0 for --help; prints the problem and
// exits 2 on any usage error (unknown option, bad URL, out-of-range value,
// options that do not fit together).
Options parse_command_line(int argc, char** argv);

}  // namespace wsgate::loadgen
