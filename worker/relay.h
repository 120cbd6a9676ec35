// The relay interface: what a route does with an open WebSocket. One
// concrete class per kind in worker/relays/ (echo.* is the model to read
// first). The Connection owns its relay and drives it; the relay talks back
// through the Connection's relay API (send_message, pause_client_reads,
// resume_client_reads, close_client, hold, release).
//
// Contract, in order of a connection's life:
// - create_relay() runs after the upgrade request was validated and before
//   the 101 goes out; it may refuse with an HTTP status (404 unknown token).
// - open() runs next, after the fd budget admitted the relay; it may refuse
//   too (exec: 500 when the program cannot be started).
// - start() runs once the 101 is queued.
// - on_client_message() for each complete client message, until
//   on_client_closed(). The payload is valid during the call only.
// - on_client_backpressure() / on_client_writable() when the client's
//   output queue passes the high mark / falls back to the low mark.
// - stop() when the connection goes away for any reason: the relay closes
//   every handle it has. The Connection is freed once the client socket and
//   every hold() the relay took have been released.
// Any of these may ask to close the client; that close is deferred until
// the relay code returns.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/route_stats.h"
#include "common/stats.h"
#include "http/handshake.h"
#include "worker/intrusive_list.h"
#include "ws/protocol.h"

namespace wsgate {

class Connection;
namespace config {
struct RouteConfig;
}

class Relay {
 public:
  explicit Relay(Connection& client) : client_(client) {}
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  virtual ~Relay() = default;

  // Acquires what the relay needs before the 101 goes out (exec: starts
  // the program), or answers why the upgrade is refused. `request` is
  // valid during the call only. Once open() ran, stop() follows whatever
  // it answered.
  virtual std::optional<http::HttpError> open(const http::Request&) { return std::nullopt; }
  virtual void start() = 0;
  virtual void on_client_message(ws::Opcode opcode, std::span<const uint8_t> payload) = 0;
  virtual void on_client_backpressure() {}
  virtual void on_client_writable() {}
  // The client sent Close (the reply is already queued) or its socket
  // ended: no further message will come.
  virtual void on_client_closed() {}
  // The server queued its own Close (drain, stop, idle, a limit, or the
  // relay's close_client): no further client message will be relayed.
  virtual void on_server_closing() {}
  virtual void stop() = 0;

  // Requests the backend has not answered yet; drain and the idle check
  // leave a connection with requests in flight alone (bounded by
  // timeouts.max_request_wait).
  virtual uint32_t requests_in_flight() const { return 0; }
  // Forgets the requests in flight of a connection silent for
  // timeouts.max_request_wait (they are treated as dead) and answers how
  // many there were; the connection is closed next.
  virtual uint32_t give_up_requests() { return 0; }
  // File descriptors the relay opens per connection, for the worker's fd
  // budget (the client socket is counted apart).
  virtual unsigned extra_fds() const { return 0; }
  // Heap bytes the relay holds for this connection's traffic (its queues
  // toward the backend), counted in limits.worker_buffer_memory.
  virtual uint64_t buffered_bytes() const { return 0; }
  // Appends " key=value" fields to the connection's access log line.
  virtual void append_log_fields(std::string&) const {}
  // True for a relay whose traffic is server push and never goes idle (the
  // console): its connection is closed with 1001 as soon as its worker
  // drains, and at the next drain check when it upgrades later, instead
  // of waiting to look idle until timeouts.drain. The answer must not
  // change over the relay's life.
  virtual bool drains_at_once() const { return false; }

 protected:
  // Adds `amount` to a counter of both the worker and this route.
  void count(uint64_t WorkerStats::*worker_field, uint64_t RouteStats::*route_field,
             uint64_t amount = 1);

  Connection& client_;
};

// A relay with a backend connection, which the worker's timer lists bound
// (one hook per list): a connect in progress, by timeouts.upstream_connect;
// a backend whose EOF is awaited after the client left, by timeouts.close.
// The worker unlinks the relay before it calls the timeout. Kept out of
// Relay so that relays without a backend (echo) stay small.
class BackendRelay : public Relay {
 public:
  using Relay::Relay;

  ListHook<BackendRelay> connecting_hook;
  uint64_t connecting_since = 0;
  virtual void on_connect_timeout() = 0;
  ListHook<BackendRelay> linger_hook;
  uint64_t linger_since = 0;
  virtual void on_linger_timeout() = 0;
};

// Builds the relay of `route` for an upgrade `request`, or answers why the
// upgrade is refused (`refusal` set, nullptr returned). Throws
// std::bad_alloc only.
std::unique_ptr<Relay> create_relay(Connection& client, const config::RouteConfig& route,
                                    const http::Request& request,
                                    std::optional<http::HttpError>& refusal);

}  // namespace wsgate
