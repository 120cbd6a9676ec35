// Assigning slots' sockets to live workers (see accept_plan.h).
#include "supervisor/accept_plan.h"

#include <cstddef>

namespace wsgate::supervisor {

AcceptPlan plan_accepting(const std::vector<bool>& live) {
  AcceptPlan plan;
  plan.accepts.resize(live.size());
  std::vector<unsigned> live_slots;
  for (unsigned slot = 0; slot < live.size(); ++slot) {
    if (live[slot]) {
      live_slots.push_back(slot);
      plan.accepts[slot].push_back(slot);
    }
  }
  size_t next = 0;
  for (unsigned slot = 0; slot < live.size(); ++slot) {
    if (live[slot]) continue;
    if (live_slots.empty()) {
      plan.unserved.push_back(slot);
      continue;
    }
    // Start the round robin at the first live slot after this one, so a
    // single empty slot goes to its neighbour.
    if (next == 0) {
      while (next < live_slots.size() && live_slots[next] < slot) ++next;
    }
    plan.accepts[live_slots[next % live_slots.size()]].push_back(slot);
    ++next;
  }
  return plan;
}

}  // namespace wsgate::supervisor
