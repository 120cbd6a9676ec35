// The default configuration path (see default_path.h).
#include "config/default_path.h"

#include <filesystem>
#include <system_error>

namespace wsgate::config {

std::string default_config_path() {
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::string build_tree = WSGATE_BUILD_TREE "/";
  if (!error && exe.string().compare(0, build_tree.size(), build_tree) == 0) {
    return WSGATE_SOURCE_TREE "/etc/wsgate.yaml";
  }
  return WSGATE_DEFAULT_CONFIG;
}

}  // namespace wsgate::config
