// The static: section of a route (see static_settings.h).
#include "config/static_settings.h"

#include "config/system_lookup.h"

namespace wsgate::config {
namespace {

constexpr std::string_view kStatic = "routes[].static";
constexpr std::string_view kRoot = "routes[].static.root";
constexpr std::string_view kIndex = "routes[].static.index";
constexpr std::string_view kPath = "routes[].path";

void check_index(SectionReader& r, const std::string& index) {
  if (!r.ok(kIndex)) return;
  if (index.empty() || index == "." || index == "..") {
    r.error(kIndex, "must be a file name, such as index.html", got_text(index));
  } else if (index.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
    r.error(kIndex, "must be a file name in the directory, without / or NUL", got_text(index));
  }
}

}  // namespace

void read_static(SectionReader& r, RouteConfig& route) {
  StaticConfig& files = route.static_files;
  files.root = r.path(kRoot);
  files.index = r.text(kIndex);
  files.follow_symlinks = r.boolean("routes[].static.follow_symlinks");
  files.dot_files = r.boolean("routes[].static.dot_files");

  if (!route.is_static()) {
    if (r.present(kStatic) && r.ok("routes[].relay")) {
      r.error(kStatic, "is only read by routes whose relay is static",
              "relay " + got_text(route.relay));
    }
    files = StaticConfig{};
    return;
  }

  if (r.ok(kPath) && !route.path.empty() && route.path.front() == '/' && route.path.back() != '/') {
    r.error(kPath,
            "must end with / on a static route: it is the prefix of the URLs served, such as / "
            "or /app/",
            got_text(route.path));
  }
  for (std::string_view key :
       {"routes[].origins", "routes[].subprotocols", "routes[].compression"}) {
    if (r.present(key)) {
      r.error(key, "is only read by WebSocket routes; a static route answers plain requests",
              "relay static");
    }
  }
  if (r.ok(kRoot)) {
    if (files.root.empty()) {
      r.error(kRoot, "is required by a relay: static route (the directory to serve)", "nothing");
    } else if (Parsed<std::string> found = find_directory(files.root); !found) {
      r.error(kRoot, found.error, got_text(files.root));
    } else {
      files.root = std::move(*found.value);
    }
  }
  check_index(r, files.index);
}

}  // namespace wsgate::config
