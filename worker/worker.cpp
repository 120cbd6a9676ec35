// run_worker(): process hygiene after fork, then the worker loop.
#include "worker/worker.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "common/log.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

// Closes every fd this process inherited except `keep` and stdio: the lock
// file, the control socket, other workers' channels and the supervisor's
// epoll and signal fds belong to the supervisor.
void close_inherited_fds(const std::vector<int>& keep) {
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
  for (int fd : fds) close(fd);
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
