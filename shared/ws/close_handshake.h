// The closing handshake of one connection (RFC 6455 §5.5.1, §7.1.2-§7.1.4;
// checklist WS-CL-01, WS-CL-02): who sent and who received a Close.
#pragma once

#include <cstdint>

#include "ws/frame_parser.h"

namespace wsgate::ws {

// Tracks the two Close frames of one connection. Pure bookkeeping: the
// connection asks it what to do and tells it what happened; it does no I/O
// and knows nothing about timers (WS-CL-06 lives in the connection).
class CloseHandshake {
 public:
  // Records a valid Close from the peer. Returns true when the caller must
  // reply with a Close (WS-CL-01): the first Close received while none was
  // sent. Returns false for a reply to our own Close and for a second Close.
  bool on_close_received();

  // Records that our Close frame was queued. Later calls are no-ops.
  void on_close_sent() { sent_ = true; }

  // False once a Close was sent: no data frame may follow it (WS-CL-02).
  bool may_send_data() const { return !sent_; }

  // True for frames the connection must drop without acting on them: data,
  // pings and pongs once a Close was sent or received, and every Close after
  // the first one received (WS-CL-02; Autobahn 7.1.2-7.1.5). Errors are never
  // ignored: the caller fails the connection. None is ignored (nothing to do).
  bool should_ignore(FrameEvent::Kind kind) const;

  // Both Closes have been seen: the TCP connection can be closed.
  bool complete() const { return sent_ && received_; }

  bool close_sent() const { return sent_; }
  bool close_received() const { return received_; }

  // The code to put in our reply to a received Close: the peer's code echoed,
  // or 1000 when the peer sent none (1005) or a code we may not send. The
  // result always satisfies is_sendable_close_code() (WS-CL-05).
  static uint16_t reply_code(uint16_t received);

 private:
  bool sent_ = false;
  bool received_ = false;
};

}  // namespace wsgate::ws
