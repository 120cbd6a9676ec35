// Test support for shared/tls: keys and certificates made in memory with
// OpenSSL (no openssl command needed), PEM files in a temporary directory,
// and an in-process TLS client to drive a TlsSession.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "tls/certificate_file.h"

namespace wsgate::tls::test {

enum class KeyType { Ecdsa, Rsa };

PkeyPtr make_key(KeyType type);

// A certificate for `key`, issued by `issuer_key` (self-signed when null),
// for the DNS names `names` (the first is also the CN; an entry "IP:addr"
// is an IP address entry instead), valid from
// now + `from_days` to now + `to_days`.
X509Ptr make_certificate(EVP_PKEY* key, const std::vector<std::string>& names,
                         long from_days = -1, long to_days = 30,
                         EVP_PKEY* issuer_key = nullptr);

std::string to_pem(X509* cert);
std::string to_pem(EVP_PKEY* key, const char* passphrase = nullptr);

// A fresh directory under the test temp dir; files written into it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string write(const std::string& name, const std::string& content) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A certificate entry as the config loader would make it, for files in `dir`.
config::CertificateConfig certificate_config(const std::string& cert_path,
                                             const std::string& key_path);

// Writes a key and a certificate for `names` into `dir` and returns the entry.
config::CertificateConfig write_pair(const TempDir& dir, const std::string& stem, KeyType type,
                                     const std::vector<std::string>& names);

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

// A client SSL over a pair of memory BIOs: feed() gives it server bytes,
// take() returns what it wants to send.
class TestClient {
 public:
  explicit TestClient(SSL_CTX* ctx, const char* server_name = nullptr);
  void feed(std::string_view bytes);
  std::string take();
  // Runs SSL_do_handshake once; returns its SSL_get_error code (0 when done).
  int step();
  SSL* ssl() const { return ssl_.get(); }

 private:
  SslPtr ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

CtxPtr client_context();

}  // namespace wsgate::tls::test
