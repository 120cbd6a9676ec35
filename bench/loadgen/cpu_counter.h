// Reads a server's CPU usage counter: a cgroup v1 cpuacct.usage file (one
// number, nanoseconds) or a cgroup v2 cpu.stat (a "usage_usec N" line).
#pragma once

#include <cstdint>
#include <string>

namespace wsgate::loadgen {

// Sets `nanoseconds` from the file at `path`. False when it cannot be read
// or holds neither format.
bool read_cpu_counter(const std::string& path, uint64_t& nanoseconds);

}  // namespace wsgate::loadgen
