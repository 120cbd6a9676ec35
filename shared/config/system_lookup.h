// What the loader asks the running system about a relay: exec route:
// programs on disk and in PATH, directories, and users and groups.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/values.h"

namespace wsgate::config {

// Searched for a bare program name when the loading process has no PATH
// (execvp(3) uses about the same).
constexpr std::string_view kDefaultSearchPath = "/usr/local/bin:/usr/bin:/bin";

// The loading process's PATH, or kDefaultSearchPath when it is unset.
std::string program_search_path();

// Resolves the program of an exec command as execvp(3) would, once, when
// the configuration is loaded. A `program` containing '/' must be absolute
// and is checked as it is; a bare name is looked for in each directory of
// `search_path` (a PATH value) in order, skipping empty and relative
// entries, and the first executable match wins. The value is the absolute
// path of an existing regular file the loading process may execute
// (access(2) X_OK); the error is a sentence without the program itself.
Parsed<std::string> find_program(std::string_view program, std::string_view search_path);

// The realpath(3) form of `path` (absolute, no symlink, no . or ..) when it
// names an existing directory; otherwise what is wrong.
Parsed<std::string> find_directory(const std::string& path);

// A user of the user database, or a bare uid that has no entry there.
struct Account {
  int64_t uid = -1;
  int64_t gid = -1;  // primary group; -1 for a bare uid without an entry
};

// Looks `name` up with getpwnam_r(3); a name of digits that is no user
// name is a uid (its primary group from getpwuid_r(3), when it has an
// entry). The error says why there is no such user.
Parsed<Account> lookup_user(std::string_view name);

// Looks `name` up with getgrnam_r(3); a name of digits that is no group
// name is a gid, which need not have an entry.
Parsed<int64_t> lookup_group(std::string_view name);

}  // namespace wsgate::config
