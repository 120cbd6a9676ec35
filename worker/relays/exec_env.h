// The environment and URL split of an exec route's program, as websocketd
// gives them (CGI-style, RFC 3875 names), built from the request alone:
// pure functions, no I/O, so that they are unit-tested apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/handshake.h"

namespace wsgate {

namespace config {
struct ExecConfig;
}

// Which program a request runs and how its URL splits (websocketd's
// URLInfo): a single command gets SCRIPT_NAME "/" and the whole decoded
// path as PATH_INFO; a scripts_dir route gets the script's URL path and
// what follows it.
struct ExecTarget {
  std::string program;      // absolute path to run
  std::string script_name;  // SCRIPT_NAME
  std::string path_info;    // PATH_INFO
  std::string path;         // the decoded request path (PATH_TRANSLATED)
};

// Percent-decodes a URL path. nullopt for what no script may be named by:
// a malformed escape, an encoded '/' or NUL, or a "." or ".." segment.
std::optional<std::string> decode_url_path(std::string_view path);

// The target of `request_path` on an exec route whose path is
// `route_path`; nullopt when no script answers it (404).
std::optional<ExecTarget> find_exec_target(const config::ExecConfig& exec,
                                           std::string_view route_path,
                                           std::string_view request_path);

// What the environment is made of besides the request.
struct ExecEnvFacts {
  std::string remote_addr;  // numeric peer address
  uint16_t remote_port = 0;
  bool https = false;  // a TLS listener
  std::string unique_id;
  const char* const* daemon_env = nullptr;  // environ, for env.pass
};

// "NAME=value" strings: env.pass names found in the daemon's environment,
// env.set, then the per-connection variables, which win.
std::vector<std::string> build_exec_env(const config::ExecConfig& exec, const ExecTarget& target,
                                        const http::Request& request, const ExecEnvFacts& facts);

}  // namespace wsgate
