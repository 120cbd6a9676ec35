// The client side of the control protocol: connect to the unix socket,
// send one command line, read one JSON answer.
#pragma once

#include <string>

namespace wsgate::ctl {

enum class RequestResult { Ok, CannotConnect, Failed };

// Sends `command` to the daemon at `socket_path` and reads its answer
// (without the final newline) into `answer`. `timeout_ms` < 0 waits as long
// as the daemon takes (reload, stop: the daemon bounds those). On failure
// `error` says what happened.
RequestResult request(const std::string& socket_path, const std::string& command, int timeout_ms,
                      std::string& answer, std::string& error);

}  // namespace wsgate::ctl
