// Detaching from the terminal with a readiness pipe (see daemonize.h).
#include "supervisor/daemonize.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/unix_socket.h"

namespace wsgate::supervisor {
namespace {

constexpr std::string_view kReady = "OK\n";
constexpr std::string_view kErrorPrefix = "ERR ";

[[noreturn]] void die(const std::string& text) {
  std::fprintf(stderr, "wsgated: %s\n", text.c_str());
  std::exit(1);
}

// The launching process: waits for the daemon's word and exits with it.
[[noreturn]] void wait_for_daemon(int read_fd, pid_t first_child) {
  // The first child exits right after the second fork; reap it.
  while (waitpid(first_child, nullptr, 0) < 0 && errno == EINTR) {
  }
  std::string message;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(read_fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buffer, static_cast<size_t>(n));
    // Workers may still hold a copy of the pipe for a moment; "OK" is final.
    if (message == kReady) _exit(0);
  }
  if (message.starts_with(kErrorPrefix)) {
    std::string text = message.substr(kErrorPrefix.size());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    std::fprintf(stderr, "wsgated: %s\n", text.c_str());
    _exit(1);
  }
  if (message == kReady) _exit(0);
  std::fprintf(stderr, "wsgated: daemon exited during startup\n");
  _exit(1);
}

void redirect_stdio() {
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return;  // keep the inherited stdio; nothing better to do
  for (int fd = 0; fd <= 2; ++fd) dup2(null_fd, fd);
  if (null_fd > 2) close(null_fd);
}

}  // namespace

ReadinessPipe& ReadinessPipe::operator=(ReadinessPipe&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ReadinessPipe::~ReadinessPipe() {
  if (fd_ >= 0) close(fd_);
}

void ReadinessPipe::report_ready() {
  write_all(kReady);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void ReadinessPipe::report_error(std::string_view text) {
  std::string message(kErrorPrefix);
  message += text;
  message += '\n';
  write_all(message);
  fd_ = -1;  // deliberately not closed: exit() closes it (see the header)
}

// The launcher may have died (killed by its own caller): EPIPE is ignored,
// as SIGPIPE is ignored in the supervisor.
void ReadinessPipe::write_all(std::string_view message) {
  if (fd_ < 0) return;
  size_t written = 0;
  while (written < message.size()) {
    const ssize_t n = write(fd_, message.data() + written, message.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
}

ReadinessPipe daemonize() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) die("pipe2(O_CLOEXEC): " + errno_text(errno));
  std::fflush(nullptr);  // nothing buffered may be written twice
  const pid_t first = fork();
  if (first < 0) die("fork(): " + errno_text(errno));
  if (first > 0) {
    close(fds[1]);
    wait_for_daemon(fds[0], first);
  }
  close(fds[0]);
  ReadinessPipe readiness(fds[1]);
  if (setsid() < 0) {
    readiness.report_error("setsid(): " + errno_text(errno));
    _exit(1);
  }
  const pid_t second = fork();
  if (second < 0) {
    readiness.report_error("fork(): " + errno_text(errno));
    _exit(1);
  }
  if (second > 0) _exit(0);  // the intermediate session leader; its fd copy closes
  if (chdir("/") != 0) {
    readiness.report_error("chdir(\"/\"): " + errno_text(errno));
    _exit(1);
  }
  umask(022);
  redirect_stdio();
  return readiness;
}

}  // namespace wsgate::supervisor
