// scripts_dir indexing (see exec_scripts.h).
#include "config/exec_scripts.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace wsgate::config {

namespace fs = std::filesystem;

std::string index_scripts(const std::string& dir,
                          std::map<std::string, std::string, std::less<>>& scripts) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  if (ec) return dir + ": cannot read: " + ec.message();
  const std::string root = dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
  size_t visited = 0;
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return dir + ": cannot read: " + ec.message();
    if (++visited > kMaxScripts) {
      return dir + ": more than " + std::to_string(kMaxScripts) + " entries";
    }
    const fs::path& path = it->path();
    // Where the entry really is: a symlink out of the directory (or a
    // directory reached through one) is not served.
    const fs::path real = fs::weakly_canonical(path, ec);
    if (ec) {
      ec.clear();
      continue;
    }
    const std::string real_text = real.string();
    if (real_text.compare(0, root.size() + 1, root + "/") != 0) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      ec.clear();
      continue;
    }
    if (it->is_directory(ec)) {
      if (it.depth() + 1 >= kMaxScriptDepth) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || access(real_text.c_str(), X_OK) != 0) continue;
    scripts.emplace(path.string().substr(root.size()), real_text);
  }
  return {};
}

}  // namespace wsgate::config
