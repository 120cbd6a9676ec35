// A translator connection's OpenSRF bookkeeping, pure (no I/O): the
// stateful session cache (thread -> drone address) and the requests in
// flight, counted per (thread, threadTrace).
//
// The rules (issue 13, spec §3 and §6), fixing the upstream stalls:
// - a REQUEST or a CONNECT the browser sends opens one request;
// - a STATUS 205 closes the request of its threadTrace; a STATUS 200
//   closes a CONNECT of its threadTrace and caches the thread's drone (the
//   message's sender) unless the cache is at its cap;
// - a STATUS >= 400 ends every request of the thread and its cache entry
//   (the router's 404 always carries threadTrace "1", and the drone's 408
//   keepalive carries "0");
// - a DISCONNECT drops the cache entry once the relay has chosen its
//   recipient (the DISCONNECT itself still goes to the drone).
// Threads with neither a cache entry nor a request in flight are not kept,
// so what a connection holds is bounded by max_sessions plus its requests
// in flight, which kMaxRequestsInFlight bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "osrf/codec.h"

namespace wsgate::osrf {

class SessionBook {
 public:
  static constexpr uint32_t kMaxRequestsInFlight = 1024;

  explicit SessionBook(size_t max_sessions) : max_sessions_(max_sessions) {}

  // The drone a cached thread talks to, or null.
  const std::string* drone(std::string_view thread) const;

  // False when `messages` would take the requests in flight past
  // kMaxRequestsInFlight; nothing is recorded then.
  bool can_open(const std::vector<OsrfMessage>& messages) const;
  // Records what the browser sent on `thread` under the bus xid `xid`.
  void sent(std::string_view thread, const std::vector<OsrfMessage>& messages, std::string_view xid);

  // What a bus message's statuses did.
  struct Outcome {
    bool cached = false;      // the thread's drone is now cached
    bool cache_full = false;  // a CONNECT succeeded but the cache is at its cap
    bool uncached = false;    // a cache entry was dropped
    uint32_t closed = 0;      // requests in flight that ended
  };
  Outcome received(std::string_view thread, std::string_view from, const std::vector<Status>& statuses);

  // Ends `thread` as a status >= 400 would (its requests and its cache
  // entry), for a message on it that never reached the bus.
  Outcome end_thread(std::string_view thread);

  // The xid last sent on `thread`, for replies that carry none (the
  // router's 404 has osrf_xid null).
  std::optional<std::string> last_xid(std::string_view thread) const;

  // Ends every request in flight and answers, per thread that had one, the
  // thread and its last xid (for the transport-error replies of a lost bus
  // or the "treated as dead" of max_request_wait).
  std::vector<std::pair<std::string, std::string>> abandon_requests();

  uint32_t requests_in_flight() const { return in_flight_; }
  size_t sessions() const { return sessions_; }
  size_t threads() const { return threads_.size(); }

 private:
  struct Request {
    uint32_t count = 0;
    bool connect = false;
  };
  struct Thread {
    std::optional<std::string> drone;
    std::map<std::string, Request, std::less<>> requests;  // by threadTrace
    std::string last_xid;
    // A DISCONNECT was sent before the CONNECT's 200 came (a batch
    // [CONNECT, REQUEST, DISCONNECT]): that 200 must not cache the drone.
    bool disconnected = false;
  };
  using Threads = std::map<std::string, Thread, std::less<>>;

  // Erases `it` when it holds nothing any more.
  void forget_if_empty(Threads::iterator it);
  uint32_t end_requests(Thread& thread);
  void end_session(Thread& thread, Outcome& outcome);

  size_t max_sessions_;
  size_t sessions_ = 0;
  uint32_t in_flight_ = 0;
  Threads threads_;
};

}  // namespace wsgate::osrf
