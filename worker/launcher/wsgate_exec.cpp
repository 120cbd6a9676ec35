// wsgate-exec: the launcher between a worker and an exec route's program.
// The worker spawns it (uv_spawn has no hook between fork and exec) as
//
//   wsgate-exec PARENT_PID [-n NOFILE] [-p NPROC] [-a AS] [-c CPU] -- PROGRAM ARG...
//
// with the program's environment, working directory, user and group
// already in place. It closes every fd above stdio (whatever the worker
// failed to mark close-on-exec: no wsgate fd reaches the program), makes
// the parent's death fatal (PR_SET_PDEATHSIG,
// so no child outlives a kill -9 of its worker), applies the resource
// limits as both soft and hard limits (the program cannot raise them), and
// execs the program. Failures go to stderr, which the worker logs, and exit
// with 127 (cannot run the program) or 126 (cannot apply a limit), as a
// shell does.
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int kCannotRun = 127;
constexpr int kCannotLimit = 126;

bool parse_number(const char* text, unsigned long long& value) {
  if (text == nullptr || *text < '0' || *text > '9') return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtoull(text, &end, 10);
  return errno == 0 && end != nullptr && *end == '\0';
}

int resource_of(char flag) {
  switch (flag) {
    case 'n':
      return RLIMIT_NOFILE;
    case 'p':
      return RLIMIT_NPROC;
    case 'a':
      return RLIMIT_AS;
    case 'c':
      return RLIMIT_CPU;
  }
  return -1;
}

// Closes every fd above 2. close_range() needs Linux 5.9; older kernels
// get the /proc walk.
void close_inherited_fds() {
  if (close_range(3, ~0U, 0) == 0) return;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int dir_fd = dirfd(dir);
  int fds[1024];
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd > 2 && fd != dir_fd && count < 1024) fds[count++] = fd;
  }
  closedir(dir);
  for (int k = 0; k < count; ++k) close(fds[k]);
}

int usage() {
  std::fputs(
      "wsgate-exec: internal launcher of wsgated's exec relay\n"
      "usage: wsgate-exec PARENT_PID [-n NOFILE] [-p NPROC] [-a AS] [-c CPU] -- PROGRAM ARG...\n",
      stderr);
  return kCannotRun;
}

}  // namespace

int main(int argc, char** argv) {
  close_inherited_fds();
  unsigned long long parent = 0;
  if (argc < 4 || !parse_number(argv[1], parent)) return usage();
  // Ask first, check second: a parent that died before the prctl would
  // otherwise go unnoticed (the child is then adopted by another process).
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    std::fprintf(stderr, "wsgate-exec: prctl(PR_SET_PDEATHSIG, SIGKILL): %s\n", std::strerror(errno));
    return kCannotRun;
  }
  if (static_cast<unsigned long long>(getppid()) != parent) return kCannotRun;

  int i = 2;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; i += 2) {
    const int resource = argv[i][0] == '-' && argv[i][2] == '\0' ? resource_of(argv[i][1]) : -1;
    unsigned long long value = 0;
    if (resource < 0 || i + 1 >= argc || !parse_number(argv[i + 1], value)) return usage();
    const rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    if (setrlimit(resource, &limit) != 0) {
      std::fprintf(stderr, "wsgate-exec: setrlimit(%s, %llu): %s\n", argv[i], value,
                   std::strerror(errno));
      return kCannotLimit;
    }
  }
  if (i + 1 >= argc) return usage();
  char** program = argv + i + 1;
  execv(program[0], program);
  std::fprintf(stderr, "wsgate-exec: execv(%s): %s\n", program[0], std::strerror(errno));
  return kCannotRun;
}
