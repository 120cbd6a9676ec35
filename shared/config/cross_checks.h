// Rules that involve more than one key, checked once every key has been
// read: distinct pid file and control socket, watermark order, pings that
// can time out, the watchdog against the stats interval, uniqueness of
// listen addresses, route paths and the health check path, and exec
// children that workers running as the top-level user could not start.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/section_reader.h"

namespace wsgate::config {

// Checks `config` as read by `root` (the document), `listen` and `routes`
// (one reader per item, in file order). A rule is reported at the key
// written later in the file, naming the other key, its value and its line
// (or "by default"); the exec identity rule is reported at the route's
// exec.user or exec.group. Rules whose keys already have errors are
// skipped.
void check_cross_fields(const Config& config, SectionReader& root,
                        std::vector<SectionReader>& listen, std::vector<SectionReader>& routes);

}  // namespace wsgate::config
