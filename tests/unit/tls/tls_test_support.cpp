// Test support for shared/tls (see tls_test_support.h).
#include "tls_test_support.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace wsgate::tls::test {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

PkeyPtr make_key(KeyType type) {
  EVP_PKEY* key = type == KeyType::Ecdsa ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
  if (key == nullptr) throw std::runtime_error("key generation failed");
  return PkeyPtr(key);
}

X509Ptr make_certificate(EVP_PKEY* key, const std::vector<std::string>& names, long from_days,
                         long to_days, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_days * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names.front().c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  std::string san;
  for (const std::string& n : names) {
    san += san.empty() ? "" : ",";
    san += n.starts_with("IP:") ? n : "DNS:" + n;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

std::string to_pem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_text(bio.get());
}

std::string to_pem(EVP_PKEY* key, const char* passphrase) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (passphrase != nullptr) {
    PEM_write_bio_PrivateKey(bio.get(), key, EVP_aes_256_cbc(),
                             reinterpret_cast<const unsigned char*>(passphrase),
                             static_cast<int>(std::string(passphrase).size()), nullptr, nullptr);
  } else {
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  return bio_text(bio.get());
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "wsgate-tls-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string file = path_ + "/" + name;
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

config::CertificateConfig certificate_config(const std::string& cert_path,
                                             const std::string& key_path) {
  config::CertificateConfig config;
  config.certificate = cert_path;
  config.key = key_path;
  config.certificate_origin = "wsgate.yaml:7:24: listen[0].tls.certificates[0].certificate";
  config.key_origin = "wsgate.yaml:8:16: listen[0].tls.certificates[0].key";
  config.names_origin = "wsgate.yaml:9:18: listen[0].tls.certificates[0].names";
  return config;
}

config::CertificateConfig write_pair(const TempDir& dir, const std::string& stem, KeyType type,
                                     const std::vector<std::string>& names) {
  PkeyPtr key = make_key(type);
  X509Ptr cert = make_certificate(key.get(), names);
  return certificate_config(dir.write(stem + ".crt", to_pem(cert.get())),
                            dir.write(stem + ".key", to_pem(key.get())));
}

TestClient::TestClient(SSL_CTX* ctx, const char* server_name) : ssl_(SSL_new(ctx)) {
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_.get(), in_, out_);
  SSL_set_connect_state(ssl_.get());
  if (server_name != nullptr) SSL_set_tlsext_host_name(ssl_.get(), server_name);
}

void TestClient::feed(std::string_view bytes) {
  BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
}

std::string TestClient::take() {
  std::string out;
  char buffer[16384];
  int n;
  while ((n = BIO_read(out_, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

int TestClient::step() {
  const int rc = SSL_do_handshake(ssl_.get());
  return rc == 1 ? 0 : SSL_get_error(ssl_.get(), rc);
}

CtxPtr client_context() {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

}  // namespace wsgate::tls::test
