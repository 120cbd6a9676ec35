// Building the server contexts (see server_tls.h).
#include "tls/openssl_error.h"
#include "tls/server_tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <map>

namespace wsgate::tls {
namespace {

constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// ALPN: http/1.1 only (WS-HS-12, SEC-TLS-04). A client that offers ALPN
// without http/1.1 (h2 alone, say) gets the no_application_protocol alert
// RFC 7301 section 3.2 prescribes; a client that offers no ALPN goes on.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
                unsigned int in_size, void*) noexcept {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_size, kHttp11, sizeof kHttp11, in, in_size) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// SNI: switch to the context whose certificates answer the name; unknown
// names and clients without SNI get the default (first) certificate.
// OpenSSL calls it from C, so no exception may leave it: a failed
// allocation in the lookup fails the handshake.
int select_server_name(SSL* ssl, int*, void* arg) noexcept {
  const auto* listener = static_cast<const ListenerTls*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  try {
    if (SSL_CTX* ctx = listener->context_for(name); ctx != nullptr && ctx != SSL_get_SSL_CTX(ssl)) {
      SSL_set_SSL_CTX(ssl, ctx);
    }
  } catch (const std::exception&) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

struct CtxOwner {
  SSL_CTX* ctx = nullptr;
  ~CtxOwner() { SSL_CTX_free(ctx); }
};

// A context with every setting of `tls` but no certificate yet.
SSL_CTX* make_context(const config::TlsConfig& tls, const config::ListenConfig& listen,
                      const std::string& origin) {
  CtxOwner owner{SSL_CTX_new(TLS_server_method())};
  SSL_CTX* ctx = owner.ctx;
  const auto check = [&](bool ok, const std::string& what) {
    if (!ok) throw TlsError(origin + ": " + what + ": " + openssl_reason());
  };
  check(ctx != nullptr, "SSL_CTX_new");
  // SEC-TLS-01: TLS 1.2 and 1.3 only, narrowed by tls.protocols.
  check(SSL_CTX_set_min_proto_version(ctx, tls.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) == 1,
        "SSL_CTX_set_min_proto_version");
  check(SSL_CTX_set_max_proto_version(ctx, tls.tls13 ? TLS1_3_VERSION : TLS1_2_VERSION) == 1,
        "SSL_CTX_set_max_proto_version");
  // SEC-TLS-04: no renegotiation, no compression. SEC-TLS-02: the client's
  // cipher order (Mozilla intermediate sets server_preferred_order false).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (!tls.ciphers.empty()) {
    check(SSL_CTX_set_cipher_list(ctx, tls.ciphers.c_str()) == 1, "listen.tls.ciphers");
  }
  check(SSL_CTX_set_ciphersuites(ctx, tls.ciphersuites.c_str()) == 1, "listen.tls.ciphersuites");
  check(SSL_CTX_set1_groups_list(ctx, tls.groups.c_str()) == 1, "listen.tls.groups");
  // SEC-TLS-04: no 0-RTT; a replayed upgrade request is not safe.
  SSL_CTX_set_max_early_data(ctx, 0);
  SSL_CTX_set_recv_max_early_data(ctx, 0);
  // SEC-TLS-07: the filter drives OpenSSL through memory, and writes may
  // be partial; idle connections may give their buffers back.
  long mode = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
  if (tls.release_buffers) mode |= SSL_MODE_RELEASE_BUFFERS;
  SSL_CTX_set_mode(ctx, mode);
  // SEC-TLS-06: tickets sealed with the shared keys, or none at all. With
  // SSL_OP_NO_TICKET alone TLS 1.3 would hand out stateful tickets that
  // only the issuing worker's cache can honour.
  if (!tls.session_tickets) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  SSL_CTX_set_session_cache_mode(
      ctx, tls.session_cache_size > 0 ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
  if (tls.session_cache_size > 0) SSL_CTX_sess_set_cache_size(ctx, tls.session_cache_size);
  SSL_CTX_set_timeout(ctx, static_cast<long>(tls.session_timeout.count() / 1000));
  // Sessions resume only on the listener that made them: the context id is
  // the listener's address, the same in every worker and generation.
  unsigned char id[EVP_MAX_MD_SIZE];
  unsigned int id_size = 0;
  check(EVP_Digest(listen.address.data(), listen.address.size(), id, &id_size, EVP_sha256(),
                   nullptr) == 1,
        "EVP_Digest");
  check(SSL_CTX_set_session_id_context(ctx, id, std::min(id_size, 32u)) == 1,
        "SSL_CTX_set_session_id_context");
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  owner.ctx = nullptr;
  return ctx;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "(no DNS names)" : out;
}

}  // namespace

ListenerTls::~ListenerTls() {
  for (SSL_CTX* ctx : contexts_) SSL_CTX_free(ctx);
}

SSL_CTX* ListenerTls::context_for(std::string_view server_name) const {
  std::optional<size_t> group = names_.find(server_name);
  return group ? contexts_[*group] : nullptr;
}

std::shared_ptr<ServerTls> ServerTls::load(const config::Config& config) {
  if (!config.any_tls()) return nullptr;
  init_ticket_ex_data();
  auto server = std::make_shared<ServerTls>();
  for (const config::ListenConfig& listen : config.listen) {
    if (!listen.tls.enabled()) {
      server->listeners_.push_back(nullptr);
      continue;
    }
    auto listener = std::make_unique<ListenerTls>();
    // Certificates with the same set of names share a context.
    std::map<std::vector<std::string>, size_t> group_of;
    std::vector<std::vector<std::string>> group_types;
    for (const config::CertificateConfig& cert_config : listen.tls.certificates) {
      LoadedCertificate cert = load_certificate(cert_config);
      std::vector<std::string> key = cert.names;
      std::sort(key.begin(), key.end());
      auto [it, added] = group_of.emplace(key, listener->contexts_.size());
      if (added) {
        listener->contexts_.push_back(make_context(listen.tls, listen, cert_config.certificate_origin));
        group_types.emplace_back();
        SSL_CTX_set_tlsext_servername_callback(listener->contexts_.back(), select_server_name);
        SSL_CTX_set_tlsext_servername_arg(listener->contexts_.back(), listener.get());
      }
      const size_t group = it->second;
      std::vector<std::string>& types = group_types[group];
      if (std::find(types.begin(), types.end(), cert.key_type) != types.end()) {
        throw TlsError(cert_config.certificate_origin + ": " + cert_config.certificate +
                       ": a second " + cert.key_type +
                       " certificate for the same names; list one per key type");
      }
      types.push_back(cert.key_type);
      SSL_CTX* ctx = listener->contexts_[group];
      STACK_OF(X509)* chain = sk_X509_new_null();
      for (const X509Ptr& extra : cert.chain) sk_X509_push(chain, extra.get());
      const int ok = SSL_CTX_use_cert_and_key(ctx, cert.leaf.get(), cert.key.get(), chain, 1);
      sk_X509_free(chain);
      if (ok != 1) {
        throw TlsError(cert_config.certificate_origin + ": " + cert_config.certificate +
                       ": OpenSSL refused the certificate and key: " + openssl_reason());
      }
      for (const std::string& name : cert.names) listener->names_.add(name, group);
      listener->summary_ += (listener->summary_.empty() ? "" : "; ") + cert.key_type + " " +
                            joined(cert.names);
    }
    server->listeners_.push_back(std::move(listener));
  }
  return server;
}

const ListenerTls* ServerTls::listener(size_t index) const {
  return index < listeners_.size() ? listeners_[index].get() : nullptr;
}

void ServerTls::use_ticket_keys(const TicketKeyRing* ring) const {
  for (const auto& listener : listeners_) {
    if (!listener) continue;
    for (SSL_CTX* ctx : listener->contexts()) tls::use_ticket_keys(ctx, ring);
  }
}

}  // namespace wsgate::tls
