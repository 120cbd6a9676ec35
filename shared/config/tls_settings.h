// Checks of the TLS strings a listener may set (cipher list, TLS 1.3
// suites, groups), done by OpenSSL itself so that the loader can report a
// typo at its line instead of the supervisor failing later.
#pragma once

#include <string>
#include <string_view>

namespace wsgate::config {

// `key` is "listen[].tls.ciphers", "listen[].tls.ciphersuites" or
// "listen[].tls.groups". Returns "" when OpenSSL accepts `text` for it, or
// a sentence saying why not.
std::string check_tls_setting(std::string_view key, const std::string& text);

}  // namespace wsgate::config
