// The server-side TLS contexts of every listener, built by the supervisor
// from the config before it drops privileges (SEC-TLS-08, SEC-PRIV-01) and
// again on reload. Workers inherit them across fork() and never read a key
// file. One SSL_CTX per group of certificates that share their server
// names (an ECDSA and an RSA certificate for the same names sit side by
// side in one context; OpenSSL picks by the client's signature algorithms).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "tls/certificate_file.h"
#include "tls/server_names.h"
#include "tls/ticket_keys.h"

namespace wsgate::tls {

// The contexts of one TLS listener.
class ListenerTls {
 public:
  ListenerTls() = default;
  ListenerTls(const ListenerTls&) = delete;
  ListenerTls& operator=(const ListenerTls&) = delete;
  ~ListenerTls();

  // The context a new connection starts with: the first certificate's.
  SSL_CTX* default_context() const { return contexts_.front(); }
  // The context for a server name (SNI), or nullptr to keep the default.
  SSL_CTX* context_for(std::string_view server_name) const;
  const std::vector<SSL_CTX*>& contexts() const { return contexts_; }
  // "2 certificates: ECDSA+RSA for example.com, *.example.com; ..." for the log.
  const std::string& summary() const { return summary_; }

 private:
  friend class ServerTls;
  std::vector<SSL_CTX*> contexts_;
  ServerNameTable names_;
  std::string summary_;
};

class ServerTls {
 public:
  // Loads every certificate of every TLS listener of `config` and builds the
  // contexts. Throws TlsError naming the file and the reason; nothing is
  // kept then. Returns nullptr when no listener has TLS.
  static std::shared_ptr<ServerTls> load(const config::Config& config);

  // The contexts of listener `index` (config.listen order); nullptr for a
  // plain listener.
  const ListenerTls* listener(size_t index) const;

  // Points every context's ticket callback at `ring` (see ticket_keys.h).
  void use_ticket_keys(const TicketKeyRing* ring) const;

  size_t listener_count() const { return listeners_.size(); }

 private:
  std::vector<std::unique_ptr<ListenerTls>> listeners_;  // null for plain
};

}  // namespace wsgate::tls
