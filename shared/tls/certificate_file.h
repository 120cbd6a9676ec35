// Reads one certificate/key pair from PEM files and checks it the way an
// operator needs to hear about it: which file, and why (missing, unreadable,
// not PEM, key does not match, expired, not yet valid).
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"

namespace wsgate::tls {

// Thrown by the TLS loader; what() is "file:line:col: key: path: why".
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct LoadedCertificate {
  X509Ptr leaf;
  std::vector<X509Ptr> chain;  // intermediates, in file order
  PkeyPtr key;
  std::vector<std::string> names;  // configured names, else the leaf's DNS names
  std::string key_type;            // "ECDSA", "RSA", "Ed25519" ...
};

// The whole of the PEM file `path` (at most 1MiB). Throws TlsError
// "origin: path: cannot open: <strerror>" (or cannot read, or too large).
std::string read_pem_file(const std::string& origin, const std::string& path);

// Loads and checks `config`. Throws TlsError naming the file at fault.
LoadedCertificate load_certificate(const config::CertificateConfig& config);

// The DNS names of `cert`: its subjectAltName DNS entries, or its subject
// CN when it has none (lower-cased).
std::vector<std::string> certificate_dns_names(X509* cert);

}  // namespace wsgate::tls
