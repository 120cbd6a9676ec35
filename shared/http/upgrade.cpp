// The routing-independent WebSocket upgrade rules and Sec-WebSocket-Accept.
#include <openssl/evp.h>

#include <array>

#include "http/handshake.h"

namespace wsgate::http {
namespace {

constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// WS-HS-05: 16 bytes in canonical base64 are exactly 22 alphabet characters
// and "==". The 4 unused bits of the last character are not checked (as in
// ws and Go's StdEncoding); the accept value hashes the key as sent anyway.
bool key_is_valid(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  return true;
}

}  // namespace

bool wants_upgrade(const Request& request) {
  return request.header("upgrade").has_value();
}

// Order: not an upgrade at all (426, the caller decides); method (405, the
// caller adds "Allow: GET"); version below 1.1 (RFC 9110 §7.8: Upgrade is
// ignored on HTTP/1.0, so 400); a body; Upgrade and Connection tokens; Host;
// Sec-WebSocket-Version before the key, so a client speaking another
// version learns the one we speak from the 426.
std::optional<HttpError> validate_upgrade(const Request& request) {
  if (!wants_upgrade(request)) return HttpError{426, "not a WebSocket upgrade request"};
  if (request.method != "GET") return HttpError{405, "WebSocket upgrade requires GET"};
  if (request.http_major < 1 || (request.http_major == 1 && request.http_minor < 1)) {
    return HttpError{400, "WebSocket upgrade requires HTTP/1.1"};
  }
  if (request.has_body) return HttpError{400, "upgrade request carries a body"};
  if (!request.upgrade_websocket) return HttpError{400, "Upgrade header lacks websocket"};
  if (!request.connection_upgrade) return HttpError{400, "Connection header lacks upgrade"};
  if (request.host.empty()) return HttpError{400, "missing Host header"};
  if (request.version != "13") return HttpError{426, "unsupported Sec-WebSocket-Version"};
  if (!key_is_valid(request.key)) return HttpError{400, "invalid Sec-WebSocket-Key"};
  return std::nullopt;
}

// Returns an empty string only if the digest cannot be computed (OpenSSL
// failure); the caller then answers 500.
std::string accept_key(std::string_view client_key) {
  std::string input;
  input.reserve(client_key.size() + kWebSocketGuid.size());
  input.append(client_key).append(kWebSocketGuid);
  // OpenSSL 3 looks EVP_sha1() up in its provider tables on every digest
  // (EVP_MD_fetch, about 2400 instructions, a twentieth of a handshake);
  // an explicitly fetched digest is looked up once per process and kept
  // for its life. Should the fetch fail, the implicit lookup still works.
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_length,
                 sha1 != nullptr ? sha1 : EVP_sha1(), nullptr) != 1) {
    return {};
  }
  // EVP_EncodeBlock writes 4 characters per 3 bytes plus a NUL.
  std::array<unsigned char, ((EVP_MAX_MD_SIZE + 2) / 3) * 4 + 1> encoded{};
  const int length =
      EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest_length));
  if (length <= 0) return {};
  return std::string(reinterpret_cast<const char*>(encoded.data()), static_cast<size_t>(length));
}

// Exact (case-sensitive) comparison, as browsers compare the answer with
// what they offered. The empty string is never selected (WS-SP-01).
std::optional<std::string> select_subprotocol(const std::vector<std::string>& offered,
                                              const std::vector<std::string>& supported) {
  for (const std::string& candidate : supported) {
    if (candidate.empty()) continue;
    for (const std::string& offer : offered) {
      if (offer == candidate) return offer;
    }
  }
  return std::nullopt;
}

std::string unserved_subprotocols(const std::vector<std::string>& offered,
                                  const std::vector<std::string>& served) {
  auto join = [](const std::vector<std::string>& tokens) {
    std::string out;
    for (const std::string& token : tokens) {
      if (token.empty()) continue;
      if (!out.empty()) out += ", ";
      out += token;
    }
    return out;
  };
  std::string reason = "unsupported subprotocol: offered " + join(offered) + "; this route serves";
  const std::string serves = join(served);
  reason += serves.empty() ? " no subprotocol" : ": " + serves;
  return reason;
}

}  // namespace wsgate::http
