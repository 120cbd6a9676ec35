// Reading a whole file the config names (the config itself, a token file)
// with errno text and a size bound.
#pragma once

#include <cstddef>
#include <string>

namespace wsgate::config {

// Files the loader reads are kilobytes; the bound stops /dev/zero.
inline constexpr size_t kMaxFileBytes = size_t{16} << 20;

// Reads the whole of `path` into `content`. Returns "" or the reason it
// could not ("No such file or directory", "larger than 16MiB"). Used rather
// than YAML::LoadFile, which reports no errno and no size bound.
std::string read_whole_file(const std::string& path, std::string& content);

}  // namespace wsgate::config
