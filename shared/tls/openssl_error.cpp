// OpenSSL's error queue as text (see openssl_error.h).
#include "tls/openssl_error.h"

#include <openssl/err.h>

namespace wsgate::tls {

std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown error";
}

}  // namespace wsgate::tls
