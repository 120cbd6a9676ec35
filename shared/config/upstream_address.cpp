// Upstream and token target syntax (see upstream_address.h).
#include "config/upstream_address.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <array>
#include <cctype>
#include <filesystem>

namespace wsgate::config {
namespace {

using Result = Parsed<UpstreamAddress>;

constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

// Reads "host:port" into `address` (host without brackets); "" or a reason.
std::string parse_host_port(std::string_view text, UpstreamAddress& address) {
  std::string_view host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return "has no ] after the IPv6 address";
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.starts_with(':')) return "needs :PORT after ]";
    port_text = rest.substr(1);
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), bytes.data()) != 1) {
      return "has an invalid IPv6 address in [ ]";
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "needs :PORT after the host";
    if (text.find(':') != colon) return "needs brackets around an IPv6 address, as in [::1]:5900";
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.empty()) return "needs a host before :PORT";
    if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
      std::array<unsigned char, 4> bytes{};
      if (inet_pton(AF_INET, std::string(host).c_str(), bytes.data()) != 1) {
        return "has an invalid IPv4 address";
      }
    } else if (!is_host_name(host)) {
      return "has a host that is neither a DNS name nor an IP address";
    }
  }
  unsigned port = 0;
  bool digits = !port_text.empty() && port_text.size() <= 5;
  for (char c : port_text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) digits = false;
  }
  if (digits) {
    for (char c : port_text) port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (!digits || port == 0 || port > 65535) return "port must be a number from 1 to 65535";
  address.kind = UpstreamAddress::Kind::Tcp;
  address.host = std::string(host);
  address.port = static_cast<uint16_t>(port);
  return "";
}

// Checks a resolved socket path; "" or a reason.
std::string check_socket_path(const std::string& path) {
  if (path.size() > kMaxSocketPath) {
    return "has a socket path of " + std::to_string(path.size()) +
           " bytes once resolved; a Unix socket path is at most " + std::to_string(kMaxSocketPath);
  }
  return "";
}

}  // namespace

bool is_host_name(std::string_view name, bool allow_underscore) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63 || name[i - 1] == '-' || name[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = name[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && (c != '_' || !allow_underscore)) {
      return false;
    }
    ++label;
  }
  return true;
}

bool is_ip_literal(std::string_view text) {
  std::array<unsigned char, 16> bytes{};
  const std::string copy(text);
  return inet_pton(AF_INET, copy.c_str(), bytes.data()) == 1 ||
         inet_pton(AF_INET6, copy.c_str(), bytes.data()) == 1;
}

Parsed<UpstreamAddress> parse_upstream(std::string_view text, const std::string& base_dir) {
  UpstreamAddress address;
  address.text = std::string(text);
  if (text.starts_with("tcp://")) {
    if (std::string why = parse_host_port(text.substr(6), address); !why.empty()) {
      return Result::fail(why);
    }
    return Result::ok(std::move(address));
  }
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (path.starts_with("//")) {
      return Result::fail("must be unix:PATH without //, as in unix:/run/vnc.sock");
    }
    if (path.empty()) return Result::fail("needs a socket path after unix:");
    std::filesystem::path resolved(path);
    if (resolved.is_relative()) resolved = std::filesystem::path(base_dir) / resolved;
    address.kind = UpstreamAddress::Kind::Unix;
    address.path = resolved.lexically_normal().string();
    if (std::string why = check_socket_path(address.path); !why.empty()) return Result::fail(why);
    return Result::ok(std::move(address));
  }
  return Result::fail(
      "must start with tcp:// or unix:, as in tcp://127.0.0.1:5900 or "
      "unix:/run/vnc.sock");
}

Parsed<UpstreamAddress> parse_token_target(std::string_view text) {
  UpstreamAddress address;
  address.text = std::string(text);
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (!path.starts_with('/') || path.starts_with("//")) {
      return Result::fail("needs an absolute path after unix:, as in unix:/run/vnc.sock");
    }
    address.kind = UpstreamAddress::Kind::Unix;
    address.path = std::filesystem::path(path).lexically_normal().string();
    if (std::string why = check_socket_path(address.path); !why.empty()) return Result::fail(why);
    return Result::ok(std::move(address));
  }
  if (text.find("://") != std::string_view::npos) {
    return Result::fail("has a scheme such as tcp://, which a token target does not take");
  }
  if (std::string why = parse_host_port(text, address); !why.empty()) return Result::fail(why);
  return Result::ok(std::move(address));
}

}  // namespace wsgate::config
