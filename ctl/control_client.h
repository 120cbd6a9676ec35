// The client side of the control protocol: connect to the unix socket,
// send one command line, read one JSON answer (or, for a stream, lines
// until the daemon closes).
#pragma once

#include <csignal>
#include <functional>
#include <string>
#include <string_view>

namespace wsgate::ctl {

enum class RequestResult { Ok, CannotConnect, Failed };

// Sends `command` to the daemon at `socket_path` and reads its answer
// (without the final newline) into `answer`. `timeout_ms` < 0 waits as long
// as the daemon takes (reload, stop: the daemon bounds those). On failure
// `error` says what happened.
RequestResult request(const std::string& socket_path, const std::string& command, int timeout_ms,
                      std::string& answer, std::string& error);

// Sends `command` and hands each line of the answer (without its newline)
// to `on_line` until the daemon closes the connection, `on_line` returns
// false, or `interrupted` turns non-zero (a signal handler sets it; the
// wait is cut short by the signal). Failed when no line came at all.
RequestResult stream_request(const std::string& socket_path, const std::string& command,
                             const std::function<bool(std::string_view)>& on_line,
                             const volatile sig_atomic_t& interrupted, std::string& error);

}  // namespace wsgate::ctl
