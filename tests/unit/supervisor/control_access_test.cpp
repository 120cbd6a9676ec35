// Who the control socket admits (issue 10, item 9).
#include <gtest/gtest.h>

#include "supervisor/control_server.h"

namespace wsgate::supervisor {
namespace {

PeerCredentials peer(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  PeerCredentials p;
  p.uid = uid;
  p.gid = gid;
  p.groups = std::move(groups);
  return p;
}

TEST(ControlAccess, RootAlwaysTheDaemonsOwnUidOnlyWhenStartedUnprivileged) {
  ControlAccess dropped;  // started as root, now running as the workers' uid
  EXPECT_TRUE(dropped.allows(peer(0, 0)));
  EXPECT_FALSE(dropped.allows(peer(65534, 65534)));
  ControlAccess unprivileged;
  unprivileged.own_uid = 1000;
  EXPECT_TRUE(unprivileged.allows(peer(1000, 1000)));
  EXPECT_FALSE(unprivileged.allows(peer(1001, 1000)));
}

TEST(ControlAccess, ListedUsersAndPrimaryOrSupplementaryGroups) {
  ControlAccess access;
  access.users = {500};
  access.groups = {42};
  EXPECT_TRUE(access.allows(peer(500, 7)));
  EXPECT_TRUE(access.allows(peer(501, 42)));
  EXPECT_TRUE(access.allows(peer(502, 7, {3, 42})));
  EXPECT_FALSE(access.allows(peer(503, 7, {3, 4})));
}

}  // namespace
}  // namespace wsgate::supervisor
