// plan_accepting: every slot's sockets go to some live worker, spread over
// the live ones, and unserved slots are reported only when none is live.
#include "supervisor/accept_plan.h"

#include <gtest/gtest.h>

namespace wsgate::supervisor {
namespace {

using Slots = std::vector<unsigned>;

TEST(AcceptPlan, AllLiveAcceptTheirOwn) {
  const AcceptPlan plan = plan_accepting({true, true, true});
  EXPECT_EQ(plan.accepts, (std::vector<Slots>{{0}, {1}, {2}}));
  EXPECT_TRUE(plan.unserved.empty());
}

TEST(AcceptPlan, AnEmptySlotGoesToTheNextLiveOne) {
  EXPECT_EQ(plan_accepting({true, false, true, true}).accepts,
            (std::vector<Slots>{{0}, {}, {2, 1}, {3}}));
  // The last slot wraps round to the first.
  EXPECT_EQ(plan_accepting({true, true, false}).accepts, (std::vector<Slots>{{0, 2}, {1}, {}}));
}

TEST(AcceptPlan, SeveralEmptySlotsAreSpreadRoundRobin) {
  const AcceptPlan plan = plan_accepting({false, true, false, true, false, false});
  EXPECT_EQ(plan.accepts, (std::vector<Slots>{{}, {1, 0, 4}, {}, {3, 2, 5}, {}, {}}));
  EXPECT_TRUE(plan.unserved.empty());
}

TEST(AcceptPlan, EverySlotIsServedExactlyOnce) {
  for (unsigned mask = 1; mask < (1u << 6); ++mask) {
    std::vector<bool> live;
    for (unsigned slot = 0; slot < 6; ++slot) live.push_back((mask >> slot & 1u) != 0);
    const AcceptPlan plan = plan_accepting(live);
    std::vector<int> served(6, 0);
    for (unsigned slot = 0; slot < 6; ++slot) {
      if (!live[slot]) {
        EXPECT_TRUE(plan.accepts[slot].empty());
      }
      for (unsigned s : plan.accepts[slot]) ++served[s];
    }
    EXPECT_EQ(served, std::vector<int>(6, 1)) << "mask " << mask;
    EXPECT_TRUE(plan.unserved.empty());
  }
}

TEST(AcceptPlan, NoLiveWorkerLeavesEverySlotUnserved) {
  const AcceptPlan plan = plan_accepting({false, false});
  EXPECT_EQ(plan.accepts, (std::vector<Slots>{{}, {}}));
  EXPECT_EQ(plan.unserved, (Slots{0, 1}));
}

}  // namespace
}  // namespace wsgate::supervisor
