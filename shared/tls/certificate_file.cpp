// Certificate and key loading with precise errors (see certificate_file.h).
#include "tls/openssl_error.h"
#include "tls/certificate_file.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tls/server_names.h"

namespace wsgate::tls {
namespace {

constexpr size_t kMaxPemBytes = size_t{1} << 20;  // a chain is kilobytes

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

[[noreturn]] void fail(const std::string& origin, const std::string& path, const std::string& why) {
  throw TlsError(origin + ": " + path + ": " + why);
}

}  // namespace

std::string read_pem_file(const std::string& origin, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) fail(origin, path, std::string("cannot open: ") + std::strerror(errno));
  std::string content;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      fail(origin, path, std::string("cannot read: ") + std::strerror(saved));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > kMaxPemBytes) {
      ::close(fd);
      fail(origin, path, "larger than 1MiB; not a PEM certificate or key");
    }
  }
  ::close(fd);
  return content;
}

namespace {

std::unique_ptr<BIO, BioFree> memory_bio(const std::string& content) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
}

// "Jan  1 00:00:00 2030 GMT" for a certificate time.
std::string time_text(const ASN1_TIME* time) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), time) != 1) return "?";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string key_type_of(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC:
      return "ECDSA";
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return EVP_PKEY_get0_type_name(key) != nullptr ? EVP_PKEY_get0_type_name(key) : "unknown";
  }
}

}  // namespace

std::vector<std::string> certificate_dns_names(X509* cert) {
  std::vector<std::string> names;
  auto* alt = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (alt != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt, i);
      if (name->type != GEN_DNS) continue;
      const ASN1_STRING* text = name->d.dNSName;
      names.push_back(lower_ascii(std::string_view(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
          static_cast<size_t>(ASN1_STRING_length(text)))));
    }
    GENERAL_NAMES_free(alt);
  }
  if (names.empty()) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      names.push_back(lower_ascii(cn));
    }
  }
  return names;
}

LoadedCertificate load_certificate(const config::CertificateConfig& config) {
  LoadedCertificate out;
  const std::string cert_pem = read_pem_file(config.certificate_origin, config.certificate);
  {
    auto bio = memory_bio(cert_pem);
    out.leaf.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!out.leaf) {
      fail(config.certificate_origin, config.certificate,
           "no PEM certificate in it (" + openssl_reason() + ")");
    }
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      out.chain.emplace_back(extra);
    }
    // The end of the file ends the loop with "no start line"; any other
    // error is a broken intermediate, which clients would fail to verify.
    const unsigned long end = ERR_peek_last_error();
    if (ERR_GET_LIB(end) == ERR_LIB_PEM && ERR_GET_REASON(end) == PEM_R_NO_START_LINE) {
      ERR_clear_error();
    } else if (end != 0) {
      fail(config.certificate_origin, config.certificate,
           "certificate " + std::to_string(out.chain.size() + 2) +
               " in the file (an intermediate) is not valid PEM (" + openssl_reason() + ")");
    }
  }
  const std::string key_pem = read_pem_file(config.key_origin, config.key);
  {
    auto bio = memory_bio(key_pem);
    // A passphrase callback that refuses: an encrypted key cannot be used
    // by a daemon without a prompt, and must not block on a terminal.
    out.key.reset(PEM_read_bio_PrivateKey(
        bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
    if (!out.key) {
      const std::string reason = openssl_reason();
      fail(config.key_origin, config.key,
           key_pem.find("ENCRYPTED") != std::string::npos
               ? "the key is encrypted; wsgated needs an unencrypted key (chmod 0600 it instead)"
               : "no PEM private key in it (" + reason + ")");
    }
  }
  if (X509_check_private_key(out.leaf.get(), out.key.get()) != 1) {
    ERR_clear_error();
    fail(config.key_origin, config.key,
         "the key does not match the certificate " + config.certificate);
  }
  const ASN1_TIME* not_after = X509_get0_notAfter(out.leaf.get());
  const ASN1_TIME* not_before = X509_get0_notBefore(out.leaf.get());
  if (X509_cmp_current_time(not_after) <= 0) {
    fail(config.certificate_origin, config.certificate,
         "the certificate expired on " + time_text(not_after));
  }
  if (X509_cmp_current_time(not_before) > 0) {
    fail(config.certificate_origin, config.certificate,
         "the certificate is not valid before " + time_text(not_before));
  }
  out.key_type = key_type_of(out.key.get());
  out.names = config.names.empty() ? certificate_dns_names(out.leaf.get()) : config.names;
  return out;
}

}  // namespace wsgate::tls
