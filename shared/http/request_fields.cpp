// Builds a Request from the llhttp parse and enforces the handshake header rules.
#include "http/request_fields.h"

#include <array>
#include <string_view>

#include "http/authority.h"
#include "http/header_lists.h"

namespace wsgate::http::detail {
namespace {

constexpr HttpError bad(std::string_view reason) {
  return HttpError{400, reason};
}

// Path and query of the target; for absolute-form also its authority.
struct Target {
  std::string_view path;
  std::string_view query;
  std::string_view authority;  // empty unless absolute-form
};

void split_path_query(std::string_view path_and_query, Target& out) {
  const size_t mark = path_and_query.find('?');
  out.path = path_and_query.substr(0, mark);
  out.query = mark == std::string_view::npos ? std::string_view{} : path_and_query.substr(mark + 1);
}

// origin-form gives path and query. absolute-form ("ws://host/p?q", RFC 6455
// §4.1 allows it) also gives the authority. asterisk-form and
// authority-form leave path and query empty; only GET is upgraded, so they
// end in 405 or a plain-HTTP answer.
std::optional<HttpError> split_target(std::string_view target, Target& out) {
  if (target.find('#') != std::string_view::npos) return bad("fragment in request target");
  if (!target.empty() && target[0] == '/') {
    split_path_query(target, out);
    return std::nullopt;
  }
  const size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = target.substr(0, scheme_end);
  if (!iequals(scheme, "http") && !iequals(scheme, "https") && !iequals(scheme, "ws") &&
      !iequals(scheme, "wss")) {
    return bad("unsupported scheme in request target");
  }
  const std::string_view rest = target.substr(scheme_end + 3);
  const size_t authority_end = rest.find_first_of("/?");
  out.authority = rest.substr(0, authority_end);
  if (out.authority.find('@') != std::string_view::npos) return bad("userinfo in request target");
  if (!parse_authority(out.authority)) return bad("invalid authority in request target");
  if (authority_end == std::string_view::npos) {
    out.path = "/";
    return std::nullopt;
  }
  split_path_query(rest.substr(authority_end), out);
  if (out.path.empty()) out.path = "/";  // "http://host?q"
  return std::nullopt;
}

// Headers that must appear at most once (HTTP-05, WS-HS-05/06) and the
// reason given when one repeats.
struct SingleHeader {
  std::string_view name;
  std::string_view duplicate_reason;
};
constexpr std::array<SingleHeader, 5> kSingleHeaders{{
    {"host", "duplicate Host header"},
    {"sec-websocket-key", "duplicate Sec-WebSocket-Key header"},
    {"sec-websocket-version", "duplicate Sec-WebSocket-Version header"},
    {"content-length", "duplicate Content-Length header"},
    {"origin", "duplicate Origin header"},
}};

// Static reasons for a failed list, by header and problem.
struct ListReasons {
  std::string_view invalid;
  std::string_view empty_element;
  std::string_view too_long;
  std::string_view too_many;
};

HttpError list_error(const HeaderList& list, const ListReasons& reasons) {
  switch (list.problem()) {
    case HeaderList::Problem::EmptyElement:
      return bad(reasons.empty_element);
    case HeaderList::Problem::TooLong:
      return bad(reasons.too_long);
    case HeaderList::Problem::TooManyElements:
      return bad(reasons.too_many);
    case HeaderList::Problem::BadElement:
    case HeaderList::Problem::None:
      break;
  }
  return bad(reasons.invalid);
}

constexpr ListReasons kConnectionReasons{"invalid Connection header", "invalid Connection header",
                                         "Connection header too long",
                                         "too many Connection tokens"};
constexpr ListReasons kUpgradeReasons{"invalid Upgrade header", "invalid Upgrade header",
                                      "Upgrade header too long", "too many Upgrade protocols"};
constexpr ListReasons kProtocolReasons{
    "invalid Sec-WebSocket-Protocol token", "empty element in Sec-WebSocket-Protocol",
    "Sec-WebSocket-Protocol too long", "too many subprotocols offered"};
constexpr ListReasons kExtensionReasons{
    "invalid Sec-WebSocket-Extensions element", "invalid Sec-WebSocket-Extensions element",
    "Sec-WebSocket-Extensions too long", "too many extensions offered"};

}  // namespace

std::optional<HttpError> build_request(RawHead& raw, Request& out) {
  if (raw.http_major != 1) return bad("unsupported HTTP version");
  out.method = std::move(raw.method);
  out.http_major = raw.http_major;
  out.http_minor = raw.http_minor;

  Target target;
  if (auto error = split_target(raw.url, target)) return error;
  out.path.assign(target.path);
  out.query.assign(target.query);

  HeaderList connection({ListRules::Element::Token});
  HeaderList upgrade({ListRules::Element::Protocol});
  HeaderList protocols({ListRules::Element::Token, false, kMaxListElements, kMaxListBytes});
  HeaderList extensions({ListRules::Element::Extension, true, kMaxListElements, kMaxListBytes});
  std::array<bool, kSingleHeaders.size()> seen{};
  bool transfer_encoding = raw.has_transfer_encoding;

  out.headers.reserve(raw.fields.size());
  for (auto& [raw_name, raw_value] : raw.fields) {
    std::string name = to_lower(raw_name);
    const std::string_view value = trim_ows(raw_value);
    for (size_t i = 0; i < kSingleHeaders.size(); ++i) {
      if (name != kSingleHeaders[i].name) continue;
      if (seen[i]) return bad(kSingleHeaders[i].duplicate_reason);
      seen[i] = true;
    }
    if (name == "connection") {
      if (!connection.add_line(value)) return list_error(connection, kConnectionReasons);
    } else if (name == "upgrade") {
      if (!upgrade.add_line(value)) return list_error(upgrade, kUpgradeReasons);
    } else if (name == "sec-websocket-protocol") {
      if (!protocols.add_line(value)) return list_error(protocols, kProtocolReasons);
    } else if (name == "sec-websocket-extensions") {
      if (!extensions.add_line(value)) return list_error(extensions, kExtensionReasons);
    } else if (name == "host") {
      out.host = to_lower(value);
    } else if (name == "sec-websocket-key") {
      out.key.assign(value);
    } else if (name == "sec-websocket-version") {
      out.version.assign(value);
    } else if (name == "origin") {
      out.origin.emplace(value);
    } else if (name == "transfer-encoding") {
      transfer_encoding = true;
    }
    out.headers.emplace_back(std::move(name), std::string(value));
  }

  // WS-HS-02, RFC 9112 §3.2: exactly one valid Host (kSingleHeaders[0]).
  if (!seen[0]) return bad("missing Host header");
  if (out.host.empty()) return bad("empty Host header");
  if (!parse_authority(out.host)) return bad("invalid Host header");
  if (!target.authority.empty() && !iequals(target.authority, out.host)) {
    return bad("Host does not match the request-target authority");
  }

  out.target = std::move(raw.url);
  out.protocols = protocols.elements();
  out.extensions = extensions.elements();
  out.upgrade_websocket = upgrade.contains_token("websocket");
  out.connection_upgrade = connection.contains_token("upgrade");
  out.has_body = transfer_encoding || (raw.has_content_length && raw.content_length > 0);
  return std::nullopt;
}

}  // namespace wsgate::http::detail

namespace wsgate::http {

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace wsgate::http
