// Per client IP limits (see peer_limits.h).
#include "worker/peer_limits.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

namespace wsgate {

bool PeerKey::from_sockaddr(const sockaddr& address, PeerKey& key) {
  key = PeerKey{};
  if (address.sa_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(address);
    key.bytes[10] = key.bytes[11] = 0xff;
    std::memcpy(key.bytes + 12, &in4.sin_addr, 4);
    return true;
  }
  if (address.sa_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    std::memcpy(key.bytes, &in6.sin6_addr, 16);
    return true;
  }
  return false;
}

size_t PeerLimits::Hash::operator()(const PeerKey& key) const noexcept {
  // FNV-1a over the 16 bytes: addresses are not secret, and the table's
  // size is bounded, so a crafted collision costs the attacker as much as
  // it costs us.
  uint64_t hash = 1469598103934665603ull;
  for (uint8_t byte : key.bytes) hash = (hash ^ byte) * 1099511628211ull;
  return static_cast<size_t>(hash);
}

PeerLimits::PeerLimits(uint32_t max_connections, uint32_t handshakes_per_second, size_t max_entries)
    : max_connections_(max_connections),
      handshakes_per_second_(handshakes_per_second),
      capacity_(static_cast<uint64_t>(handshakes_per_second) * 1000),
      max_entries_(max_entries) {}

void PeerLimits::refill(Entry& entry, uint64_t now_ms) const {
  if (now_ms > entry.refilled_ms) {
    // handshakes_per_second thousandths of a handshake per millisecond.
    const uint64_t earned = (now_ms - entry.refilled_ms) * handshakes_per_second_;
    entry.tokens = std::min(capacity_, entry.tokens + earned);
  }
  entry.refilled_ms = now_ms;
}

bool PeerLimits::idle(Entry& entry, uint64_t now_ms) const {
  if (entry.connections != 0) return false;
  refill(entry, now_ms);
  return entry.tokens >= capacity_;
}

PeerLimits::Verdict PeerLimits::admit(const PeerKey& key, uint64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) sweep(now_ms);
    if (entries_.size() >= max_entries_) return Verdict::Untracked;
    it = entries_.emplace(key, Entry{0, capacity_, now_ms}).first;
  }
  Entry& entry = it->second;
  if (handshakes_per_second_ != 0) {
    refill(entry, now_ms);
    if (entry.tokens < 1000) return Verdict::TooManyHandshakes;
    entry.tokens -= 1000;
  }
  if (max_connections_ != 0 && entry.connections >= max_connections_) {
    return Verdict::TooManyConnections;
  }
  ++entry.connections;
  return Verdict::Admit;
}

void PeerLimits::release(const PeerKey& key, uint64_t now_ms) {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.connections == 0) return;
  --it->second.connections;
  if (idle(it->second, now_ms)) entries_.erase(it);
}

void PeerLimits::sweep(uint64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = idle(it->second, now_ms) ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace wsgate
