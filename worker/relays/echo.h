// The echo relay: every client message goes back as it came. The smallest
// relay, and the one to read before writing another: it shows the whole
// interface a relay has to fill in (see worker/relay.h).
#pragma once

#include "worker/relay.h"

namespace wsgate {

class EchoRelay final : public Relay {
 public:
  using Relay::Relay;

  void start() override {}
  void on_client_message(ws::Opcode opcode, std::span<const uint8_t> payload) override;
  // SEC-BP-01: the source that feeds the client's queue is the client
  // itself, so a full queue pauses the client's own reads until it drains
  // below the low mark.
  void on_client_backpressure() override;
  void on_client_writable() override;
  void stop() override {}
};

}  // namespace wsgate
