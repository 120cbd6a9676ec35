// The pid/lock file: flock() proves that one supervisor runs per file; the
// pid inside is for operators and init scripts.
#pragma once

#include <sys/types.h>

#include <string>

namespace wsgate::supervisor {

class LockFile {
 public:
  LockFile() = default;
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;
  ~LockFile();  // closes the fd (releasing the lock) but leaves the file

  // Opens `path` (O_CREAT, 0644) and takes flock(LOCK_EX | LOCK_NB) on it.
  // Returns "" on success, "already running (pid N)" when another process
  // holds it, or the failed call with its error. A file left by a crashed
  // supervisor is not locked (flock dies with the process) and is reused.
  std::string acquire(const std::string& path);

  // Replaces the file's content with "<pid>\n". Returns "" or the error.
  std::string write_pid(pid_t pid);

  // Clean exit: unlinks the file while still holding the lock, then closes.
  void remove();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace wsgate::supervisor
