// OpenSSL's error queue as text for messages.
#pragma once

#include <string>

namespace wsgate::tls {

// The reason string of the newest error in this thread's OpenSSL error
// queue ("no cipher match"), or "unknown error"; empties the queue.
std::string openssl_reason();

}  // namespace wsgate::tls
