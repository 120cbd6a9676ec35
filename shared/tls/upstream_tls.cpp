// Building the upstream client contexts (see upstream_tls.h).
#include "tls/upstream_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls/certificate_file.h"
#include "tls/openssl_error.h"

namespace wsgate::tls {
namespace {

struct CtxOwner {
  SSL_CTX* ctx = nullptr;
  ~CtxOwner() { SSL_CTX_free(ctx); }
};

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// Adds every certificate of the PEM file `path` to the context's trust
// store. Throws TlsError when the file cannot be read or holds none.
void load_ca_file(SSL_CTX* ctx, const std::string& origin, const std::string& path) {
  const std::string pem = read_pem_file(origin, path);
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw TlsError(origin + ": " + path + ": BIO_new_mem_buf: " + openssl_reason());
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  size_t count = 0;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      throw TlsError(origin + ": " + path + ": X509_STORE_add_cert: " + openssl_reason());
    }
    ++count;
  }
  ERR_clear_error();  // the read that ended the loop
  if (count == 0) throw TlsError(origin + ": " + path + ": has no PEM certificate");
}

SSL_CTX* make_context(const config::ProxyTlsConfig& tls) {
  CtxOwner owner{SSL_CTX_new(TLS_client_method())};
  SSL_CTX* ctx = owner.ctx;
  const auto check = [&](bool ok, const std::string& what) {
    if (!ok) throw TlsError(tls.origin + ": " + what + ": " + openssl_reason());
  };
  check(ctx != nullptr, "SSL_CTX_new");
  check(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1, "SSL_CTX_set_min_proto_version");
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // The filter drives OpenSSL through memory and its writes may be partial.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (tls.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (tls.ca.empty()) {
      check(SSL_CTX_set_default_verify_paths(ctx) == 1, "SSL_CTX_set_default_verify_paths");
    } else {
      load_ca_file(ctx, tls.origin, tls.ca);
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  owner.ctx = nullptr;
  return ctx;
}

}  // namespace

UpstreamTls::~UpstreamTls() {
  for (SSL_CTX* ctx : contexts_) SSL_CTX_free(ctx);
}

std::shared_ptr<UpstreamTls> UpstreamTls::load(const config::Config& config) {
  auto upstream = std::make_shared<UpstreamTls>();
  bool any = false;
  upstream->contexts_.reserve(config.routes.size());
  for (const config::RouteConfig& route : config.routes) {
    const bool enabled = route.relay == "proxy" && route.proxy.tls.enabled;
    // On a throw `upstream` frees the contexts made so far.
    upstream->contexts_.push_back(enabled ? make_context(route.proxy.tls) : nullptr);
    any = any || enabled;
  }
  return any ? upstream : nullptr;
}

SSL_CTX* UpstreamTls::context(size_t index) const {
  return index < contexts_.size() ? contexts_[index] : nullptr;
}

}  // namespace wsgate::tls
