// The immutable configuration snapshot. load_config() builds one from a
// YAML file, validated against the schema table (config/schema.h); a reload
// builds a new snapshot completely or keeps the old one.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace wsgate::config {

using Duration = std::chrono::milliseconds;

// One certificate of a TLS listener. Files are read by the TLS loader
// (shared/tls), which names `certificate_origin` or `key_origin` in errors.
struct CertificateConfig {
  std::string certificate;         // absolute path of the PEM chain (leaf first)
  std::string key;                 // absolute path of the PEM private key
  std::vector<std::string> names;  // SNI names; empty = the certificate's DNS names
  std::string certificate_origin;  // "file:line:col: listen[0].tls.certificates[1].certificate"
  std::string key_origin;          // the same for .key
  std::string names_origin;        // the same for .names
};

// TLS settings of one listener; `enabled()` is false for plain ws://.
struct TlsConfig {
  std::vector<CertificateConfig> certificates;  // the first is the default
  bool tls12 = true;                            // from tls.protocols
  bool tls13 = true;
  std::string ciphers;       // TLS 1.2 cipher list, OpenSSL syntax
  std::string ciphersuites;  // TLS 1.3 suites
  std::string groups;        // key exchange groups
  uint32_t session_cache_size = 20000;  // per worker; 0 = no cache
  Duration session_timeout{3600000};
  bool session_tickets = true;
  bool release_buffers = true;  // SSL_MODE_RELEASE_BUFFERS

  bool enabled() const { return !certificates.empty(); }
};

struct ListenConfig {
  std::string address;  // as written: "127.0.0.1:8080", "[::1]:0", "*:80"
  std::string host;     // numeric host without brackets ("0.0.0.0" for "*")
  uint16_t port = 0;    // 0 = any free port (reported by status)
  bool ipv6 = false;
  int backlog = 511;
  TlsConfig tls;
  int line = 0;  // 1-based line in the config file, for messages
};

// The Prometheus endpoint the supervisor serves (metrics.*); off when
// address is empty.
struct MetricsConfig {
  std::string address;  // as written; "" = off
  std::string host;     // numeric, without brackets
  uint16_t port = 0;
  bool ipv6 = false;
  std::string path = "/metrics";
};

// Where a proxy route connects: a TCP host and port, or a Unix socket.
struct UpstreamAddress {
  enum class Kind : uint8_t { None, Tcp, Unix };
  Kind kind = Kind::None;
  std::string host;   // Tcp: a DNS name or numeric address, without brackets
  uint16_t port = 0;  // Tcp: 1..65535
  std::string path;   // Unix: absolute socket path
  std::string text;   // as written, for logs: "tcp://127.0.0.1:5900", "unix:/run/vnc.sock",
                      // or "host:port" for a token target
};

// TLS from a proxy route to its upstream. The contexts are built by
// tls::UpstreamTls::load(), which names `origin` in its errors.
struct ProxyTlsConfig {
  bool enabled = false;
  bool verify = true;       // verify the upstream certificate chain and name
  std::string ca;           // absolute PEM file of trusted CAs; empty = OpenSSL's default paths
  std::string server_name;  // SNI and the name verified; empty = the upstream's host
                            // (an IP literal: verify the IP, send no SNI)
  std::string origin;       // "file:line:col: routes[0].proxy.tls" for loader errors
};

// The settings of a `relay: proxy` route: each WebSocket is joined to one
// upstream stream connection, websockify-style.
struct ProxyConfig {
  UpstreamAddress upstream;  // fixed target; Kind::None when token_file is used
  std::string token_file;    // absolute path; empty when upstream is used
  // Token -> target, read from token_file by load_config() (start, reload, -t).
  std::map<std::string, UpstreamAddress, std::less<>> tokens;
  ProxyTlsConfig tls;
  uint64_t upstream_message_max = 64 * 1024;  // upstream reads become binary messages this big
};

// Resource limits applied to each exec child (soft and hard), by its
// launcher before the program runs; unset = inherited from the worker.
struct ExecRlimits {
  std::optional<uint64_t> nofile;  // RLIMIT_NOFILE: open files
  std::optional<uint64_t> nproc;   // RLIMIT_NPROC: processes of the child's user
  std::optional<uint64_t> as;      // RLIMIT_AS: address space, bytes
  std::optional<uint64_t> cpu;     // RLIMIT_CPU: CPU seconds
};

