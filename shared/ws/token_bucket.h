// A token bucket for rate limits such as inbound control frames (checklist
// SEC-LIM-09). Pure: the caller passes the time, so tests need no clock.
#pragma once

#include <cstdint>

namespace wsgate::ws {

// Allows `burst` events at once and `rate_per_s` events per second on
// average. Tokens are kept in thousandths so that a refill of rate_per_s
// tokens per second is an exact integer per millisecond.
struct TokenRate {
  TokenRate(uint32_t rate_per_s, uint32_t burst)
      : per_ms_milli(rate_per_s), capacity_milli(uint64_t{burst} * 1000) {}
  uint64_t per_ms_milli;  // thousandths of a token per millisecond
  uint64_t capacity_milli;
};

// The state of one bucket; its TokenRate is the caller's, passed to every
// call, because a connection's rate is the worker's configuration and
// need not be stored once per connection. The bucket starts full. Time
// that goes backwards refills nothing.
class TokenBucket {
 public:
  explicit TokenBucket(const TokenRate& rate) : tokens_milli_(rate.capacity_milli) {}

  // Refills for the time since the previous call, then takes one token.
  // Returns false (and takes nothing) when the bucket is empty. `rate`
  // must be the one the bucket was made with.
  bool take(uint64_t now_ms, const TokenRate& rate) {
    if (now_ms > last_ms_) {
      const uint64_t elapsed = now_ms - last_ms_;
      const uint64_t missing = rate.capacity_milli - tokens_milli_;
      // Compared by division so elapsed * rate never overflows. In the else
      // branch elapsed <= missing / rate, so the sum stays within capacity.
      if (rate.per_ms_milli != 0 && elapsed > missing / rate.per_ms_milli) {
        tokens_milli_ = rate.capacity_milli;
      } else {
        tokens_milli_ += elapsed * rate.per_ms_milli;
      }
      last_ms_ = now_ms;
    }
    if (tokens_milli_ < kMilli) return false;
    tokens_milli_ -= kMilli;
    return true;
  }

 private:
  static constexpr uint64_t kMilli = 1000;

  uint64_t tokens_milli_;
  uint64_t last_ms_ = 0;
};

}  // namespace wsgate::ws
