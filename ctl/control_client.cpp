// The client side of the control protocol (see control_client.h).
#include "ctl/control_client.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/unix_socket.h"

namespace wsgate::ctl {

namespace {

// Connects and sends the command line. Returns the socket, or -1 with
// `error` set. A failed send leaves `send_error` set and the socket open:
// the daemon may have answered and closed already (a refusal), and what
// it sent is read before the send error is reported.
int connect_and_send(const std::string& socket_path, const std::string& command, std::string& error,
                     std::string& send_error) {
  const int fd = connect_unix(socket_path);
  if (fd < 0) {
    error = "cannot connect to " + socket_path + ": " + errno_text(fd) + " (is wsgated running?)";
    return -1;
  }
  const std::string line = command + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      send_error = "send(" + socket_path + "): " + errno_text(errno);
      break;
    }
    sent += static_cast<size_t>(n);
  }
  return fd;
}

}  // namespace

RequestResult request(const std::string& socket_path, const std::string& command, int timeout_ms,
                      std::string& answer, std::string& error) {
  std::string send_error;
  const int fd = connect_and_send(socket_path, command, error, send_error);
  if (fd < 0) return RequestResult::CannotConnect;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  answer.clear();
  char buffer[16384];
  for (;;) {
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        error = "no answer from wsgated within " + std::to_string(timeout_ms / 1000) + " s";
        close(fd);
        return RequestResult::Failed;
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd readable{fd, POLLIN, 0};
    const int ready = poll(&readable, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      error = "poll(" + socket_path + "): " + errno_text(errno);
      close(fd);
      return RequestResult::Failed;
    }
    if (ready == 0) continue;
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && !answer.empty()) break;
    if (n < 0) {
      error = send_error.empty() ? "read(" + socket_path + "): " + errno_text(errno) : send_error;
      close(fd);
      return RequestResult::Failed;
    }
    if (n == 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.empty()) {
    error = send_error.empty() ? "wsgated closed the connection without an answer" : send_error;
    return RequestResult::Failed;
  }
  return RequestResult::Ok;
}

RequestResult stream_request(const std::string& socket_path, const std::string& command,
                             const std::function<bool(std::string_view)>& on_line,
                             const volatile sig_atomic_t& interrupted, std::string& error) {
  std::string send_error;
  const int fd = connect_and_send(socket_path, command, error, send_error);
  if (fd < 0) return RequestResult::CannotConnect;
  std::string input;
  bool any_line = false;
  char buffer[16384];
  RequestResult result = RequestResult::Ok;
  // SIGINT and SIGTERM are blocked except inside ppoll(), so that one
  // arriving between the check of `interrupted` and the wait still cuts
  // the wait short.
  sigset_t blocked;
  sigset_t during_wait;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigprocmask(SIG_BLOCK, &blocked, &during_wait);
  sigdelset(&during_wait, SIGINT);
  sigdelset(&during_wait, SIGTERM);
  while (!interrupted) {
    // No timeout: a follower waits for events as long as the daemon runs.
    pollfd readable{fd, POLLIN, 0};
    const int ready = ppoll(&readable, 1, nullptr, &during_wait);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      error = "poll(" + socket_path + "): " + errno_text(errno);
      result = RequestResult::Failed;
      break;
    }
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = !send_error.empty() && !any_line ? send_error
                                               : "read(" + socket_path + "): " + errno_text(errno);
      result = RequestResult::Failed;
      break;
    }
    if (n == 0) {
      if (!any_line) {
        error = send_error.empty() ? "wsgated closed the connection without an answer" : send_error;
        result = RequestResult::Failed;
      }
      break;
    }
    input.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    bool stop = false;
    for (size_t newline = input.find('\n'); newline != std::string::npos;
         newline = input.find('\n', start)) {
      any_line = true;
      if (!on_line(std::string_view(input).substr(start, newline - start))) {
        stop = true;
        break;
      }
      start = newline + 1;
    }
    input.erase(0, start);
    if (stop) break;
  }
  close(fd);
  sigprocmask(SIG_UNBLOCK, &blocked, nullptr);
  return result;
}

}  // namespace wsgate::ctl
