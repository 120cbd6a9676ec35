// Socket addresses as text (see address_text.h).
#include "common/address_text.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace wsgate {

std::string address_text(const sockaddr& address) {
  char host[INET6_ADDRSTRLEN] = "";
  if (address.sa_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &in4.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in4.sin_port));
  }
  if (address.sa_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  return "-";
}

}  // namespace wsgate
