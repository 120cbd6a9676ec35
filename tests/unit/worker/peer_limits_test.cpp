// PeerLimits: each limit at limit and limit+1, refill, release, addresses
// kept apart, and a table that stays bounded.
#include "worker/peer_limits.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace wsgate {
namespace {

using Verdict = PeerLimits::Verdict;

PeerKey v4(const char* text) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  inet_pton(AF_INET, text, &in.sin_addr);
  PeerKey key;
  EXPECT_TRUE(PeerKey::from_sockaddr(reinterpret_cast<const sockaddr&>(in), key));
  return key;
}

TEST(PeerLimits, ConnectionsAtLimitAndOneMore) {
  PeerLimits limits(3, 0);
  const PeerKey a = v4("192.0.2.1");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limits.admit(a, 0), Verdict::Admit);
  EXPECT_EQ(limits.admit(a, 0), Verdict::TooManyConnections);
  // Another address is counted apart.
  EXPECT_EQ(limits.admit(v4("192.0.2.2"), 0), Verdict::Admit);
  limits.release(a, 0);
  EXPECT_EQ(limits.admit(a, 0), Verdict::Admit);
  EXPECT_EQ(limits.admit(a, 0), Verdict::TooManyConnections);
}

TEST(PeerLimits, HandshakesAtLimitAndOneMoreThenRefill) {
  PeerLimits limits(0, 4);
  const PeerKey a = v4("192.0.2.1");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limits.admit(a, 1000), Verdict::Admit);
  EXPECT_EQ(limits.admit(a, 1000), Verdict::TooManyHandshakes);
  EXPECT_EQ(limits.admit(a, 1249), Verdict::TooManyHandshakes);  // 0.996 earned
  EXPECT_EQ(limits.admit(a, 1250), Verdict::Admit);              // one every 250 ms
  EXPECT_EQ(limits.admit(a, 1250), Verdict::TooManyHandshakes);
  // A long pause refills to one second's worth, no more.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limits.admit(a, 60000), Verdict::Admit);
  EXPECT_EQ(limits.admit(a, 60000), Verdict::TooManyHandshakes);
}

TEST(PeerLimits, ARefusedHandshakeDoesNotCountAsAConnection) {
  PeerLimits limits(2, 2);
  const PeerKey a = v4("192.0.2.1");
  EXPECT_EQ(limits.admit(a, 0), Verdict::Admit);
  EXPECT_EQ(limits.admit(a, 0), Verdict::Admit);
  EXPECT_EQ(limits.admit(a, 0), Verdict::TooManyHandshakes);
  EXPECT_EQ(limits.admit(a, 1000), Verdict::TooManyConnections);
}

TEST(PeerLimits, IdleAddressesAreForgotten) {
  PeerLimits limits(5, 10);
  const PeerKey a = v4("192.0.2.1");
  EXPECT_EQ(limits.admit(a, 0), Verdict::Admit);
  limits.release(a, 0);
  EXPECT_EQ(limits.size(), 1u);  // its bucket is not full yet
  limits.sweep(99);
  EXPECT_EQ(limits.size(), 1u);
  limits.sweep(100);
  EXPECT_EQ(limits.size(), 0u);
  // Releasing once the bucket is full forgets it at once.
  EXPECT_EQ(limits.admit(a, 200), Verdict::Admit);
  limits.release(a, 1000);
  EXPECT_EQ(limits.size(), 0u);
}

TEST(PeerLimits, AFullTableLetsNewAddressesInUncounted) {
  PeerLimits limits(1, 0, 2);
  EXPECT_EQ(limits.admit(v4("192.0.2.1"), 0), Verdict::Admit);
  EXPECT_EQ(limits.admit(v4("192.0.2.2"), 0), Verdict::Admit);
  EXPECT_EQ(limits.admit(v4("192.0.2.3"), 0), Verdict::Untracked);
  EXPECT_EQ(limits.size(), 2u);
  limits.release(v4("192.0.2.1"), 0);
  EXPECT_EQ(limits.admit(v4("192.0.2.3"), 0), Verdict::Admit);
}

TEST(PeerLimits, Ipv6AndMappedIpv4) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.0.2.1", &in6.sin6_addr);
  PeerKey mapped;
  ASSERT_TRUE(PeerKey::from_sockaddr(reinterpret_cast<const sockaddr&>(in6), mapped));
  EXPECT_TRUE(mapped == v4("192.0.2.1"));
  inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
  PeerKey other;
  ASSERT_TRUE(PeerKey::from_sockaddr(reinterpret_cast<const sockaddr&>(in6), other));
  EXPECT_FALSE(other == mapped);
  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  EXPECT_FALSE(PeerKey::from_sockaddr(unix_address, other));
}

}  // namespace
}  // namespace wsgate
