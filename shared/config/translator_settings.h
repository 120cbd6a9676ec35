// Reads the translator: section of a route (routes[].translator.*) and
// checks its rules; reads the Redis password file; parses and matches the
// trusted_proxies address ranges.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"
#include "config/section_reader.h"

namespace wsgate::config {

// Reads every routes[].translator key of one route item with `r` into
// route.translator, `route.relay` already read. Reports: a translator
// section on a route whose relay is not translator; a translator route
// without a domain; a domain that is not a DNS name or an IPv4 address (an
// IPv6 address has ':', which separates the fields of a bus address);
// a username or router_name that is empty or has a ':' (they become parts
// of Redis keys); a trusted_proxies entry that parse_address_range()
// refuses; an empty log_protect entry. Reads password_file (when not "")
// into route.translator.password with one trailing "\n" removed; a file
// that cannot be read, or that holds no password, is reported naming the
// file and the key that named it. Nothing is read from the disk for routes
// whose relay is not translator, and their translator is left at its
// defaults.
void read_translator(SectionReader& r, Diagnostics& errors, RouteConfig& route);

// Parses one trusted_proxies entry: a numeric IPv4 or IPv6 address (a
// single host: /32 or /128), or ADDRESS/PREFIX with PREFIX 0..32 (IPv4) or
// 0..128 (IPv6) in decimal; no bits may be set after the prefix
// (10.0.0.1/8 is refused, 10.0.0.0/8 is meant). Names are never resolved.
// On failure returns nullopt and sets `error` to what is wrong, without
// repeating the text. `text` of the result is the entry as written.
std::optional<AddressRange> parse_address_range(std::string_view text, std::string& error);

// True when `peer` (an AF_INET sockaddr_in or AF_INET6 sockaddr_in6, as
// libuv's uv_tcp_getpeername fills it) lies in one of `ranges`. An IPv4
// peer is compared with the IPv4 ranges; an IPv6 peer with the IPv6
// ranges, and an IPv4-mapped one (::ffff:a.b.c.d, from a dual-stack
// listener) also with the IPv4 ranges, as a.b.c.d. A null peer or another
// family is in no range. Pure: no allocation, no system call.
bool address_in_ranges(const std::vector<AddressRange>& ranges, const sockaddr* peer);

}  // namespace wsgate::config
