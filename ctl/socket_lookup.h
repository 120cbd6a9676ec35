// Where wsgatectl finds the control socket when it is not given --socket:
// from the configuration file, even one that does not load.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsgate::ctl {

// The control socket for the config file at `config_path`; never "".
// A file that loads names it (its control_socket, or the default). A file
// that does not load (invalid, a YAML syntax error, deleted, unreadable) is
// read as YAML for its top-level control_socket key, else scanned line by
// line (scan_control_socket()), else the compiled default
// (run/wsgated.sock) is taken. Relative paths are resolved against the
// file's directory, as the loader does. When the file did not load,
// `note` says why and where the path came from (for a failed connect);
// otherwise it is left empty.
std::string find_control_socket(const std::string& config_path, std::string& note);

// The value of the first line of `text` that sets control_socket
// ("control_socket: /run/x.sock", quoted key or value, JSON-style
// `"control_socket": "...",` too; comments stripped), or nullopt. It does
// not parse YAML: it is for files that do not parse. control_socket is a
// top-level key only, so any indentation is accepted.
std::optional<std::string> scan_control_socket(std::string_view text);

}  // namespace wsgate::ctl
