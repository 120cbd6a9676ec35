// load_config(): reads the YAML file, walks it against the schema, builds an
// immutable Config and checks the rules that span keys; all errors at once.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "config/config.h"
#include "config/cross_checks.h"
#include "config/document.h"
#include "config/exec_settings.h"
#include "config/file_reader.h"
#include "config/proxy_settings.h"
#include "config/section_reader.h"
#include "config/static_settings.h"
#include "config/system_lookup.h"
#include "config/tls_settings.h"
#include "config/translator_settings.h"
#include "config/upstream_address.h"
#include "config/values.h"

namespace wsgate::config {
namespace {

// The whole file, or ConfigError "path: cannot read: <reason>".
std::string read_file(const std::string& path) {
  std::string content;
  if (std::string why = read_whole_file(path, content); !why.empty()) {
    throw ConfigError(path + ": cannot read: " + why);
  }
  return content;
}

// Line `index` (0-based) of `content`, for showing where a syntax error is.
std::string line_at(const std::string& content, int index) {
  size_t begin = 0;
  for (int line = 0; line < index; ++line) {
    begin = content.find('\n', begin);
    if (begin == std::string::npos) return "";
    ++begin;
  }
  size_t end = content.find('\n', begin);
  std::string line = content.substr(begin, end == std::string::npos ? end : end - begin);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The first document of the file, or a Null node when it is empty. Syntax
// errors and extra documents are added to `errors`.
YAML::Node parse_yaml(const std::string& content, Diagnostics& errors) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(content);
  } catch (const YAML::Exception& e) {
    std::string line = e.mark.line >= 0 ? line_at(content, e.mark.line) : "";
    errors.add(location_of(e.mark), "(syntax)", e.msg,
               line.empty() ? "invalid YAML" : got_text(line));
    return {};
  }
  if (documents.size() > 1) {
    errors.add(location_of(documents[1].Mark()), "(document)",
               "must be the only YAML document in the file (remove the '---' line)",
               std::to_string(documents.size()) + " documents");
  }
  return documents.empty() ? YAML::Node() : documents.front();
}

// Throws std::logic_error when the loader forgot to read a schema key.
void require_all_read(const SectionReader& reader) {
  std::vector<std::string_view> unread = reader.unread_keys();
  if (!unread.empty()) {
    throw std::logic_error("config: loader does not read schema key " + std::string(unread[0]));
  }
}

// Every number has been checked against its schema range, which fits the
// Config field it goes into.
template <typename T>
T narrow(int64_t value) {
  return static_cast<T>(value);
}

void read_top_level(SectionReader& r, Config& config) {
  config.daemon = r.boolean("daemon");
  config.pid_file = r.path("pid_file");
  config.control_socket = r.path("control_socket");
  config.user = r.text("user");
  config.group = r.text("group");
  for (const ListElement& name : r.strings("control_users")) {
    Parsed<Account> account = lookup_user(name.text);
    if (!account) {
      r.error(name, "control_users", account.error, got_text(name.text));
    } else {
      config.control_uids.push_back(account.value->uid);
    }
  }
  for (const ListElement& name : r.strings("control_groups")) {
    Parsed<int64_t> gid = lookup_group(name.text);
    if (!gid) {
      r.error(name, "control_groups", gid.error, got_text(name.text));
    } else {
      config.control_gids.push_back(*gid.value);
    }
  }
  config.workers = narrow<unsigned>(r.number("workers"));
  config.log.level = r.text("log.level");
  config.log.file = r.path("log.file");
  config.log.access_log = r.path("log.access_log");
  config.stats_interval = Duration(r.number("stats_interval"));
  config.health_path = r.text("health_path");
  // "" (the default) is off; anything else must be a listen address.
  if (const std::string text = r.text("metrics.address"); !text.empty()) {
    Parsed<ListenAddress> address = parse_address(text);
    if (address.value) {
      config.metrics.address = address.value->text;
      config.metrics.host = address.value->host;
      config.metrics.port = address.value->port;
      config.metrics.ipv6 = address.value->ipv6;
    } else {
      r.error("metrics.address", address.error, got_text(text));
    }
  }
  config.metrics.path = r.text("metrics.path");
  if (config.metrics.path.empty() || config.metrics.path.front() != '/') {
    r.error("metrics.path", "must start with /", got_text(config.metrics.path));
  }
  config.ticket_key_rotation = Duration(r.number("tls.ticket_key_rotation"));
  if (!config.health_path.empty() && config.health_path.front() != '/') {
    r.error("health_path", "must start with / (or be \"\" to turn health checks off)",
            got_text(config.health_path));
  }
  constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;
  if (config.control_socket.size() > kMaxSocketPath) {
    r.error("control_socket",
            "is " + std::to_string(config.control_socket.size()) +
                " bytes long once resolved; a Unix socket path is at most " +
                std::to_string(kMaxSocketPath),
            got_text(config.control_socket));
  }
}

void read_limits(SectionReader& r, LimitsConfig& limits) {
  limits.max_connections = narrow<uint32_t>(r.number("limits.max_connections"));
  limits.handshake_timeout = Duration(r.number("limits.handshake_timeout"));
  limits.max_request_line = narrow<uint64_t>(r.number("limits.max_request_line"));
  limits.max_header_bytes = narrow<uint64_t>(r.number("limits.max_header_bytes"));
  limits.max_headers = narrow<uint32_t>(r.number("limits.max_headers"));
  limits.max_frame = narrow<uint64_t>(r.number("limits.max_frame"));
  limits.max_message = narrow<uint64_t>(r.number("limits.max_message"));
  limits.max_fragments = narrow<uint32_t>(r.number("limits.max_fragments"));
  limits.message_timeout = Duration(r.number("limits.message_timeout"));
  limits.control_frames_per_second = narrow<uint32_t>(r.number("limits.control_frames_per_second"));
  limits.control_frames_burst = narrow<uint32_t>(r.number("limits.control_frames_burst"));
  limits.write_queue_low = narrow<uint64_t>(r.number("limits.write_queue_low"));
  limits.write_queue_high = narrow<uint64_t>(r.number("limits.write_queue_high"));
  limits.write_queue_max = narrow<uint64_t>(r.number("limits.write_queue_max"));
  limits.worker_buffer_memory = narrow<uint64_t>(r.number("limits.worker_buffer_memory"));
  limits.compression_memory = narrow<uint64_t>(r.number("limits.compression_memory"));
  limits.max_connections_per_ip = narrow<uint32_t>(r.number("limits.max_connections_per_ip"));
  limits.handshakes_per_ip_per_second =
      narrow<uint32_t>(r.number("limits.handshakes_per_ip_per_second"));
  limits.write_queue_timeout = Duration(r.number("limits.write_queue_timeout"));
}

void read_timeouts(SectionReader& r, TimeoutsConfig& timeouts) {
  timeouts.idle = Duration(r.number("timeouts.idle"));
  timeouts.idle_check_interval = Duration(r.number("timeouts.idle_check_interval"));
  timeouts.max_request_wait = Duration(r.number("timeouts.max_request_wait"));
  timeouts.drain = Duration(r.number("timeouts.drain"));
  timeouts.ping_interval = Duration(r.number("timeouts.ping_interval"));
  timeouts.pong_timeout = Duration(r.number("timeouts.pong_timeout"));
  timeouts.close = Duration(r.number("timeouts.close"));
  timeouts.worker_start = Duration(r.number("timeouts.worker_start"));
  timeouts.stop = Duration(r.number("timeouts.stop"));
  timeouts.watchdog = Duration(r.number("timeouts.watchdog"));
  timeouts.upstream_connect = Duration(r.number("timeouts.upstream_connect"));
}

// True for a server name a certificate may answer: DNS labels of letters,
// digits and hyphens, optionally behind one leading "*." (a wildcard label).
bool is_server_name(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  return is_host_name(name, false);
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

CertificateConfig read_certificate_item(SectionReader& r) {
  CertificateConfig cert;
  cert.certificate = r.path("listen[].tls.certificates[].certificate");
  cert.key = r.path("listen[].tls.certificates[].key");
  for (ListElement& name : r.strings("listen[].tls.certificates[].names")) {
    if (!is_server_name(name.text)) {
      r.error(name, "listen[].tls.certificates[].names",
              "must be a DNS name (letters, digits, hyphens, dots), optionally starting with *.",
              got_text(name.text));
    }
    cert.names.push_back(lower(std::move(name.text)));
  }
  cert.certificate_origin = r.origin("listen[].tls.certificates[].certificate");
  cert.key_origin = r.origin("listen[].tls.certificates[].key");
  cert.names_origin = r.origin("listen[].tls.certificates[].names");
  return cert;
}

// Reads listen[].tls. The cipher, suite and group strings are checked by
// OpenSSL itself here, so a typo is reported at its line, not at startup.
void read_tls(SectionReader& r, const Section& item, Diagnostics& errors, const std::string& dir,
              TlsConfig& tls) {
  for (const Section& cert_item : r.items("listen[].tls.certificates")) {
    SectionReader cert_reader(cert_item, errors, dir);
    tls.certificates.push_back(read_certificate_item(cert_reader));
    require_all_read(cert_reader);
  }
  tls.tls12 = tls.tls13 = false;
  std::vector<ListElement> protocols = r.strings("listen[].tls.protocols");
  for (const ListElement& protocol : protocols) {
    if (protocol.text == "TLSv1.2") {
      tls.tls12 = true;
    } else if (protocol.text == "TLSv1.3") {
      tls.tls13 = true;
    } else {
      r.error(protocol, "listen[].tls.protocols",
              protocol.text.starts_with("TLSv1") || protocol.text.starts_with("SSL")
                  ? "is too old: only TLSv1.2 and TLSv1.3 are accepted"
                  : "must be TLSv1.2 or TLSv1.3",
              got_text(protocol.text));
    }
  }
  if (protocols.empty()) {
    r.error("listen[].tls.protocols", "must name at least one of TLSv1.2, TLSv1.3",
            "an empty list");
  }
  tls.ciphers = r.text("listen[].tls.ciphers");
  tls.ciphersuites = r.text("listen[].tls.ciphersuites");
  tls.groups = r.text("listen[].tls.groups");
  tls.session_cache_size = narrow<uint32_t>(r.number("listen[].tls.session_cache_size"));
  tls.session_timeout = Duration(r.number("listen[].tls.session_timeout"));
  tls.session_tickets = r.boolean("listen[].tls.session_tickets");
  tls.release_buffers = r.boolean("listen[].tls.release_buffers");

  const bool written = std::any_of(item.settings.begin(), item.settings.end(), [](const auto& s) {
    return s.first.starts_with("listen[].tls.");
  });
  if (!tls.enabled()) {
    if (written) {
      r.error("listen[].tls.certificates",
              "must list at least one certificate when other tls settings are written",
              "nothing");
    }
    return;
  }
  for (const auto& [key, text] : {std::pair{"listen[].tls.ciphers", tls.ciphers},
                                  std::pair{"listen[].tls.ciphersuites", tls.ciphersuites},
                                  std::pair{"listen[].tls.groups", tls.groups}}) {
    if (!r.ok(key)) continue;
    if (std::string why = check_tls_setting(key, text); !why.empty()) {
      r.error(key, why, got_text(text));
    }
  }
  if (tls.tls12 && r.ok("listen[].tls.ciphers") && tls.ciphers.empty()) {
    r.error("listen[].tls.ciphers", "must not be empty while TLSv1.2 is accepted", "\"\"");
  }
}

ListenConfig read_listen_item(SectionReader& r, const Section& item, Diagnostics& errors,
                              const std::string& dir) {
  ListenConfig listen;
  if (std::optional<ListenAddress> address = r.address("listen[].address")) {
    listen.address = address->text;
    listen.host = address->host;
    listen.port = address->port;
    listen.ipv6 = address->ipv6;
  }
  listen.backlog = narrow<int>(r.number("listen[].backlog"));
  read_tls(r, item, errors, dir, listen.tls);
  listen.line = item.where.line;
  return listen;
}

RouteConfig read_route_item(SectionReader& r, const Section& item, Diagnostics& errors) {
  RouteConfig route;
  route.path = r.text("routes[].path");
  if (r.ok("routes[].path") && !route.path.empty()) {
    if (route.path.front() != '/') {
      r.error("routes[].path", "must start with /", got_text(route.path));
    } else if (route.path.find_first_of("?# \t") != std::string::npos) {
      r.error("routes[].path", "must be a plain path, without query, fragment or spaces",
              got_text(route.path));
    }
  } else if (r.ok("routes[].path") && r.present("routes[].path")) {
    r.error("routes[].path", "must not be empty; a path starts with /", got_text(route.path));
  }
  route.relay = r.text("routes[].relay");
  for (ListElement& origin : r.strings("routes[].origins")) {
    if (std::string why = check_origin(origin.text); !why.empty()) {
      r.error(origin, "routes[].origins", why, got_text(origin.text));
    }
    route.origins.push_back(std::move(origin.text));
  }
  // A browser opens a WebSocket to any site, so without an Origin check
  // any page an operator visits could read the console.
  if (route.relay == "console" && route.origins.empty() && r.ok("routes[].relay")) {
    r.error("routes[].relay",
            "console routes must list routes[].origins (the pages allowed to read the daemon's "
            "state)",
            got_text(route.relay));
  }
  for (ListElement& protocol : r.strings("routes[].subprotocols")) {
    if (!is_token(protocol.text)) {
      r.error(protocol, "routes[].subprotocols",
              "must be an RFC 7230 token: letters, digits and !#$%&'*+-.^_`|~",
              got_text(protocol.text));
    }
    route.subprotocols.push_back(std::move(protocol.text));
  }
  CompressionConfig& compression = route.compression;
  compression.enabled = r.boolean("routes[].compression.enabled");
  compression.server_context_takeover = r.boolean("routes[].compression.server_context_takeover");
  compression.client_context_takeover = r.boolean("routes[].compression.client_context_takeover");
  compression.server_max_window_bits =
      static_cast<int>(r.number("routes[].compression.server_max_window_bits"));
  compression.level = static_cast<int>(r.number("routes[].compression.level"));
  compression.mem_level = static_cast<int>(r.number("routes[].compression.mem_level"));
  compression.min_size = narrow<uint64_t>(r.number("routes[].compression.min_size"));
  read_proxy(r, errors, route);
  read_exec(r, route);
  read_translator(r, errors, route);
  read_static(r, route);
  route.line = item.where.line;
  return route;
}

// The absolute, lexically normal form of `path`; `path` itself if the
// working directory cannot be found.
std::filesystem::path absolute_path(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return error ? std::filesystem::path(path) : absolute.lexically_normal();
}

}  // namespace

ConfigPtr load_config(const std::string& path) {
  std::string content = read_file(path);
  Diagnostics errors(path);
  YAML::Node root = parse_yaml(content, errors);
  errors.throw_if_any();
  Section document = read_document(root, errors);
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) errors.throw_if_any();

  auto config = std::make_shared<Config>();
  std::filesystem::path absolute = absolute_path(path);
  config->path = absolute.string();
  config->dir = absolute.parent_path().string();

  SectionReader reader(document, errors, config->dir);
  read_top_level(reader, *config);
  read_limits(reader, config->limits);
  read_timeouts(reader, config->timeouts);
  std::vector<SectionReader> listen_readers;
  for (const Section& item : reader.items("listen")) {
    SectionReader& item_reader = listen_readers.emplace_back(item, errors, config->dir);
    config->listen.push_back(read_listen_item(item_reader, item, errors, config->dir));
    require_all_read(item_reader);
  }
  std::vector<SectionReader> route_readers;
  for (const Section& item : reader.items("routes")) {
    SectionReader& item_reader = route_readers.emplace_back(item, errors, config->dir);
    config->routes.push_back(read_route_item(item_reader, item, errors));
    require_all_read(item_reader);
  }
  require_all_read(reader);
  check_cross_fields(*config, reader, listen_readers, route_readers);
  errors.throw_if_any();
  return config;
}

}  // namespace wsgate::config