// The settings of a `relay: exec` route: one program per WebSocket,
// websocketd-style. Exactly one of `command` and `scripts_dir` is set.
struct ExecConfig {
  enum class Mode : uint8_t { Text, Binary };
  // Program then arguments; command[0] is resolved at load time to an
  // absolute path (searched in the daemon's PATH when it has no '/').
  std::vector<std::string> command;
  // Absolute, symlink-free directory whose executables are mapped from the
  // URL path (websocketd --dir); the route's path is the URL prefix.
  std::string scripts_dir;
  // scripts_dir's executables by URL sub-path ("/name.sh", "/sub/name.sh")
  // -> absolute path, indexed at load time (start, reload, -t) so that no
  // upgrade touches the disk; symlinks out of the directory are left out.
  std::map<std::string, std::string, std::less<>> scripts;
  std::string dir;  // working directory; empty = the program's directory
  // Names copied from the daemon's environment (default PATH and
  // LD_LIBRARY_PATH), then fixed NAME=value pairs; nothing else leaks.
  std::vector<std::string> env_pass{"PATH", "LD_LIBRARY_PATH"};
  std::vector<std::pair<std::string, std::string>> env_set;
  std::string user;   // as written; empty = the worker's user
  std::string group;  // as written; empty = the user's primary group (or the worker's)
  int64_t uid = -1;   // resolved from user at load time; -1 = not changed
  int64_t gid = -1;   // resolved from group (or user's primary group); -1 = not changed
  uint32_t max_processes = 256;  // per worker, this route's children; beyond: 429
  Mode mode = Mode::Text;
  // The termination sequence, as websocketd's: stdin is closed; after
  // kill_after[0] the process group gets SIGINT, kill_after[1] later
  // SIGTERM, kill_after[2] later SIGKILL.
  std::array<Duration, 3> kill_after{Duration{100}, Duration{250}, Duration{500}};
  ExecRlimits rlimits;
};

// A trusted proxy: an address range (CIDR) whose X-Forwarded-For the
// translator believes.
struct AddressRange {
  int family = 0;                 // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // network order; the first 4 for AF_INET
  unsigned prefix = 0;            // significant leading bits
  std::string text;               // as written, for messages
};

// The settings of a `relay: translator` route: the OpenSRF WebSocket
// translator over a Redis bus, as opensrf_core.xml's <gateway> section
// configures osrf-websocket-stdio.
struct TranslatorConfig {
  std::string domain;         // the bus domain, which is also the Redis host name
  uint16_t port = 6379;
  std::string username = "gateway";  // the Redis ACL account (AUTH username password)
  std::string password_file;  // absolute path; empty = no AUTH
  // The password, read from password_file by load_config() (start, reload,
  // -t) with one trailing newline removed, so that workers never read it.
  std::string password;
  std::string router_name = "router";
  uint32_t max_sessions = 128;         // stateful sessions cached per connection
  uint64_t max_message = 8ull << 20;   // a client message over this closes with 1009
  // Method-name prefixes whose params the activity log redacts.
  std::vector<std::string> log_protect;
  // Peers whose X-Forwarded-For header names the client in the activity log.
  std::vector<AddressRange> trusted_proxies;
};

// permessage-deflate of a route (RFC 7692); see routes[].compression.
struct CompressionConfig {
  bool enabled = false;
  bool server_context_takeover = false;  // false: server_no_context_takeover always
  bool client_context_takeover = false;  // false: client_no_context_takeover always
  int server_max_window_bits = 15;       // 9..15
  int level = 6;                         // zlib level 1..9
  int mem_level = 8;                     // zlib memLevel 1..9
  uint64_t min_size = 1024;              // smaller messages are sent uncompressed
};

// The settings of a `relay: static` route: files under `root` answer
// plain GET and HEAD requests whose path starts with the route's path.
struct StaticConfig {
  std::string root;                  // realpath() of the directory, resolved at load time
  std::string index = "index.html";  // file name served for a directory's URL
  bool follow_symlinks = false;      // false: nothing whose realpath leaves root is served
  bool dot_files = false;            // false: a path segment starting with '.' is 404
};

struct RouteConfig {
  std::string path;                       // exact match on the request path; static: a prefix
  std::string relay = "echo";             // "echo", "proxy", "exec", "translator" or "static"
  std::vector<std::string> origins;       // empty = no Origin check
  std::vector<std::string> subprotocols;  // proxy: [binary] unless written
  CompressionConfig compression;
  ProxyConfig proxy;                      // relay "proxy" only
  ExecConfig exec;                        // relay "exec" only
  TranslatorConfig translator;            // relay "translator" only
  StaticConfig static_files;              // relay "static" only
  int line = 0;

