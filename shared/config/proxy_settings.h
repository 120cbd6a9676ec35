// Reads the proxy: section of a route (routes[].proxy.*) and checks its
// rules; reads and parses the route's token file.
#pragma once

#include "config/config.h"
#include "config/diagnostics.h"
#include "config/section_reader.h"

namespace wsgate::config {

// Reads every routes[].proxy key of one route item with `r` into
// route.proxy, `route.relay` already read. Reports: a proxy section on a
// route whose relay is not proxy; a proxy route with neither or both of
// upstream and token_file; bad upstream syntax; tls keys written while
// tls.enabled is false; tls.ca while tls.verify is false; a server_name
// that is neither a DNS name nor an IP address; verified TLS to a Unix
// socket without a server_name. Reads the token file into
// route.proxy.tokens, its errors naming the file, its line and the key
// that named it. A proxy route that does not write subprotocols offers
// [binary].
void read_proxy(SectionReader& r, Diagnostics& errors, RouteConfig& route);

}  // namespace wsgate::config
