// Per client IP limits (checklist SEC-LIM-11, SEC-LIM-12): connections
// held at once, and handshakes (accepted connections) per second through a
// token bucket of one second's worth. Exact across workers because the
// supervisor steers each client IP to one worker's socket while they are
// on (listeners.h, steer_by_source_address). Pure: addresses and times in,
// verdicts out.
#pragma once

#include <cstdint>
#include <cstring>
#include <unordered_map>

struct sockaddr;

namespace wsgate {

// An IPv4 or IPv6 address (IPv4 in the IPv4-mapped IPv6 form).
struct PeerKey {
  uint8_t bytes[16] = {};
  bool operator==(const PeerKey& other) const {
    return std::memcmp(bytes, other.bytes, sizeof bytes) == 0;
  }
  // False for other families (Unix sockets): such peers are not limited.
  static bool from_sockaddr(const sockaddr& address, PeerKey& key);
};

class PeerLimits {
 public:
  enum class Verdict : uint8_t { Admit, TooManyConnections, TooManyHandshakes, Untracked };

  // 0 turns a limit off. `max_entries` bounds the table (see admit()).
  PeerLimits(uint32_t max_connections, uint32_t handshakes_per_second,
             size_t max_entries = kDefaultMaxEntries);

  bool enabled() const { return max_connections_ != 0 || handshakes_per_second_ != 0; }

  // A connection from `key` was accepted at `now_ms`. Admit: it counts
  // against the address until release(). TooManyHandshakes: the address
  // used up its handshakes for now. TooManyConnections: it holds
  // max_connections already. Untracked: the table is full even after a
  // sweep (a flood from more addresses than it holds); the connection is
  // let in uncounted rather than refusing everyone new, and must not be
  // release()d.
  Verdict admit(const PeerKey& key, uint64_t now_ms);
  void release(const PeerKey& key, uint64_t now_ms);

  // Forgets addresses with no connection whose bucket is full again.
  void sweep(uint64_t now_ms);
  size_t size() const { return entries_.size(); }

  static constexpr size_t kDefaultMaxEntries = 1 << 18;

 private:
  struct Entry {
    uint32_t connections = 0;
    uint64_t tokens = 0;       // in thousandths of a handshake
    uint64_t refilled_ms = 0;  // when `tokens` was last brought up to date
  };
  struct Hash {
    size_t operator()(const PeerKey& key) const noexcept;
  };
  void refill(Entry& entry, uint64_t now_ms) const;
  bool idle(Entry& entry, uint64_t now_ms) const;

  uint32_t max_connections_;
  uint32_t handshakes_per_second_;
  uint64_t capacity_;  // handshakes_per_second_ * 1000
  size_t max_entries_;
  std::unordered_map<PeerKey, Entry, Hash> entries_;
};

}  // namespace wsgate
