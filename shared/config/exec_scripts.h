// The index of an exec route's scripts_dir, built at load time so that an
// upgrade maps a URL to a program without touching the disk.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace wsgate::config {

// Walks `dir` (absolute, symlink-free) and fills `scripts` with every
// executable regular file, by its URL sub-path ("/a.sh", "/sub/b.sh"),
// mapped to its absolute path. Symlinks are followed only when they
// resolve inside `dir`; entries that cannot be read are left out. Returns
// an error text, or empty. Bounded by kMaxScripts entries and
// kMaxScriptDepth levels.
inline constexpr size_t kMaxScripts = 10000;
inline constexpr int kMaxScriptDepth = 16;
std::string index_scripts(const std::string& dir,
                          std::map<std::string, std::string, std::less<>>& scripts);

}  // namespace wsgate::config
