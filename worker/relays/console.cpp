// The console relay (see console.h).
#include "worker/relays/console.h"

#include "worker/connection.h"
#include "worker/worker_loop.h"

namespace wsgate {

void ConsoleRelay::start() {
  client_.worker().console_attach(*this);
}

void ConsoleRelay::on_client_message(ws::Opcode, std::span<const uint8_t>) {}

void ConsoleRelay::stop() {
  if (attached()) client_.worker().console_detach(*this);
}

void ConsoleRelay::deliver(std::string_view snapshot) {
  if (behind_ || !attached()) return;
  client_.send_message(ws::Opcode::Text,
                       {reinterpret_cast<const uint8_t*>(snapshot.data()), snapshot.size()});
}

}  // namespace wsgate
