// Reads the static: section of a route (routes[].static.*) and checks the
// rules of static routes: the path is a prefix ending with '/', root is an
// existing directory, index is a plain file name.
#pragma once

#include "config/config.h"
#include "config/section_reader.h"

namespace wsgate::config {

// Reads every routes[].static key of one route item with `r` into
// route.static_files, `route.relay` and `route.path` already read. For a
// static route it reports: a path that does not end with '/'; a missing
// root, or one that is not an existing directory (root becomes its
// realpath, so symlinks in it are resolved once, here); an index that is
// empty, ".", "..", or holds a '/' or NUL; keys that only WebSocket routes
// read (origins, subprotocols, compression). For any other route it
// reports a static section. The directory is checked against the system
// as it is when the file is loaded (start, -t, every reload).
void read_static(SectionReader& r, RouteConfig& route);

}  // namespace wsgate::config
