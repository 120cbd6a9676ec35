// Socket addresses as text, for logs and events.
#pragma once

#include <sys/socket.h>

#include <string>

namespace wsgate {

// "127.0.0.1:8080", "[::1]:8080"; "-" for a family that is neither IPv4 nor
// IPv6 (an unset address).
std::string address_text(const sockaddr& address);
void append_address_text(std::string& out, const sockaddr& address);

}  // namespace wsgate
