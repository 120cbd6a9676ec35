// The console relay (relay: console): the live console's WebSocket. Read
// only: the client gets, about once a second, the supervisor's snapshot
// of the daemon (status, stats totals, workers, the latest connection
// events) as one text message, and what it sends is ignored. The worker
// tells the supervisor when it has console clients (ConsoleWanted), so a
// daemon nobody watches builds no snapshots. docs/console.md has the
// message format.
#pragma once

#include <string_view>

#include "worker/intrusive_list.h"
#include "worker/relay.h"

namespace wsgate {

class ConsoleRelay final : public Relay {
 public:
  using Relay::Relay;

  void start() override;
  // Read only: client messages are dropped. Defined out of line: with an
  // inline empty body, GCC speculatively devirtualizes every relay call in
  // Connection::on_ws_message to it (a compare and branch per message,
  // measured at 6 instructions).
  void on_client_message(ws::Opcode opcode, std::span<const uint8_t> payload) override;
  // A client that does not keep up misses snapshots (each is whole, so
  // the next one it takes is as good) instead of queueing them.
  void on_client_backpressure() override { behind_ = true; }
  void on_client_writable() override { behind_ = false; }
  void stop() override;

  // A snapshot a second keeps the connection from ever looking idle, so a
  // draining worker closes it at once (1001); the page reconnects to the
  // new generation by itself.
  bool drains_at_once() const override { return true; }

  // Sends one snapshot, unless the client is behind or the relay stopped.
  void deliver(std::string_view snapshot);
  bool attached() const { return console_hook.linked(); }

  ListHook<ConsoleRelay> console_hook;  // Worker::consoles

 private:
  bool behind_ = false;
};

}  // namespace wsgate
