// The client side of the control protocol (see control_client.h).
#include "ctl/control_client.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/unix_socket.h"

namespace wsgate::ctl {

RequestResult request(const std::string& socket_path, const std::string& command, int timeout_ms,
                      std::string& answer, std::string& error) {
  const int fd = connect_unix(socket_path);
  if (fd < 0) {
    error = "cannot connect to " + socket_path + ": " + errno_text(fd) + " (is wsgated running?)";
    return RequestResult::CannotConnect;
  }
  const std::string line = command + "\n";
  size_t sent = 0;
  std::string send_error;
  while (sent < line.size()) {
    const ssize_t n = send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      // The daemon may have answered and closed already (a refusal): read
      // what it sent before reporting the send error.
      send_error = "send(" + socket_path + "): " + errno_text(errno);
      break;
    }
    sent += static_cast<size_t>(n);
  }
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

}  // namespace wsgate::ctl