  // Static routes serve plain requests under their path; they never take
  // a WebSocket upgrade.
  bool is_static() const { return relay == "static"; }
};

struct LogConfig {
  std::string level = "info";  // trace debug info warn error critical off
  std::string file;            // absolute path, "stderr" or "syslog"
  std::string access_log;      // absolute path, "stderr", "syslog" or "off"
};

struct LimitsConfig {
  uint32_t max_connections = 10000;  // per worker
  Duration handshake_timeout{10000};
  uint64_t max_request_line = 8192;
  uint64_t max_header_bytes = 16384;
  uint32_t max_headers = 64;
  uint64_t max_frame = 1 << 20;
  uint64_t max_message = 1 << 20;
  uint32_t max_fragments = 1024;
  Duration message_timeout{60000};  // time to complete a fragmented message
  uint32_t control_frames_per_second = 50;
  uint32_t control_frames_burst = 100;
  uint64_t write_queue_low = 64 << 10;
  uint64_t write_queue_high = 256 << 10;
  uint64_t write_queue_max = 1 << 20;
  Duration write_queue_timeout{30000};  // above write_queue_high this long: evict (1008)
  // Bytes all of a worker's open connections may buffer (unfinished
  // incoming messages, output and backend queues); 0: no budget.
  uint64_t worker_buffer_memory = 1ull << 30;
  // Per client IP, over all workers (SEC-LIM-11, SEC-LIM-12); 0: off.
  uint32_t max_connections_per_ip = 0;
  uint32_t handshakes_per_ip_per_second = 0;
  // zlib memory of one worker's compressing connections; past it, new
  // connections are offered no compression. 0: no bound.
  uint64_t compression_memory = 256ull << 20;
  bool per_ip_limits() const {
    return max_connections_per_ip != 0 || handshakes_per_ip_per_second != 0;
  }
};

struct TimeoutsConfig {
  Duration idle{120000};
  Duration idle_check_interval{5000};
  Duration max_request_wait{600000};
  Duration drain{300000};
  Duration ping_interval{30000};
  Duration pong_timeout{30000};
  Duration close{5000};
  Duration worker_start{30000};      // reload: wait this long for READY
  Duration stop{10000};              // fast stop: SIGKILL workers after this
  Duration watchdog{30000};          // worker silent this long is replaced
  Duration upstream_connect{10000};  // proxy: connect (and TLS) to the upstream; then 1014
};

// The WebSocket message and frame limits of one route: limits.max_message
// and limits.max_frame, except that a translator route's own max_message
// replaces the first and raises the second to it (OpenSRF messages are
// bigger than most, and browsers send each message as one frame).
struct MessageLimits {
  uint64_t max_message = 0;
  uint64_t max_frame = 0;
};
inline MessageLimits message_limits(const LimitsConfig& limits, const RouteConfig& route) {
  if (route.relay != "translator") return {limits.max_message, limits.max_frame};
  const uint64_t limit = route.translator.max_message;
  return {limit, limits.max_frame > limit ? limits.max_frame : limit};
}

struct Config {
  std::string path;  // absolute path of the file this came from
  std::string dir;   // its directory; relative paths resolve against it

  bool daemon = true;
  std::string pid_file;        // absolute
  std::string control_socket;  // absolute
  std::string user;
  std::string group;
  // Admitted to the control socket besides root (resolved at load time).
  std::vector<int64_t> control_uids;
  std::vector<int64_t> control_gids;
  unsigned workers = 1;  // "auto" resolved to the CPU count
  LogConfig log;
  std::vector<ListenConfig> listen;
  LimitsConfig limits;
  TimeoutsConfig timeouts;
  Duration stats_interval{1000};
  std::vector<RouteConfig> routes;
  std::string health_path = "/healthz";
  MetricsConfig metrics;
  Duration ticket_key_rotation{12 * 3600 * 1000};  // tls.ticket_key_rotation

  bool has_exec_route() const {
    for (const RouteConfig& route : routes) {
      if (route.relay == "exec") return true;
    }
    return false;
  }

  bool any_tls() const {
    for (const ListenConfig& l : listen) {
      if (l.tls.enabled()) return true;
    }
    return false;
  }
};

using ConfigPtr = std::shared_ptr<const Config>;

// Thrown by the loader. what() reads "path:line:col: key.path: what is wrong
// (got X)"; several errors are joined by newlines.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Loads and validates `path`. Throws ConfigError on any problem.
ConfigPtr load_config(const std::string& path);

}  // namespace wsgate::config
