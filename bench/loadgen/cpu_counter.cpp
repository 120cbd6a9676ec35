// Server CPU counters (see cpu_counter.h).
#include "loadgen/cpu_counter.h"

#include <fstream>
#include <sstream>

namespace wsgate::loadgen {

bool read_cpu_counter(const std::string& path, uint64_t& nanoseconds) {
  std::ifstream file(path);
  if (!file) return false;
  std::string line;
  bool first = true;
  while (std::getline(file, line)) {
    std::istringstream words(line);
    std::string key;
    uint64_t value = 0;
    if (first) {
      first = false;
      std::istringstream number(line);
      if (number >> value && number.eof()) {
        nanoseconds = value;
        return true;
      }
    }
    if (words >> key >> value && key == "usage_usec") {
      nanoseconds = value * 1000;
      return true;
    }
  }
  return false;
}

}  // namespace wsgate::loadgen
