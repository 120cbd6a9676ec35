// Programs, directories, users and groups for exec routes (see system_lookup.h).
#include "config/system_lookup.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace wsgate::config {
namespace {

// What is wrong with `path` as a program to run, or "" when it is an
// executable regular file.
std::string check_executable(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return "does not exist";
    return std::string("cannot be checked: stat: ") + std::strerror(errno);
  }
  if (S_ISDIR(status.st_mode)) return "is a directory, not a program";
  if (!S_ISREG(status.st_mode)) return "is not a regular file";
  if (::access(path.c_str(), X_OK) != 0) {
    if (errno == EACCES) return "is not executable";
    return std::string("cannot be checked: access(X_OK): ") + std::strerror(errno);
  }
  return "";
}

// A uid or gid written as decimal digits, below the (id_t)-1 that means
// "unchanged" to setuid(2) and friends.
std::optional<int64_t> numeric_id(std::string_view text) {
  if (text.empty() || text.size() > 10 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t value = std::stoll(std::string(text));
  if (value >= static_cast<int64_t>(static_cast<uid_t>(-1))) return std::nullopt;
  return value;
}

// True when a getpwnam_r-style error number means "no such entry": POSIX
// lets these report a name that is not there.
bool is_not_found(int error) {
  return error == 0 || error == ENOENT || error == ESRCH || error == EBADF || error == EPERM;
}

// Calls a getpwnam_r-style `lookup(buffer, size, &result)` with a buffer
// that grows while it answers ERANGE. Returns its error number (0 when it
// answered, found or not).
template <typename Lookup>
int with_buffer(Lookup lookup) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  size_t size = hint > 0 ? static_cast<size_t>(hint) : 16384;
  constexpr size_t kMaxBuffer = 1 << 20;
  for (;;) {
    std::vector<char> buffer(size);
    int error = lookup(buffer.data(), buffer.size());
    if (error != ERANGE || size >= kMaxBuffer) return error;
    size *= 2;
  }
}

}  // namespace

std::string program_search_path() {
  const char* path = std::getenv("PATH");
  return path != nullptr ? std::string(path) : std::string(kDefaultSearchPath);
}

Parsed<std::string> find_program(std::string_view program, std::string_view search_path) {
  using Result = Parsed<std::string>;
  if (program.empty()) return Result::fail("must name a program");
  if (program.find('/') != std::string_view::npos) {
    if (program.front() != '/') {
      return Result::fail("must be an absolute path, or a name without / to look up in PATH");
    }
    std::string path(program);
    std::string why = check_executable(path);
    return why.empty() ? Result::ok(std::move(path)) : Result::fail(std::move(why));
  }
  std::string rejected;  // the first match that is not executable, for the message
  std::string_view rest = search_path;
  while (true) {
    const size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    if (!dir.empty() && dir.front() == '/') {
      std::string candidate(dir);
      if (candidate.back() != '/') candidate += '/';
      candidate += program;
      std::string why = check_executable(candidate);
      if (why.empty()) return Result::ok(std::move(candidate));
      if (why != "does not exist" && rejected.empty()) rejected = candidate + " " + why;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  std::string where =
      search_path.empty() ? std::string("PATH (empty)") : "PATH=" + std::string(search_path);
  if (!rejected.empty()) {
    return Result::fail("not found as an executable file in " + where + "; " + rejected);
  }
  return Result::fail("not found in " + where);
}

Parsed<std::string> find_directory(const std::string& path) {
  using Result = Parsed<std::string>;
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Result::fail("does not exist");
    return Result::fail(std::string("cannot be checked: stat: ") + std::strerror(errno));
  }
  if (!S_ISDIR(status.st_mode)) return Result::fail("is not a directory");
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
  if (real == nullptr) return Result::fail(std::string("realpath: ") + std::strerror(errno));
  return Result::ok(std::string(real.get()));
}

Parsed<Account> lookup_user(std::string_view name) {
  using Result = Parsed<Account>;
  const std::string text(name);
  passwd entry{};
  passwd* found = nullptr;
  int error = with_buffer([&](char* buffer, size_t size) {
    return ::getpwnam_r(text.c_str(), &entry, buffer, size, &found);
  });
  if (found != nullptr) return Result::ok(Account{entry.pw_uid, entry.pw_gid});
  if (!is_not_found(error)) {
    return Result::fail(std::string("cannot be looked up: getpwnam_r: ") + std::strerror(error));
  }
  std::optional<int64_t> uid = numeric_id(name);
  if (!uid) return Result::fail("names no user of this system");
  error = with_buffer([&](char* buffer, size_t size) {
    return ::getpwuid_r(static_cast<uid_t>(*uid), &entry, buffer, size, &found);
  });
  if (found == nullptr && !is_not_found(error)) {
    return Result::fail(std::string("cannot be looked up: getpwuid_r: ") + std::strerror(error));
  }
  return Result::ok(Account{*uid, found != nullptr ? static_cast<int64_t>(entry.pw_gid) : -1});
}

Parsed<int64_t> lookup_group(std::string_view name) {
  using Result = Parsed<int64_t>;
  const std::string text(name);
  group entry{};
  group* found = nullptr;
  int error = with_buffer([&](char* buffer, size_t size) {
    return ::getgrnam_r(text.c_str(), &entry, buffer, size, &found);
  });
  if (found != nullptr) return Result::ok(static_cast<int64_t>(entry.gr_gid));
  if (!is_not_found(error)) {
    return Result::fail(std::string("cannot be looked up: getgrnam_r: ") + std::strerror(error));
  }
  std::optional<int64_t> gid = numeric_id(name);
  if (!gid) return Result::fail("names no group of this system");
  return Result::ok(*gid);
}

}  // namespace wsgate::config
