// The closing handshake of one connection: reply, ignore and echo rules
// (RFC 6455 §5.5.1, §7.4; checklist WS-CL-01, WS-CL-02, WS-CL-05).
#include "ws/close_handshake.h"

namespace wsgate::ws {

bool CloseHandshake::on_close_received() {
  const bool first = !received_;
  received_ = true;
  return first && !sent_;
}

bool CloseHandshake::should_ignore(FrameEvent::Kind kind) const {
  switch (kind) {
    case FrameEvent::Kind::Message:
    case FrameEvent::Kind::MessagePart:
    case FrameEvent::Kind::Ping:
    case FrameEvent::Kind::Pong:
      return sent_ || received_;
    case FrameEvent::Kind::Close:
      return received_;
    case FrameEvent::Kind::None:
      return true;
    case FrameEvent::Kind::Error:
      return false;
  }
  return false;
}

uint16_t CloseHandshake::reply_code(uint16_t received) {
  if (received == close_code::kNoStatus || !is_sendable_close_code(received)) {
    return close_code::kNormal;
  }
  return received;
}

}  // namespace wsgate::ws
