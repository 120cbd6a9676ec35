// The pid/lock file (see lock_file.h).
#include "supervisor/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "common/unix_socket.h"

namespace wsgate::supervisor {
namespace {

// The pid written in the file by its holder, or "" when it cannot be read
// (the holder may not have written it yet).
std::string read_pid(int fd) {
  char buffer[32] = {};
  const ssize_t n = pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return "";
  std::string text(buffer, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char c : text) {
    if (c < '0' || c > '9') return "";
  }
  return text;
}

}  // namespace

LockFile::~LockFile() {
  if (fd_ >= 0) close(fd_);
}

std::string LockFile::acquire(const std::string& path) {
  // A supervisor that exits unlinks the file just before releasing the lock,
  // so the inode locked here may have lost its name meanwhile: then lock the
  // new file instead. Three tries are plenty; each needs an exiting rival.
  for (int attempt = 0; attempt < 3; ++attempt) {
    // O_NOFOLLOW: a symlink planted at the path must not make root write
    // its pid into (or truncate) another file; a hard link is refused below.
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
      const int open_error = errno;
      const std::string error =
          open_error == ELOOP
              ? "pid file " + path + " is a symbolic link; refusing to use it"
              : "open(" + path + ", O_RDWR|O_CREAT|O_NOFOLLOW, 0644): " + errno_text(open_error);
      error_log().error("{}", error);
      return error;
    }
    struct stat opened {};
    if (fstat(fd, &opened) == 0 && (!S_ISREG(opened.st_mode) || opened.st_nlink > 1)) {
      close(fd);
      const std::string error =
          "pid file " + path +
          (S_ISREG(opened.st_mode) ? " has other hard links" : " is not a regular file") +
          "; refusing to use it";
      error_log().error("{}", error);
      return error;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (error == EWOULDBLOCK) {
        const std::string pid = read_pid(fd);
        close(fd);
        return pid.empty() ? "already running (lock " + path + " is held)"
                           : "already running (pid " + pid + ")";
      }
      close(fd);
      const std::string text = "flock(" + path + ", LOCK_EX|LOCK_NB): " + errno_text(error);
      error_log().error("{}", text);
      return text;
    }
    struct stat held {};
    struct stat named {};
    if (fstat(fd, &held) == 0 && stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      fd_ = fd;
      path_ = path;
      return "";
    }
    close(fd);
  }
  return "cannot lock " + path + ": it keeps being replaced";
}

std::string LockFile::write_pid(pid_t pid) {
  const std::string text = std::to_string(pid) + "\n";
  if (ftruncate(fd_, 0) != 0) {
    const std::string error = "ftruncate(" + path_ + ", 0): " + errno_text(errno);
    error_log().error("{}", error);
    return error;
  }
  const ssize_t n = pwrite(fd_, text.data(), text.size(), 0);
  if (n != static_cast<ssize_t>(text.size())) {
    const std::string error =
        "pwrite(" + path_ + "): " + (n < 0 ? errno_text(errno) : std::string("short write"));
    error_log().error("{}", error);
    return error;
  }
  return "";
}

void LockFile::remove() {
  if (fd_ < 0) return;
  if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
    error_log().warn("unlink({}): {}", path_, errno_text(errno));
  }
  close(fd_);
  fd_ = -1;
}

}  // namespace wsgate::supervisor
