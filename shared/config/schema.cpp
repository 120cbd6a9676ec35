// The schema table: every configuration key with its type, default, range and
// reload behaviour. Adding a key means adding a row here and reading it in
// loader.cpp; the unit tests fail until the sample config documents it.
#include "config/schema.h"

#include <array>

#include "config/values.h"

namespace wsgate::config {
namespace {

constexpr int64_t kMs = 1;
constexpr int64_t kSecond = 1000 * kMs;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;
constexpr int64_t kGiB = 1024 * kMiB;
constexpr int64_t kTiB = 1024 * kGiB;

using T = ValueType;

// Mozilla's "intermediate" TLS 1.2 suites (guidelines v6.0, SEC-TLS-02).
constexpr const char* kMozillaCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The match_strings of Evergreen's opensrf_core.xml <log_protect>: methods
// whose params carry passwords or patron data.
constexpr const char* kEvergreenLogProtect =
    "[open-ils.auth.authenticate.verify, open-ils.auth.authenticate.complete, "
    "open-ils.auth_proxy.login, open-ils.actor.patron.password_reset.commit, "
    "open-ils.actor.user.password, open-ils.actor.user.username, "
    "open-ils.actor.user.email, open-ils.actor.patron.update, "
    "open-ils.cstore.direct.actor.user.create, "
    "open-ils.cstore.direct.actor.user.update, "
    "open-ils.cstore.direct.actor.user.delete, "
    "open-ils.search.z3950.apply_credentials, open-ils.vandelay.bib.process_spool, "
    "open-ils.vandelay.auth.process_spool, open-ils.acq.lineitem.search.ident, "
    "open-ils.acq.lineitem.search, open-ils.search.z3950.search_class]";

// Rows: key, type, default, min, max, enum values, reloadable, description.
constexpr std::array kSchema{
    SchemaEntry{"daemon", T::Bool, "true", 0, 0, "", false,
                "Detach from the terminal and run in the background (--foreground overrides it)."},
    SchemaEntry{"pid_file", T::Path, "run/wsgated.pid", 0, 0, "", false,
                "Lock file holding the supervisor's pid; relative to the config file's directory."},
    SchemaEntry{"control_socket", T::Path, "run/wsgated.sock", 0, 0, "", false,
                "Unix socket wsgatectl talks to; relative to the config file's directory."},
    SchemaEntry{"user", T::String, "\"\"", 0, 0, "", false,
                "User the processes switch to when started as root; empty keeps the current user."},
    SchemaEntry{
        "group", T::String, "\"\"", 0, 0, "", false,
        "Group the processes switch to when started as root; empty keeps the user's group."},
    SchemaEntry{"control_users", T::StringList, "[]", 0, 0, "", false,
                "Users (names or uids) admitted to the control socket besides root; the "
                "daemon's own user only when listed."},
    SchemaEntry{"control_groups", T::StringList, "[]", 0, 0, "", false,
                "Groups whose members (primary or supplementary) are admitted to the control "
                "socket; the first one owns the socket file."},
    SchemaEntry{"workers", T::WorkerCount, "auto", 1, 256, "", true,
                "Number of worker processes; auto means one per CPU (capped at the maximum)."},

    SchemaEntry{"log", T::Map, "{}", 0, 0, "", true, "Error log and access log settings."},
    SchemaEntry{"log.level", T::Enum, "info", 0, 0, "trace|debug|info|warn|error|critical|off",
                true, "Least severe message written to the error log."},
    SchemaEntry{"log.file", T::Path, "stderr", 0, 0, "stderr|syslog", true,
                "Error log: a file path (relative to the config file's directory), stderr or "
                "syslog."},
    SchemaEntry{"log.access_log", T::Path, "off", 0, 0, "stderr|syslog|off", true,
                "Access log, one line per connection: a file path, stderr, syslog or off."},

    SchemaEntry{"listen", T::List, "", 1, 256, "", true,
                "Sockets to accept connections on; at least one, each address at most once."},
    SchemaEntry{"listen[].address", T::Address, "", 0, 0, "", true,
                "Numeric host:port (127.0.0.1:8080, [::1]:8080, *:8080 for every IPv4 address); "
                "port 0 picks any free port; names are not resolved."},
    SchemaEntry{"listen[].backlog", T::Int, "511", 1, 65535, "", true,
                "Length of the kernel's queue of connections not yet accepted."},
    SchemaEntry{"listen[].tls", T::Map, "{}", 0, 0, "", true,
                "TLS for this listener (wss://), on when certificates are listed; without it the "
                "listener speaks plain ws://."},
    SchemaEntry{"listen[].tls.certificates", T::List, "[]", 0, 64, "", true,
                "Certificate and key pairs; SNI picks one by server name (exact, then wildcard), "
                "the first is the default."},
    SchemaEntry{"listen[].tls.certificates[].certificate", T::Path, "", 0, 0, "", true,
                "PEM file with the certificate, followed by its intermediate CA certificates."},
    SchemaEntry{"listen[].tls.certificates[].key", T::Path, "", 0, 0, "", true,
                "PEM file with the certificate's unencrypted private key (ECDSA or RSA)."},
    SchemaEntry{"listen[].tls.certificates[].names", T::StringList, "[]", 0, 0, "", true,
                "Server names the certificate answers, exact or *.example.com; empty takes the "
                "certificate's DNS names."},
    SchemaEntry{"listen[].tls.protocols", T::StringList, "[TLSv1.2, TLSv1.3]", 0, 0, "", true,
                "TLS versions accepted: TLSv1.2, TLSv1.3 or both (older ones are never offered)."},
    SchemaEntry{"listen[].tls.ciphers", T::String, kMozillaCiphers, 0, 0, "", true,
                "TLS 1.2 cipher list in OpenSSL syntax (Mozilla intermediate by default)."},
    SchemaEntry{"listen[].tls.ciphersuites", T::String,
                "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", 0, 0,
                "", true, "TLS 1.3 cipher suites in OpenSSL syntax."},
    SchemaEntry{"listen[].tls.groups", T::String, "X25519:P-256:P-384", 0, 0, "", true,
                "Key exchange groups, most preferred first."},
    SchemaEntry{"listen[].tls.session_cache_size", T::Int, "20000", 0, 10000000, "", true,
                "Sessions each worker caches for resumption by session ID; 0 turns the cache off."},
    SchemaEntry{"listen[].tls.session_timeout", T::Duration, "1h", kSecond, 7 * 24 * kHour, "",
                true, "How long a TLS session can be resumed, from the cache or a ticket."},
    SchemaEntry{"listen[].tls.session_tickets", T::Bool, "true", 0, 0, "", true,
                "Issue session tickets, sealed with keys every worker shares; false also turns "
                "TLS 1.3 resumption off."},
    SchemaEntry{"listen[].tls.release_buffers", T::Bool, "true", 0, 0, "", true,
                "Free the TLS buffers of idle connections (SSL_MODE_RELEASE_BUFFERS): less memory "
                "per connection, more allocations."},

    SchemaEntry{"limits", T::Map, "{}", 0, 0, "", true,
                "Per-connection and per-worker limits; sizes use 1024-based units."},
    SchemaEntry{"limits.max_connections", T::Int, "10000", 1, 1000000, "", true,
                "Connections one worker holds at once; further ones are accepted and closed."},
    SchemaEntry{"limits.handshake_timeout", T::Duration, "10s", 100 * kMs, 10 * kMinute, "", true,
                "Time a client has to finish the TLS handshake and send its HTTP request head."},
    SchemaEntry{"limits.max_request_line", T::Size, "8KiB", 256, kMiB, "", true,
                "Longest HTTP request line accepted (answered with 414 beyond it)."},
    SchemaEntry{"limits.max_header_bytes", T::Size, "16KiB", kKiB, kMiB, "", true,
                "Largest HTTP request head accepted, request line included (431 beyond it)."},
    SchemaEntry{"limits.max_headers", T::Int, "64", 8, 1024, "", true,
                "Most header fields in one HTTP request head (431 beyond it)."},
    SchemaEntry{"limits.max_frame", T::Size, "1MiB", 125, kGiB, "", true,
                "Largest payload of a single WebSocket frame from a client (closed with 1009)."},
    SchemaEntry{"limits.max_message", T::Size, "1MiB", 125, kGiB, "", true,
                "Largest WebSocket message from a client, all its fragments together (1009)."},
    SchemaEntry{"limits.max_fragments", T::Int, "1024", 1, 1000000, "", true,
                "Most frames one fragmented message may be split into."},
    SchemaEntry{"limits.message_timeout", T::Duration, "60s", kSecond, kHour, "", true,
                "Time a client has to send a whole message (every fragment, every byte) from its "
                "first byte."},
    SchemaEntry{"limits.control_frames_per_second", T::Int, "50", 1, 100000, "", true,
                "Sustained rate of ping, pong and close frames a client may send."},
    SchemaEntry{"limits.control_frames_burst", T::Int, "100", 1, 100000, "", true,
                "Control frames a client may send in a burst above the sustained rate."},
    SchemaEntry{"limits.write_queue_low", T::Size, "64KiB", kKiB, kGiB, "", true,
                "Queued output below which reading from the source resumes; less than high."},
    SchemaEntry{"limits.write_queue_high", T::Size, "256KiB", kKiB, kGiB, "", true,
                "Queued output above which reading from the source pauses (backpressure)."},
    SchemaEntry{"limits.write_queue_max", T::Size, "1MiB", kKiB, kGiB, "", true,
                "Queued output at which a slow consumer is closed; at least high."},
    SchemaEntry{"limits.write_queue_timeout", T::Duration, "30s", 100 * kMs, kHour, "", true,
                "A client whose queued output stays above high this long is closed (1008)."},
    SchemaEntry{"limits.worker_buffer_memory", T::Size, "1GiB", 0, kTiB, "", true,
                "Bytes all connections of one worker may buffer together, past which the largest "
                "holders are closed (1009 or 1008); 0 is off."},
    SchemaEntry{"limits.max_connections_per_ip", T::Int, "0", 0, 1000000, "", true,
                "Connections one client IP address may hold over all workers, past which it gets "
                "503; 0 is off."},
    SchemaEntry{"limits.handshakes_per_ip_per_second", T::Int, "0", 0, 1000000, "", true,
                "Connections one client IP address may open per second over all workers, past "
                "which it gets 429; 0 is off."},
    SchemaEntry{"limits.compression_memory", T::Size, "256MiB", 0, kTiB, "", true,
                "zlib memory one worker's compressing connections may hold, past which new "
                "connections are offered no compression; 0 is no bound."},

    SchemaEntry{"timeouts", T::Map, "{}", 0, 0, "", true, "Timers of connections and processes."},
    SchemaEntry{"timeouts.idle", T::Duration, "120s", 0, 24 * kHour, "", true,
                "A connection with no message in either direction this long is closed; 0 is off."},
    SchemaEntry{"timeouts.idle_check_interval", T::Duration, "5s", 100 * kMs, kHour, "", true,
                "How often the idle list is walked, and the spacing of closes while draining."},
    SchemaEntry{"timeouts.max_request_wait", T::Duration, "600s", kSecond, 24 * kHour, "", true,
                "While draining, longest wait for a connection's requests in flight."},
    SchemaEntry{"timeouts.drain", T::Duration, "300s", kSecond, 24 * kHour, "", true,
                "Longest drain of an old worker after a reload; what remains is closed with 1001."},
    SchemaEntry{"timeouts.ping_interval", T::Duration, "30s", 0, kHour, "", true,
                "Quiet time after which the server pings a client; 0 is off."},
    SchemaEntry{"timeouts.pong_timeout", T::Duration, "30s", 0, kHour, "", true,
                "Time a client has to answer a ping; above 0 whenever pings are on."},
    SchemaEntry{"timeouts.close", T::Duration, "5s", 100 * kMs, 10 * kMinute, "", true,
                "Time the peer has to answer a close frame before the socket is closed."},
    SchemaEntry{"timeouts.worker_start", T::Duration, "30s", kSecond, 10 * kMinute, "", true,
                "Time new workers have to report READY before a reload is rolled back."},
    SchemaEntry{"timeouts.stop", T::Duration, "10s", 100 * kMs, 10 * kMinute, "", true,
                "Time workers have to exit on a fast stop before they are killed."},
    SchemaEntry{"timeouts.watchdog", T::Duration, "30s", 0, kHour, "", true,
                "A worker silent this long is replaced; 0 is off, otherwise above stats_interval."},
    SchemaEntry{"timeouts.upstream_connect", T::Duration, "10s", 100 * kMs, 10 * kMinute, "", true,
                "Time a proxy route has to connect (and finish TLS with) its upstream; the client "
                "is closed with 1014 after it."},

    SchemaEntry{"stats_interval", T::Duration, "1s", 100 * kMs, kHour, "", true,
                "How often workers send their counters to the supervisor."},
    SchemaEntry{"health_path", T::String, "/healthz", 0, 0, "", true,
                "Request path answered 200 by every worker for health checks; \"\" is off."},

    SchemaEntry{"metrics", T::Map, "{}", 0, 0, "", true,
                "Prometheus metrics, served by the supervisor on a listener of their own."},
    SchemaEntry{"metrics.address", T::String, "\"\"", 0, 0, "", false,
                "Numeric host:port of the metrics listener (127.0.0.1:9464), as for listen "
                "addresses; \"\" is off."},
    SchemaEntry{"metrics.path", T::String, "/metrics", 0, 0, "", true,
                "Request path of the metrics; every other path is answered 404."},

    SchemaEntry{"tls", T::Map, "{}", 0, 0, "", true, "Settings shared by every TLS listener."},
    SchemaEntry{"tls.ticket_key_rotation", T::Duration, "12h", kSecond, 7 * 24 * kHour, "", true,
                "How often the supervisor makes a new session ticket key; the previous key still "
                "opens (and renews) tickets for one more period."},

    SchemaEntry{"routes", T::List, "[]", 0, 10000, "", true,
                "WebSocket endpoints, matched on the exact request path, and static file "
                "mounts, matched on a path prefix."},
    SchemaEntry{"routes[].path", T::String, "", 0, 0, "", true,
                "Request path of the route, starting with /; unique among WebSocket routes, and "
                "among static routes, where it is a prefix ending with /."},
    SchemaEntry{"routes[].relay", T::Enum, "echo", 0, 0,
                "echo|proxy|exec|translator|static|console", true,
                "What the route does: echo, proxy (a TCP/Unix upstream), exec (a program), "
                "translator (OpenSRF), static (files), console (the live console, read only)."},
    SchemaEntry{"routes[].origins", T::StringList, "[]", 0, 0, "", true,
                "Allowed Origin values (null or scheme://host[:port]); empty allows any."},
    SchemaEntry{"routes[].subprotocols", T::StringList, "[]", 0, 0, "", true,
                "Subprotocols the route offers, in order of preference (RFC 7230 tokens); a proxy "
                "route that does not write it offers [binary], as websockify and noVNC expect."},
    SchemaEntry{"routes[].compression", T::Map, "{}", 0, 0, "", true,
                "permessage-deflate (RFC 7692) for the route's messages; off unless enabled."},
    SchemaEntry{"routes[].compression.enabled", T::Bool, "false", 0, 0, "", true,
                "Accept a client's permessage-deflate offer (browsers, Node ws and Python "
                "websockets make one)."},
    SchemaEntry{"routes[].compression.server_context_takeover", T::Bool, "false", 0, 0, "", true,
                "Let the server's deflate window carry over between messages (better ratio, about "
                "256 KiB per connection); false answers server_no_context_takeover."},
    SchemaEntry{"routes[].compression.client_context_takeover", T::Bool, "false", 0, 0, "", true,
                "Let the client keep its window between messages (about 40 KiB per connection "
                "here); false answers client_no_context_takeover."},
    SchemaEntry{"routes[].compression.server_max_window_bits", T::Int, "15", 9, 15, "", true,
                "Largest deflate window the server uses, as a power of two; below 15 it is "
                "answered as server_max_window_bits."},
    SchemaEntry{"routes[].compression.level", T::Int, "6", 1, 9, "", true,
                "zlib compression level: 1 is fastest, 9 smallest."},
    SchemaEntry{"routes[].compression.mem_level", T::Int, "8", 1, 9, "", true,
                "zlib memLevel of the deflater: memory 2^(mem_level+9) bytes for its hash."},
    SchemaEntry{"routes[].compression.min_size", T::Size, "1KiB", 0, kGiB, "", true,
                "Messages smaller than this are sent uncompressed (RSV1 off)."},
    SchemaEntry{"routes[].proxy", T::Map, "{}", 0, 0, "", true,
                "Upstream of a relay: proxy route (only for those): set exactly one of upstream "
                "and token_file."},
    SchemaEntry{"routes[].proxy.upstream", T::String, "\"\"", 0, 0, "", true,
                "Fixed upstream: tcp://HOST:PORT (HOST a name, IPv4, or [IPv6]) or unix:PATH "
                "(relative to the config file's directory)."},
    SchemaEntry{"routes[].proxy.token_file", T::Path, "\"\"", 0, 0, "", true,
                "websockify token file of 'token: host:port' (or unix:/path) lines, read at start "
                "and on reload; the client names its token as ?token=."},
    SchemaEntry{"routes[].proxy.upstream_message_max", T::Size, "64KiB", kKiB, 16 * kMiB, "", true,
                "Upstream reads are split into binary messages of at most this size."},
    SchemaEntry{"routes[].proxy.tls", T::Map, "{}", 0, 0, "", true,
                "TLS to the upstream; the other keys may be set only while enabled is true."},
    SchemaEntry{"routes[].proxy.tls.enabled", T::Bool, "false", 0, 0, "", true,
                "Speak TLS (1.2 or later) to the upstream."},
    SchemaEntry{"routes[].proxy.tls.verify", T::Bool, "true", 0, 0, "", true,
                "Verify the upstream's certificate chain and name; false accepts any certificate."},
    SchemaEntry{"routes[].proxy.tls.ca", T::Path, "\"\"", 0, 0, "", true,
                "PEM file of the CA certificates trusted for the upstream; \"\" uses OpenSSL's "
                "default verify paths."},
    SchemaEntry{"routes[].proxy.tls.server_name", T::String, "\"\"", 0, 0, "", true,
                "Name sent as SNI and verified; \"\" takes the upstream's host (an IP is verified "
                "without SNI); needed by a unix: upstream while verify is true."},
    SchemaEntry{"routes[].exec", T::Map, "{}", 0, 0, "", true,
                "Program of a relay: exec route (only for those), one process per WebSocket: set "
                "exactly one of command and scripts_dir."},
    SchemaEntry{"routes[].exec.command", T::StringList, "[]", 0, 0, "", true,
                "Program then arguments; a program without / is looked up in PATH when the "
                "configuration is loaded."},
    SchemaEntry{"routes[].exec.scripts_dir", T::Path, "\"\"", 0, 0, "", true,
                "Directory of programs named by the URL: the route path is a prefix and "
                "PATH/NAME runs scripts_dir/NAME, websocketd --dir style."},
    SchemaEntry{"routes[].exec.dir", T::Path, "\"\"", 0, 0, "", true,
                "Working directory of the program; \"\" is the directory the program is in."},
    SchemaEntry{"routes[].exec.env", T::Map, "{}", 0, 0, "", true,
                "Environment of the program besides the CGI variables set for each connection."},
    SchemaEntry{"routes[].exec.env.pass", T::StringList, "[PATH, LD_LIBRARY_PATH]", 0, 0, "", true,
                "Variables copied from wsgated's environment (when set there); nothing else of it "
                "is passed."},
    SchemaEntry{"routes[].exec.env.set", T::StringMap, "{}", 0, 0, "", true,
                "Variables set to fixed values, NAME: value; a name also passed takes this value."},
    SchemaEntry{"routes[].exec.user", T::String, "\"\"", 0, 0, "", true,
                "User (name or uid) the program runs as; \"\" keeps the worker's user."},
    SchemaEntry{"routes[].exec.group", T::String, "\"\"", 0, 0, "", true,
                "Group (name or gid) the program runs as; \"\" takes the primary group of user, "
                "or keeps the worker's group."},
    SchemaEntry{"routes[].exec.max_processes", T::Int, "256", 1, 100000, "", true,
                "Programs of this route one worker runs at once; further upgrades are answered "
                "429."},
    SchemaEntry{"routes[].exec.mode", T::Enum, "text", 0, 0, "text|binary", true,
                "text relays lines as text messages; binary relays bytes as binary messages."},
    SchemaEntry{"routes[].exec.kill_after", T::DurationList, "[100ms, 250ms, 500ms]", kMs, kHour,
                "", true,
                "Once the client has gone and stdin is closed: the waits before SIGINT, then "
                "SIGTERM, then SIGKILL."},
    SchemaEntry{"routes[].exec.rlimits", T::Map, "{}", 0, 0, "", true,
                "Resource limits of the program (soft and hard); inherit keeps the worker's."},
    SchemaEntry{"routes[].exec.rlimits.nofile", T::Int, "inherit", 3, 1048576, "inherit", true,
                "RLIMIT_NOFILE: the most files the program may have open."},
    SchemaEntry{"routes[].exec.rlimits.nproc", T::Int, "inherit", 1, 4194304, "inherit", true,
                "RLIMIT_NPROC: the most processes its user may have, counted over the whole "
                "system."},
    SchemaEntry{"routes[].exec.rlimits.as", T::Size, "inherit", 16 * kMiB, kTiB, "inherit", true,
                "RLIMIT_AS: the largest address space of each of its processes."},
    SchemaEntry{"routes[].exec.rlimits.cpu", T::Duration, "inherit", kSecond, 7 * 24 * kHour,
                "inherit", true,
                "RLIMIT_CPU: CPU time each of its processes may use, in whole seconds (rounded "
                "up)."},
    SchemaEntry{"routes[].translator", T::Map, "{}", 0, 0, "", true,
                "Bus of a relay: translator route (only for those), the OpenSRF WebSocket "
                "translator over Redis: domain is required."},
    SchemaEntry{"routes[].translator.domain", T::String, "\"\"", 0, 0, "", true,
                "OpenSRF bus domain, which is also the Redis host (a DNS name or IPv4 "
                "address); required by translator routes."},
    SchemaEntry{"routes[].translator.port", T::Int, "6379", 1, 65535, "", true,
                "TCP port of the Redis server of the domain."},
    SchemaEntry{"routes[].translator.username", T::String, "gateway", 0, 0, "", true,
                "Redis ACL user of the gateway (AUTH username password), also a field of its bus "
                "address; no ':'."},
    SchemaEntry{"routes[].translator.password_file", T::Path, "\"\"", 0, 0, "", true,
                "File holding the Redis password (one trailing newline dropped), read at start and "
                "on reload; \"\" sends no AUTH."},
    SchemaEntry{"routes[].translator.router_name", T::String, "router", 0, 0, "", true,
                "Name of the OpenSRF router requests without a session go to; no ':'."},
    SchemaEntry{"routes[].translator.max_sessions", T::Int, "128", 1, 100000, "", true,
                "Stateful sessions (CONNECTed threads) each connection may keep at once."},
    SchemaEntry{"routes[].translator.max_message", T::Size, "8MiB", kKiB, 64 * kMiB, "", true,
                "Largest message from a client this route takes; a larger one closes the "
                "connection with 1009."},
    SchemaEntry{"routes[].translator.log_protect", T::StringList, kEvergreenLogProtect, 0, 0, "",
                true,
                "Method name prefixes whose params the activity log redacts (Evergreen's "
                "opensrf_core.xml list by default); [] redacts none."},
    SchemaEntry{"routes[].translator.trusted_proxies", T::StringList, "[]", 0, 0, "", true,
                "Peers (IP addresses or CIDR ranges) whose X-Forwarded-For names the client in "
                "the activity log."},
    SchemaEntry{"routes[].static", T::Map, "{}", 0, 0, "", true,
                "Files of a relay: static route (only for those): root is required."},
    SchemaEntry{"routes[].static.root", T::Path, "\"\"", 0, 0, "", true,
                "Directory whose files the route serves: PATH/NAME is root/NAME; it must exist "
                "and is kept with its symlinks resolved."},
    SchemaEntry{"routes[].static.index", T::String, "index.html", 0, 0, "", true,
                "File served for a URL that names a directory (ending with /); a directory "
                "without it is 403."},
    SchemaEntry{"routes[].static.follow_symlinks", T::Bool, "false", 0, 0, "", true,
                "Serve files whose symlinks lead out of root; false answers them 403."},
    SchemaEntry{"routes[].static.dot_files", T::Bool, "false", 0, 0, "", true,
                "Serve paths with a segment that starts with a dot (.git, .env); false answers "
                "them 404."},
};

}  // namespace

std::span<const SchemaEntry> schema() {
  return kSchema;
}

const SchemaEntry* find_schema(std::string_view key) {
  for (const SchemaEntry& entry : kSchema) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

std::string_view type_name(ValueType type) {
  switch (type) {
    case T::Bool:
      return "bool";
    case T::Int:
      return "int";
    case T::Duration:
      return "duration";
    case T::Size:
      return "size";
    case T::String:
      return "string";
    case T::Path:
      return "path";
    case T::Enum:
      return "enum";
    case T::StringList:
      return "string-list";
    case T::DurationList:
      return "duration-list";
    case T::StringMap:
      return "string-map";
    case T::WorkerCount:
      return "worker-count";
    case T::Address:
      return "address";
    case T::List:
      return "list";
    case T::Map:
      return "map";
  }
  return "?";
}

bool is_scalar_type(ValueType type) {
  return type != T::StringList && type != T::DurationList && type != T::StringMap &&
         type != T::List && type != T::Map;
}

std::string child_key(const SchemaEntry* parent, std::string_view name) {
  if (parent == nullptr) return std::string(name);
  std::string key(parent->key);
  key += parent->type == T::List ? "[]." : ".";
  key += name;
  return key;
}

std::string range_text(const SchemaEntry& entry) {
  // The words a number takes instead of a value, as "|inherit".
  const std::string words = entry.enum_values.empty() ? "" : "|" + std::string(entry.enum_values);
  switch (entry.type) {
    case T::Int:
    case T::WorkerCount:
      return std::to_string(entry.min) + ".." + std::to_string(entry.max) + words;
    case T::Duration:
    case T::DurationList:
      return format_duration(config::Duration(entry.min)) + ".." +
             format_duration(config::Duration(entry.max)) + words;
    case T::Size:
      return format_size(static_cast<uint64_t>(entry.min)) + ".." +
             format_size(static_cast<uint64_t>(entry.max)) + words;
    case T::List:
      return std::to_string(entry.min) + ".." + std::to_string(entry.max) + " items";
    case T::Enum:
      return std::string(entry.enum_values);
    case T::Path:
      return entry.enum_values.empty() ? "" : "path|" + std::string(entry.enum_values);
    default:
      return "";
  }
}

}  // namespace wsgate::config
