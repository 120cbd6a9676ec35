// The WebSocket session of an open connection: frames in (limits, message
// timeout, control-frame rate), frames out, and the close handshake. It
// decides what each frame means and tells its Connection, which owns the
// socket, the timers and the relay.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "worker/compression.h"
#include "ws/close_handshake.h"
#include "ws/frame_parser.h"
#include "ws/token_bucket.h"

namespace wsgate {

class Connection;
namespace config {
struct LimitsConfig;
struct MessageLimits;
}

class WsSession {
 public:
  // `message` are the route's message and frame limits (see
  // config::message_limits()); the rest comes from `limits`.
  WsSession(Connection& connection, const config::LimitsConfig& limits,
            const config::MessageLimits& message);

  // Parses client bytes (unmasked in place). For each complete message
  // calls Connection::on_ws_message; answers pings; handles Close and
  // protocol errors by queueing our Close and calling
  // Connection::on_ws_closing. Stops at the first event that ends the
  // session; the parser then frees its message buffer. Returns the bytes
  // consumed: all of them, unless compressed messages inflated to more
  // than kInflatePerFeed bytes, when it stops after that message and the
  // caller feeds the rest on a later loop turn, so that one connection's
  // inflating cannot hold the loop for long (PMD-11).
  size_t feed(uint8_t* data, size_t size);
  static constexpr uint64_t kInflatePerFeed = 4u << 20;

  // Turns permessage-deflate on (right after the 101 that accepted it):
  // RSV1 becomes legal on the first frame of data messages, compressed
  // messages are inflated before the Connection sees them, and data frames
  // sent are compressed when that pays.
  void enable_compression(std::unique_ptr<Compression> compression);

  // Queues one server frame. Data frames after our Close are dropped
  // (WS-CL-02); the caller checks may_send_data() to tell.
  void send_frame(ws::Opcode opcode, std::span<const uint8_t> payload);
  // Queues our Close with `code` (sendable) and `reason` (cut to fit).
  void send_close(uint16_t code, std::string_view reason);

  // Heap bytes held for an unfinished incoming frame or message.
  size_t buffered_bytes() const {
    return frames_.buffered_bytes() + (compression_ ? compression_->buffered_bytes() : 0);
  }
  // Closes with `code` and `reason` (as a parser failure would), frees the
  // unfinished message and ignores the rest of the client's input.
  void fail_and_discard(uint16_t code, std::string_view reason) {
    frames_.abandon();
    if (compression_) compression_->finish_parts();
    fail(code, reason);
  }

  bool may_send_data() const { return close_.may_send_data(); }
  bool close_sent() const { return close_.close_sent(); }

 private:
  // Messages decoded per FrameParser::parse_run() call in feed(): a
  // pipelining client's read holds a few dozen 32 B frames at most, and
  // the array lives on the stack (16 bytes each).
  static constexpr size_t kRunCapacity = 32;

  void deliver_run(const ws::SmallMessage* run, size_t count);
  void handle_event(const ws::FrameEvent& event);
  void deliver_compressed(const ws::FrameEvent& event);
  void deliver_part(const ws::FrameEvent& event);
  bool inflated_ok(ws::MessageInflater::Result result);
  // Queues `payload` compressed, as one frame with RSV1; false (nothing
  // queued) when compressing it would not pay.
  bool send_compressed(ws::Opcode opcode, std::span<const uint8_t> payload);
  void fail(uint16_t code, std::string_view reason);
  // limits.message_timeout, from the worker's configuration (not stored
  // per connection).
  uint64_t message_timeout_ms() const;

  Connection& connection_;
  ws::FrameParser frames_;
  std::unique_ptr<Compression> compression_;  // null unless negotiated
  ws::CloseHandshake close_;
  ws::TokenBucket control_bucket_;
  uint64_t message_started_ = 0;  // uv_now() of a fragmented message's first frame
};

}  // namespace wsgate
