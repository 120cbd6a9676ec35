// Forking a worker and describing how one ended (see worker_process.h).
#include "supervisor/worker_process.h"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "common/log_writer.h"
#include "common/unix_socket.h"
#include "worker/worker.h"

namespace wsgate::supervisor {

std::string_view state_name(WorkerState state) {
  switch (state) {
    case WorkerState::Starting:
      return "Starting";
    case WorkerState::Ready:
      return "Ready";
    case WorkerState::Draining:
      return "Draining";
    case WorkerState::Stopping:
      return "Stopping";
    case WorkerState::Exited:
      return "Exited";
  }
  return "Unknown";
}

const char* signal_name(int signum) {
  switch (signum) {
    case SIGCHLD:
      return "SIGCHLD";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGHUP:
      return "SIGHUP";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGABRT:
      return "SIGABRT";
    case SIGKILL:
      return "SIGKILL";
  }
  return "signal";
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    std::string text = "killed by signal " + std::to_string(signal);
    if (const char* name = sigdescr_np(signal)) text += std::string(" (") + name + ")";
    if (WCOREDUMP(status)) text += ", core dumped";
    return text;
  }
  return "ended with wait status " + std::to_string(status);
}

int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int fork_worker(const WorkerSetup& setup, ForkResult& result) {
  const int slot = setup.slot;
  const unsigned generation = setup.generation;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    const int error = errno;
    error_log().error("socketpair(AF_UNIX, SOCK_STREAM) for worker slot {}: {}", slot,
                      errno_text(error));
    return -error;
  }
  // Whatever sits in a stdio buffer would be written twice. (Queued log
  // lines are not: the child drops its copy of the log queue.)
  std::fflush(nullptr);
  // Signals stay blocked across fork() until the child has reset their
  // dispositions (run_worker): a signal caught in between would run the
  // supervisor's libuv handler in the child, which writes to the
  // supervisor's own loop pipe.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = fork();
  if (pid != 0) pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    const int error = errno;
    error_log().error("fork() for worker slot {} gen {}: {}", slot, generation, errno_text(error));
    close(fds[0]);
    close(fds[1]);
    return -error;
  }
  if (pid == 0) {
    // The child: never returns, never runs the supervisor's loop.
    close(fds[0]);
    int code = kWorkerExitError;
    try {
      WorkerSetup child = setup;
      child.channel_fd = fds[1];
      code = run_worker(child);
    } catch (...) {
      code = kWorkerExitError;
    }
    // _exit() skips nothing the worker needs but its queued log lines.
    flush_log_queue(std::chrono::milliseconds(2000));
    _exit(code);
  }
  close(fds[1]);
  result.pid = pid;
  result.channel_fd = fds[0];
  return 0;
}

}  // namespace wsgate::supervisor
