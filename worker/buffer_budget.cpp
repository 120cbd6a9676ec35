// limits.worker_buffer_memory: a bound on what all of a worker's open
// connections buffer together. Each connection is bounded on its own
// (max_message for an unfinished message, write_queue_max for its output),
// but with defaults 10 000 connections could hold ~20 GiB; past the budget
// the largest holders are closed until the rest fits.
#include <algorithm>
#include <vector>

#include "common/log.h"
#include "worker/worker_loop.h"

namespace wsgate {

// Checked once per tick: a walk over the connections, cheap next to the
// tick's other work, and bounded in time by the tick period (at most 1 s).
// Connections already closing are not counted: what they hold is freed
// when the kernel takes it or after timeouts.close, and counting it would
// close more connections for memory that is already on its way out.
void Worker::enforce_buffer_budget(uint64_t budget) {
  struct Holder {
    Connection* connection;
    uint64_t incoming;
    uint64_t outgoing;
    uint64_t total() const { return incoming + outgoing; }
  };
  std::vector<Holder> holders;
  uint64_t total = 0;
  all.for_each([&](Connection* c) {
    if (c->state() != Connection::State::Open) return;
    const Holder holder{c, c->incoming_bytes(), c->queued_bytes()};
    if (holder.total() == 0) return;
    total += holder.total();
    holders.push_back(holder);
  });
  if (total <= budget) return;
  std::sort(holders.begin(), holders.end(),
            [](const Holder& a, const Holder& b) { return a.total() > b.total(); });
  size_t closed = 0;
  const uint64_t before = total;
  for (const Holder& holder : holders) {
    if (total <= budget) break;
    total -= holder.total();
    ++closed;
    ++stats_.closes_buffer_budget;
    holder.connection->close_over_budget(holder.incoming >= holder.outgoing);
  }
  error_log().warn(
      "limits.worker_buffer_memory ({} bytes) exceeded: connections held {} bytes; closed the {} "
      "largest holders",
      budget, before, closed);
}

}  // namespace wsgate
