// TLS setting checks against a scratch SSL_CTX (see tls_settings.h).
#include "config/tls_settings.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

namespace wsgate::config {
namespace {

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

// OpenSSL's reason for the last failure ("no cipher match"), queue cleared.
std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "rejected";
}

}  // namespace

std::string check_tls_setting(std::string_view key, const std::string& text) {
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return "cannot be checked: SSL_CTX_new failed (" + openssl_reason() + ")";
  int ok = 0;
  std::string what;
  if (key == "listen[].tls.ciphers") {
    // An empty TLS 1.2 list is allowed when only TLS 1.3 is accepted; the
    // loader checks that combination.
    if (text.empty()) return "";
    ok = SSL_CTX_set_cipher_list(ctx.get(), text.c_str());
    what = "names no TLS 1.2 cipher OpenSSL knows";
  } else if (key == "listen[].tls.ciphersuites") {
    ok = SSL_CTX_set_ciphersuites(ctx.get(), text.c_str());
    if (ok == 1 && !text.empty()) {
      // OpenSSL ignores unknown names in a suite list as long as one is left.
      STACK_OF(SSL_CIPHER)* suites = SSL_CTX_get_ciphers(ctx.get());
      bool any13 = false;
      for (int i = 0; suites != nullptr && i < sk_SSL_CIPHER_num(suites); ++i) {
        if (std::string_view(SSL_CIPHER_get_version(sk_SSL_CIPHER_value(suites, i))) == "TLSv1.3") {
          any13 = true;
        }
      }
      if (!any13) ok = 0;
    }
    what = "names no TLS 1.3 cipher suite OpenSSL knows (names look like TLS_AES_128_GCM_SHA256)";
  } else if (key == "listen[].tls.groups") {
    ok = text.empty() ? 0 : SSL_CTX_set1_groups_list(ctx.get(), text.c_str());
    what = "is not a colon-separated list of groups OpenSSL knows (X25519, P-256, P-384, ...)";
  } else {
    return "is not a TLS setting";
  }
  if (ok == 1) return "";
  const std::string reason = openssl_reason();
  return what + " (OpenSSL: " + reason + ")";
}

}  // namespace wsgate::config
