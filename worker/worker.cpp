// run_worker(): process hygiene after fork, then the worker loop.
#include "worker/worker.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "common/log.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

// The supervisor's signal watchers stay in libuv's process-wide signal
// table across fork(). Left there, libuv would believe SIGCHLD already has
// its handler (reset_signals() removed it), so the worker's own SIGCHLD
// watcher, which uv_spawn needs, would never hear a child exit, and a
// signal would be written to the supervisor's loop pipe. Stopping them
// takes them out and runs no supervisor code.
void forget_parent_signal_watchers(uv_loop_t* parent) {
  if (parent == nullptr) return;
  uv_walk(
      parent,
      [](uv_handle_t* handle, void*) {
        if (handle->type == UV_SIGNAL) uv_signal_stop(reinterpret_cast<uv_signal_t*>(handle));
      },
      nullptr);
}

// libuv serialises its signal table with a lock pipe that its fork handler
// recreates in the child: a blocking, close-on-exec pipe holding one byte
// while unlocked. Its fds are private to libuv, so they are recognised by
// those traits; closing them would make every later uv_signal_start (and
// so uv_spawn) abort. Returns both ends when `fds` holds such a pair.
std::vector<int> libuv_lock_pipe(const std::vector<int>& fds) {
  struct End {
    int fd;
    ino_t inode;
    bool reader;
  };
  std::vector<End> ends;
  for (int fd : fds) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) continue;
    const int fd_flags = fcntl(fd, F_GETFD);
    const int fl_flags = fcntl(fd, F_GETFL);
    if (fd_flags < 0 || !(fd_flags & FD_CLOEXEC) || fl_flags < 0 || (fl_flags & O_NONBLOCK)) continue;
    const int mode = fl_flags & O_ACCMODE;
    int buffered = 0;
    if (mode == O_RDONLY && (ioctl(fd, FIONREAD, &buffered) != 0 || buffered != 1)) continue;
    if (mode != O_RDONLY && mode != O_WRONLY) continue;
    ends.push_back({fd, st.st_ino, mode == O_RDONLY});
  }
  std::vector<int> pair;
  for (const End& reader : ends) {
    if (!reader.reader) continue;
    for (const End& writer : ends) {
      if (!writer.reader && writer.inode == reader.inode) {
        pair.push_back(reader.fd);
        pair.push_back(writer.fd);
      }
    }
  }
  return pair;
}

// Closes every fd this process inherited except `keep`, stdio and libuv's
// lock pipe: the lock file, the control socket, other workers' channels
// and listen sockets, and the supervisor's epoll and signal fds belong to
// the supervisor, and a worker holding another slot's listen socket would
// keep connections queued on it that nobody accepts.
void close_inherited_fds(std::vector<int> keep) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  std::vector<int> fds;
  const int dir_fd = dirfd(dir);
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dir_fd) continue;
    if (std::find(keep.begin(), keep.end(), fd) != keep.end()) continue;
    fds.push_back(fd);
  }
  closedir(dir);
  const std::vector<int> lock = libuv_lock_pipe(fds);
  for (int fd : fds) {
    if (std::find(lock.begin(), lock.end(), fd) == lock.end()) close(fd);
  }
}

// Signals belong to the supervisor: a worker ignores the operator's signals
// (a terminal's ^C reaches the whole process group) and keeps the default
// for SIGTERM and SIGKILL, which only the supervisor sends it.
void reset_signals() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &action, nullptr);
  }
  action.sa_handler = SIG_IGN;
  for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2})
    sigaction(sig, &action, nullptr);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
}

}  // namespace

int run_worker(const WorkerSetup& setup) noexcept {
  try {
    forget_parent_signal_watchers(setup.parent_loop);
    reset_signals();
    std::vector<int> keep;
    for (const ListenFd& listen : setup.listen_fds) keep.push_back(listen.fd);
    keep.push_back(setup.channel_fd);
    close_inherited_fds(keep);
    setup_logging(setup.config->log, LogIdentity{"worker", setup.slot, setup.generation});
    Worker worker(setup);
    return worker.run();
  } catch (const std::exception& e) {
    error_log().critical("worker cannot start: {}", e.what());
    return kWorkerExitFatal;
  }
}

}  // namespace wsgate
