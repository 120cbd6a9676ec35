// The client-side TLS contexts of the proxy routes that speak TLS to their
// upstream, built by the supervisor from the config (at start, for -t and
// on every reload, so a broken CA file fails before anything forks) and
// inherited by workers across fork(). One SSL_CTX per such route; a
// connection makes its session with TlsSession(context(i), server_name).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <vector>

#include "config/config.h"

namespace wsgate::tls {

class UpstreamTls {
 public:
  UpstreamTls() = default;
  UpstreamTls(const UpstreamTls&) = delete;
  UpstreamTls& operator=(const UpstreamTls&) = delete;
  ~UpstreamTls();

  // Client contexts for every proxy route with tls.enabled: TLS 1.2 or
  // later, no renegotiation or compression, and with tls.verify the peer
  // verified against tls.ca (every certificate in the PEM file) or
  // OpenSSL's default verify paths when ca is "". Throws TlsError naming the
  // route's tls origin and the reason ("origin: /etc/ca.pem: cannot open:
  // No such file or directory", "...: has no PEM certificate"); nothing is
  // kept then. Returns nullptr when no route uses upstream TLS.
  static std::shared_ptr<UpstreamTls> load(const config::Config& config);

  // The context for route `index` (config.routes order), nullptr when that
  // route has no upstream TLS (or `index` is out of range).
  SSL_CTX* context(size_t index) const;

  size_t route_count() const { return contexts_.size(); }

 private:
  std::vector<SSL_CTX*> contexts_;  // one per route, null for routes without upstream TLS
};

}  // namespace wsgate::tls
