// A latency histogram in microseconds: exact below 2048 µs, then log-linear
// with 1024 buckets per power of two (at most 0.1 % error), HDR-style.
#pragma once

#include <cstdint>
#include <vector>

namespace wsgate::loadgen {

class Histogram {
 public:
  Histogram();

  // Records one value in microseconds. Never allocates.
  void record(uint64_t micros) {
    ++counts_[index_of(micros)];
    ++total_;
    if (micros > max_) max_ = micros;
  }

  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }

  // The smallest recorded value v such that at least `fraction` of all
  // values are <= v (the bucket's upper end above 2048 µs). 0 when empty.
  uint64_t percentile(double fraction) const;

 private:
  static constexpr unsigned kLinear = 2048;  // exact range, µs
  static constexpr unsigned kSubBits = 10;   // 1024 buckets per octave above
  static constexpr unsigned kOctaves = 42;   // up to 2^52 µs

  static unsigned index_of(uint64_t micros);
  static uint64_t upper_value_of(unsigned index);

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace wsgate::loadgen
