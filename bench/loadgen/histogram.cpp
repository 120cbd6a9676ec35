// Log-linear latency histogram (see histogram.h for the bucket layout).
#include "loadgen/histogram.h"

#include <bit>

namespace wsgate::loadgen {

Histogram::Histogram() : counts_(kLinear + (kOctaves << kSubBits), 0) {}

// Values below 2048 map to themselves. A value with its top bit at position
// b >= 11 maps to octave b - 11, sub-bucket given by its next 10 bits.
unsigned Histogram::index_of(uint64_t micros) {
  if (micros < kLinear) return static_cast<unsigned>(micros);
  const unsigned top = 63u - static_cast<unsigned>(std::countl_zero(micros));
  unsigned octave = top - 11;
  if (octave >= kOctaves) return kLinear + (kOctaves << kSubBits) - 1;
  const unsigned shift = top - kSubBits;
  const unsigned sub = static_cast<unsigned>(micros >> shift) & ((1u << kSubBits) - 1);
  return kLinear + (octave << kSubBits) + sub;
}

uint64_t Histogram::upper_value_of(unsigned index) {
  if (index < kLinear) return index;
  const unsigned octave = (index - kLinear) >> kSubBits;
  const unsigned sub = (index - kLinear) & ((1u << kSubBits) - 1);
  const unsigned shift = octave + 11 - kSubBits;
  return ((uint64_t{(1u << kSubBits) + sub} + 1) << shift) - 1;
}

uint64_t Histogram::percentile(double fraction) const {
  if (total_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(fraction * static_cast<double>(total_) + 0.5);
  if (rank < 1) rank = 1;
  if (rank > total_) rank = total_;
  uint64_t seen = 0;
  for (unsigned i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t value = upper_value_of(i);
      return value < max_ ? value : max_;
    }
  }
  return max_;
}

}  // namespace wsgate::loadgen
