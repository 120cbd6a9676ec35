// A token bucket for rate limits such as inbound control frames (checklist
// SEC-LIM-09). Pure: the caller passes the time, so tests need no clock.
#pragma once

#include <cstdint>

namespace wsgate::ws {

// Allows `burst` events at once and `rate_per_s` events per second on
// average. Tokens are kept in thousandths so that a refill of rate_per_s
// tokens per second is an exact integer per millisecond. The bucket starts
// full. Time that goes backwards refills nothing.
class TokenBucket {
 public:
  TokenBucket(uint32_t rate_per_s, uint32_t burst)
      : rate_per_ms_milli_(rate_per_s),
        capacity_milli_(uint64_t{burst} * kMilli),
        tokens_milli_(capacity_milli_) {}

  // Refills for the time since the previous call, then takes one token.
  // Returns false (and takes nothing) when the bucket is empty.
  bool take(uint64_t now_ms) {
    if (now_ms > last_ms_) {
      const uint64_t elapsed = now_ms - last_ms_;
      const uint64_t missing = capacity_milli_ - tokens_milli_;
      // Compared by division so elapsed * rate never overflows. In the else
      // branch elapsed <= missing / rate, so the sum stays within capacity.
      if (rate_per_ms_milli_ != 0 && elapsed > missing / rate_per_ms_milli_) {
        tokens_milli_ = capacity_milli_;
      } else {
        tokens_milli_ += elapsed * rate_per_ms_milli_;
      }
      last_ms_ = now_ms;
    }
    if (tokens_milli_ < kMilli) return false;
    tokens_milli_ -= kMilli;
    return true;
  }

 private:
  static constexpr uint64_t kMilli = 1000;

  uint64_t rate_per_ms_milli_;  // thousandths of a token per millisecond
  uint64_t capacity_milli_;
  uint64_t tokens_milli_;
  uint64_t last_ms_ = 0;
};

}  // namespace wsgate::ws
