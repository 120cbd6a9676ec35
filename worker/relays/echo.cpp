// The echo relay (see echo.h).
#include "worker/relays/echo.h"

#include "worker/connection.h"

namespace wsgate {

void EchoRelay::on_client_message(ws::Opcode opcode, std::span<const uint8_t> payload) {
  client_.send_message(opcode, payload);
}

void EchoRelay::on_client_backpressure() {
  client_.pause_client_reads(Stream::kPauseOwnQueue);
}

void EchoRelay::on_client_writable() {
  client_.resume_client_reads(Stream::kPauseOwnQueue);
}

}  // namespace wsgate
