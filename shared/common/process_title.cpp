// Process titles for ps (see process_title.h).
#include "common/process_title.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/unix_socket.h"

extern char** environ;

namespace wsgate {
namespace {

// The contiguous memory the kernel reports as the command line: argv's
// strings [start, argv_end) and the environment strings after them
// [argv_end, end). Empty until init_process_title().
char* title_start = nullptr;
char* title_argv_end = nullptr;
char* title_end = nullptr;

// The moved environment, owned here for the life of the process: setenv()
// may later replace entries of environ or the array itself, and what it
// replaces must stay reachable (it is never freed, and LeakSanitizer must
// not call it lost).
std::vector<std::unique_ptr<char[]>>& moved_environment() {
  static auto* strings = new std::vector<std::unique_ptr<char[]>>;
  return *strings;
}

}  // namespace

void init_process_title(int argc, char** argv) {
  if (argc <= 0 || argv == nullptr || argv[0] == nullptr || title_start != nullptr) return;
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc; ++i) {
    if (argv[i] != end) break;  // not laid out contiguously: stop at the gap
    end = argv[i] + std::strlen(argv[i]) + 1;
  }
  char* const argv_end = end;
  size_t count = 0;
  while (environ != nullptr && environ[count] != nullptr) ++count;
  // The environment strings move to the heap, so their memory can carry
  // the title; those not right after argv stay where they are.
  auto& owned = moved_environment();
  owned.push_back(std::make_unique<char[]>((count + 1) * sizeof(char*)));  // the array
  char** copy = reinterpret_cast<char**>(owned.back().get());
  for (size_t i = 0; i < count; ++i) {
    if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
    const size_t size = std::strlen(environ[i]) + 1;
    owned.push_back(std::make_unique<char[]>(size));
    std::memcpy(owned.back().get(), environ[i], size);
    copy[i] = owned.back().get();
  }
  copy[count] = nullptr;
  environ = copy;
  title_start = argv[0];
  title_argv_end = argv_end;
  title_end = end;
}

void set_process_title(std::string_view comm, std::initializer_list<std::string_view> words) {
  const std::string name(comm.substr(0, 15));
  if (prctl(PR_SET_NAME, name.c_str(), 0, 0, 0) != 0) {
    error_log().warn("prctl(PR_SET_NAME, \"{}\"): {}", name, errno_text(errno));
  }
  if (title_start == nullptr) return;
  std::string joined;
  for (std::string_view word : words) {
    joined.append(word);
    joined.push_back('\0');
  }
  const size_t argv_size = static_cast<size_t>(title_argv_end - title_start);
  const size_t total_size = static_cast<size_t>(title_end - title_start);
  if (joined.size() > argv_size) {
    // One string: the kernel reads past argv's end into the environment
    // area only up to the first NUL, and only when argv's last byte is not
    // NUL (which a string longer than argv's memory makes sure of).
    for (size_t i = 0; i + 1 < joined.size(); ++i) {
      if (joined[i] == '\0') joined[i] = ' ';
    }
    if (joined.size() > total_size) {
      joined.resize(total_size - 1);
      joined.push_back('\0');
    }
  }
  std::memset(title_start, 0, total_size);
  std::memcpy(title_start, joined.data(), joined.size());
}

}  // namespace wsgate
