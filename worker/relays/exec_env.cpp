// The exec relay's environment and URL split (see exec_env.h).
#include "worker/relays/exec_env.h"

#include <cstring>

#include "config/config.h"
#include "http/percent_decode.h"

namespace wsgate {
namespace {

void add(std::vector<std::string>& env, std::string_view name, std::string_view value) {
  std::string entry;
  entry.reserve(name.size() + 1 + value.size());
  entry.append(name).append("=").append(value);
  env.push_back(std::move(entry));
}

// websocketd's tellHostPort(): the Host header split like Go's
// net.SplitHostPort; without a port, the scheme's default.
void split_host(std::string_view host, bool https, std::string& name, std::string& port) {
  const std::string_view fallback = https ? "443" : "80";
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close != std::string_view::npos && close + 1 < host.size() && host[close + 1] == ':') {
      name = host.substr(1, close - 1);
      port = host.substr(close + 2);
      return;
    }
    name = host;
    port = fallback;
    return;
  }
  const size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || host.find(':') != colon) {
    name = host;
    port = colon == std::string_view::npos ? fallback : "";
    return;
  }
  name = host.substr(0, colon);
  port = host.substr(colon + 1);
}

// HTTP_<NAME> as websocketd makes it: upper case, '-' becomes '_'. Empty
// for a name that cannot be an environment variable.
std::string header_variable(std::string_view header) {
  std::string name = "HTTP_";
  for (char c : header) {
    if (c == '-') {
      name += '_';
    } else if ((c >= 'a' && c <= 'z')) {
      name += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      name += c;
    } else {
      return {};
    }
  }
  return name;
}

}  // namespace

std::optional<std::string> decode_url_path(std::string_view path) {
  std::optional<http::PercentDecoded> decoded = http::percent_decode(path);
  if (!decoded || decoded->encoded_slash_or_nul) return std::nullopt;
  const std::string_view text = decoded->text;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('/', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view segment = text.substr(start, end - start);
    if (segment == "." || segment == "..") return std::nullopt;
    start = end + 1;
  }
  return std::move(decoded->text);
}

std::optional<ExecTarget> find_exec_target(const config::ExecConfig& exec,
                                           std::string_view route_path,
                                           std::string_view request_path) {
  ExecTarget target;
  if (exec.scripts_dir.empty()) {
    std::optional<http::PercentDecoded> decoded = http::percent_decode(request_path);
    target.program = exec.command.front();
    target.script_name = "/";
    target.path = decoded ? std::move(decoded->text) : std::string(request_path);
    target.path_info = target.path;
    return target;
  }
  std::optional<std::string> decoded = decode_url_path(request_path);
  if (!decoded) return std::nullopt;
  // The route's path is the URL prefix of the directory.
  std::string_view prefix = route_path;
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  const std::string_view path = *decoded;
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  const std::string_view rest = path.substr(prefix.size());
  // Like websocketd, the first segment boundary at which a file (not a
  // directory) is found ends the script; the rest is PATH_INFO.
  for (size_t end = 1; end <= rest.size(); ++end) {
    if (end < rest.size() && rest[end] != '/') continue;
    const auto found = exec.scripts.find(rest.substr(0, end));
    if (found == exec.scripts.end()) continue;
    target.program = found->second;
    target.script_name = std::string(prefix) + std::string(rest.substr(0, end));
    target.path_info = rest.substr(end);
    target.path = path;
    return target;
  }
  return std::nullopt;
}

std::vector<std::string> build_exec_env(const config::ExecConfig& exec, const ExecTarget& target,
                                        const http::Request& request, const ExecEnvFacts& facts) {
  std::vector<std::string> env;
  env.reserve(24 + request.headers.size() + exec.env_pass.size() + exec.env_set.size());
  for (const std::string& name : exec.env_pass) {
    for (const char* const* entry = facts.daemon_env; entry && *entry; ++entry) {
      if (std::strncmp(*entry, name.c_str(), name.size()) == 0 && (*entry)[name.size()] == '=') {
        env.emplace_back(*entry);
        break;
      }
    }
  }
  for (const auto& [name, value] : exec.env_set) add(env, name, value);

  const std::string_view host = request.header("host").value_or(request.host);
  std::string server_name, server_port;
  split_host(host, facts.https, server_name, server_port);
  const std::string port = std::to_string(facts.remote_port);
  add(env, "SERVER_SOFTWARE", "wsgate/" WSGATE_VERSION);
  add(env, "REMOTE_ADDR", facts.remote_addr);
  // websocketd resolves REMOTE_HOST only with --reverselookup (off by
  // default); a worker does no DNS on its loop, so it is the address.
  add(env, "REMOTE_HOST", facts.remote_addr);
  add(env, "SERVER_NAME", server_name);
  add(env, "SERVER_PORT", server_port);
  add(env, "SERVER_PROTOCOL",
      "HTTP/" + std::to_string(request.http_major) + "." + std::to_string(request.http_minor));
  add(env, "GATEWAY_INTERFACE", "websocketd-CGI/0.1");
  add(env, "REQUEST_METHOD", request.method);
  add(env, "SCRIPT_NAME", target.script_name);
  add(env, "PATH_INFO", target.path_info);
  add(env, "PATH_TRANSLATED", target.path);
  add(env, "QUERY_STRING", request.query);
  add(env, "AUTH_TYPE", "");
  add(env, "CONTENT_LENGTH", "");
  add(env, "CONTENT_TYPE", "");
  add(env, "REMOTE_IDENT", "");
  add(env, "REMOTE_USER", "");
  add(env, "UNIQUE_ID", facts.unique_id);
  add(env, "REMOTE_PORT", port);
  add(env, "REQUEST_URI", request.query.empty() ? request.path : request.path + "?" + request.query);
  if (facts.https) add(env, "HTTPS", "on");

  // One HTTP_<NAME> per header name, repeated headers joined with ", " as
  // Go's http.Header keeps them; Host is not among them, as in Go.
  std::vector<std::pair<std::string, size_t>> seen;  // variable -> index in env
  for (const auto& [name, value] : request.headers) {
    std::string variable = header_variable(name);
    if (variable.empty() || variable == "HTTP_HOST") continue;
    bool joined = false;
    for (const auto& [existing, index] : seen) {
      if (existing == variable) {
        env[index].append(", ").append(value);
        joined = true;
        break;
      }
    }
    if (joined) continue;
    seen.emplace_back(variable, env.size());
    add(env, variable, value);
  }
  return env;
}

}  // namespace wsgate
