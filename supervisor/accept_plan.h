// Which worker accepts on which slot's sockets. Every slot's sockets stay
// in the kernel's SO_REUSEPORT group whether or not the slot has a worker,
// so the kernel keeps sending 1/N of new connections to each: a slot
// without a live worker is adopted by one that has, until its own worker
// is back. Pure: live slots in, assignment out.
#pragma once

#include <cstddef>
#include <vector>

namespace wsgate::supervisor {

struct AcceptPlan {
  // By slot: the slots whose sockets that slot's worker accepts on (empty
  // for a slot without a live worker).
  std::vector<std::vector<unsigned>> accepts;
  // Slots no live worker accepts for (all of them when none is live).
  std::vector<unsigned> unserved;
};

// `live[s]`: slot s has a worker that is READY and reachable. Each live
// slot accepts on its own sockets; the k-th slot without one goes to the
// k-th live slot after it in a round robin, so two empty slots land on
// two different workers when there are two.
AcceptPlan plan_accepting(const std::vector<bool>& live);

}  // namespace wsgate::supervisor
