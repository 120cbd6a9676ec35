// Socket addresses as text (see address_text.h).
#include "common/address_text.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace wsgate {

void append_address_text(std::string& out, const sockaddr& address) {
  char host[INET6_ADDRSTRLEN] = "";
  uint16_t port = 0;
  if (address.sa_family == AF_INET) {
    // Dotted quad by hand: glibc's inet_ntop formats IPv4 with sprintf,
    // about 1700 instructions, and this runs for every connection event.
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(address);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&in4.sin_addr.s_addr);
    size_t size = 0;  // at most 15 of the 46 bytes
    for (int i = 0; i < 4; ++i) {
      const unsigned byte = bytes[i];
      if (i > 0) host[size++] = '.';
      if (byte >= 100) host[size++] = static_cast<char>('0' + byte / 100);
      if (byte >= 10) host[size++] = static_cast<char>('0' + byte / 10 % 10);
      host[size++] = static_cast<char>('0' + byte % 10);
    }
    out.append(host, size);
    port = ntohs(in4.sin_port);
  } else if (address.sa_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    out += '[';
    out.append(host);
    out += ']';
    port = ntohs(in6.sin6_port);
  } else {
    out += '-';
    return;
  }
  char digits[8] = ":";
  const auto end = std::to_chars(digits + 1, digits + sizeof digits, port).ptr;
  out.append(digits, static_cast<size_t>(end - digits));
}

std::string address_text(const sockaddr& address) {
  std::string text;
  append_address_text(text, address);
  return text;
}

}  // namespace wsgate
