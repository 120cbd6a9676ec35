// run_worker(): process hygiene after fork, then the worker loop.
#include "worker/worker.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/process_title.h"
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

// Closes the supervisor's descriptors: those it listed in `setup` (lock
// file, readiness pipe, log files, listen sockets this worker does not
// get) and those of its loop: every handle's fd (the control socket and
// its connections, other workers' channels) and the loop's own epoll,
// async, signal, inotify and EMFILE-reserve fds. An explicit list rather than a sweep of
// /proc/self/fd: it works without /proc, and it leaves alone what libuv's
// fork handler made for this process (its signal lock pipe).
void close_supervisor_fds(const WorkerSetup& setup) {
  std::vector<int> fds = setup.close_fds;
  if (uv_loop_t* parent = setup.parent_loop) {
    uv_walk(
        parent,
        [](uv_handle_t* handle, void* arg) {
          uv_os_fd_t fd = -1;
          if (uv_fileno(handle, &fd) == 0) static_cast<std::vector<int>*>(arg)->push_back(fd);
        },
        &fds);
    for (int fd :
         {parent->backend_fd, parent->signal_pipefd[0], parent->signal_pipefd[1],
          parent->async_io_watcher.fd, parent->async_wfd, parent->inotify_fd, parent->emfile_fd}) {
      fds.push_back(fd);
    }
  }
  std::sort(fds.begin(), fds.end());
  fds.erase(std::unique(fds.begin(), fds.end()), fds.end());
  for (int fd : fds) {
    if (fd <= 2 || fd == setup.channel_fd) continue;
    const bool listen_fd = std::any_of(setup.listen_fds.begin(), setup.listen_fds.end(),
                                       [&](const ListenFd& l) { return l.fd == fd; });
    if (!listen_fd) close(fd);
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
    close_supervisor_fds(setup);
    setup_logging(setup.config->log, LogIdentity{"worker", setup.slot, setup.generation});
    const std::string slot = std::to_string(setup.slot);
    const std::string generation = std::to_string(setup.generation);
    set_process_title("wsgated w" + slot + " g" + generation,
                      {"wsgated: worker " + slot + " gen " + generation, "-c", setup.config->path});
    Worker worker(setup);
    return worker.run();
  } catch (const std::exception& e) {
    error_log().critical("worker cannot start: {}", e.what());
    return kWorkerExitFatal;
  }
}

}  // namespace wsgate
