// The WebSocket session of an open connection (see ws_session.h).
#include "worker/ws_session.h"

#include "common/log.h"
#include "config/config.h"
#include "worker/connection.h"
#include "worker/worker_loop.h"
#include "ws/frame_writer.h"

namespace wsgate {

namespace {

ws::Limits frame_limits(const config::LimitsConfig& limits, const config::MessageLimits& message) {
  ws::Limits out;
  out.max_frame = message.max_frame;
  out.max_message = message.max_message;
  out.max_fragments = limits.max_fragments;
  return out;
}

ws::TokenRate control_rate(const config::LimitsConfig& limits) {
  return ws::TokenRate(limits.control_frames_per_second, limits.control_frames_burst);
}

CloseCause cause_for_error(uint16_t code) {
  switch (code) {
    case ws::close_code::kMessageTooBig:
      return CloseCause::TooBig;
    case ws::close_code::kPolicyViolation:
      return CloseCause::Policy;
    default:
      return CloseCause::ProtocolError;
  }
}

}  // namespace

WsSession::WsSession(Connection& connection, const config::LimitsConfig& limits,
                     const config::MessageLimits& message)
    : connection_(connection),
      frames_(ws::Role::Server, frame_limits(limits, message)),
      control_bucket_(control_rate(limits)) {}

void WsSession::enable_compression(std::unique_ptr<Compression> compression) {
  compression_ = std::move(compression);
  frames_.set_rsv1_allowed(true);
}

size_t WsSession::feed(uint8_t* data, size_t size) {
  size_t offset = 0;
  // PMD-11: the worker's counter of inflated bytes tells what this call
  // inflated (the loop is one thread), so no member is needed for it.
  const uint64_t& inflated = connection_.worker().stats().inflated_bytes_in;
  const uint64_t inflated_before = inflated;
  // parse() sets or clears every field, so one event serves the whole loop.
  ws::FrameEvent event;
  ws::SmallMessage run[kRunCapacity];
  while (offset < size && connection_.accepts_frames()) {
    if (inflated - inflated_before >= kInflatePerFeed) break;  // the rest later
    // Most input is a run of small whole messages (16 of them in one read
    // from a pipelining client): decoded in one call, they are delivered
    // as the loop below would deliver their events one by one.
    size_t used;
    const size_t count = frames_.parse_run({data + offset, size - offset}, run, kRunCapacity, used);
    if (count != 0) {
      offset += used;
      message_started_ = 0;  // the parser is between frames, as after each of them
      deliver_run(run, count);
      continue;
    }
    offset += frames_.parse({data + offset, size - offset}, event);
    if (frames_.mid_frame_or_message()) {
      const uint64_t now = connection_.now();
      if (message_started_ == 0) {
        message_started_ = now;
      } else if (now - message_started_ > message_timeout_ms()) {
        // SEC-LIM-08: a message, fragmented or one frame dripped a byte at
        // a time, must complete in time from its first byte. Checked when
        // its bytes arrive; a silent one ends at the idle timeout.
        fail(ws::close_code::kPolicyViolation, "message took too long");
        return size;
      }
    } else {
      message_started_ = 0;
    }
    if (event.kind == ws::FrameEvent::Kind::None) break;
    if (event.kind == ws::FrameEvent::Kind::Message && !event.compressed && !close_.close_sent() &&
        !close_.close_received()) {
      // What handle_event does with an uncompressed message outside the
      // close handshake (CloseHandshake::should_ignore), without its two
      // calls: this is once per message.
      connection_.on_ws_message(event.opcode, event.payload);
      continue;
    }
    handle_event(event);
  }
  // The last message may still sit in the parser's buffer; an empty parse
  // frees it, so an idle connection holds no message memory.
  ws::FrameEvent drained;
  frames_.parse({}, drained);
  return offset < size && connection_.accepts_frames() ? offset : size;
}

// The messages of one parse_run(), with what the loop in feed() checks
// between two of them: once no frame matters (closed, or our FIN sent) it
// would stop, and after a Close sent or received it would drop data
// (WS-CL-02, CloseHandshake::should_ignore) while it parses on. Either way
// the rest of the run is not delivered; feed() goes on with the input
// after it, which is all it would have consumed. Out of line, so that its
// loop keeps what it needs across the call in registers of its own instead
// of feed()'s spilled ones.
[[gnu::noinline]] void WsSession::deliver_run(const ws::SmallMessage* run, size_t count) {
  for (const ws::SmallMessage* const end = run + count; run != end; ++run) {
    if (!connection_.accepts_frames() || close_.close_sent() || close_.close_received()) return;
    connection_.on_ws_message(run->opcode, run->payload());
  }
}

void WsSession::handle_event(const ws::FrameEvent& event) {
  using Kind = ws::FrameEvent::Kind;
  if (close_.should_ignore(event.kind)) return;  // WS-CL-02
  switch (event.kind) {
    case Kind::None:
      return;
    case Kind::Message:
      if (event.compressed) {
        deliver_compressed(event);
      } else {
        connection_.on_ws_message(event.opcode, event.payload);
      }
      return;
    case Kind::MessagePart:
      deliver_part(event);
      return;
    case Kind::Ping:
      if (!control_bucket_.take(connection_.now(),
                                control_rate(connection_.worker().config().limits))) {
        fail(ws::close_code::kPolicyViolation, "control frame flood");
        return;
      }
      send_frame(ws::Opcode::Pong, event.payload);
      return;
    case Kind::Pong:
      return;  // WS-CT-03; keepalive was refreshed by the read itself
    case Kind::Close:
      if (close_.on_close_received()) {
        // WS-CL-01: answer with the peer's code (1000 if it sent none).
        send_close(ws::CloseHandshake::reply_code(event.close_code), {});
        connection_.on_ws_closing(event.close_code, CloseCause::Client, true);
      } else {
        // The answer to our own Close: the handshake is complete.
        connection_.on_ws_closing(0, CloseCause::None, false);
      }
      return;
    case Kind::Error:
      fail(event.close_code, event.reason);
      return;
  }
}

// PMD-10, WS-U8-06: a compressed message that arrived in one piece,
// inflated whole under max_message, then (text) checked as UTF-8.
void WsSession::deliver_compressed(const ws::FrameEvent& event) {
  std::span<const uint8_t> inflated;
  const auto result = compression_->inflate(event.payload, frames_.limits().max_message, inflated);
  WorkerStats& stats = connection_.worker().stats();
  stats.compressed_bytes_in += event.payload.size();
  if (!inflated_ok(result)) return;
  stats.inflated_bytes_in += inflated.size();
  if (event.opcode == ws::Opcode::Text && !ws::is_valid_utf8(inflated)) {
    fail(ws::close_code::kInvalidPayload, "invalid UTF-8");
    return;
  }
  connection_.on_ws_message(event.opcode, inflated);
}

// PMD-08, PMD-10, WS-U8-06: a compressed message in parts is inflated as
// its bytes arrive, so the size cap and a text message's first invalid
// byte end it without waiting for the rest.
void WsSession::deliver_part(const ws::FrameEvent& event) {
  std::span<const uint8_t> fresh;
  const auto result =
      compression_->inflate_part(event.payload, event.last, frames_.limits().max_message, fresh);
  WorkerStats& stats = connection_.worker().stats();
  stats.compressed_bytes_in += event.payload.size();
  if (!inflated_ok(result)) return;
  stats.inflated_bytes_in += fresh.size();
  if (event.opcode == ws::Opcode::Text) {
    ws::Utf8Validator& utf8 = *compression_->parts_utf8();
    if (!utf8.feed(fresh) || (event.last && !utf8.complete())) {
      compression_->finish_parts();
      fail(ws::close_code::kInvalidPayload, "invalid UTF-8");
      return;
    }
  }
  if (!event.last) return;
  connection_.on_ws_message(event.opcode, compression_->message());
  compression_->finish_parts();
}

// Fails the connection for an inflate that did not succeed: 1009 at the
// size cap (nothing more was inflated), 1007 for a corrupt stream (RFC 7692
// §8.2.3.1 counts it as invalid payload), 1011 when zlib has no memory.
bool WsSession::inflated_ok(ws::MessageInflater::Result result) {
  using Result = ws::MessageInflater::Result;
  if (result == Result::Ok) return true;
  compression_->finish_parts();  // only compressed messages are inflated
  switch (result) {
    case Result::TooBig:
      fail(ws::close_code::kMessageTooBig, "message too big");
      break;
    case Result::Corrupt:
      fail(ws::close_code::kInvalidPayload, "invalid compressed data");
      break;
    default:
      fail(ws::close_code::kInternalError, "out of memory");
      break;
  }
  return false;
}

uint64_t WsSession::message_timeout_ms() const {
  return static_cast<uint64_t>(connection_.worker().config().limits.message_timeout.count());
}

void WsSession::fail(uint16_t code, std::string_view reason) {
  // WS-CL-07: fail the connection with a code, then process nothing more.
  error_log().debug("closing connection: {} ({})", reason, code);
  const bool first = !close_.close_sent();
  if (first) send_close(code, reason);
  connection_.on_ws_closing(first ? code : 0, first ? cause_for_error(code) : CloseCause::None,
                            false);
}

void WsSession::send_frame(ws::Opcode opcode, std::span<const uint8_t> payload) {
  if (close_.close_sent()) return;
  // The compressed case is a function of its own so that this path, once
  // per message sent, needs no frame for the compressed one's locals.
  if (compression_ && !ws::is_control(opcode) && send_compressed(opcode, payload)) return;
  ws::append_server_frame(connection_.ws_output(), opcode, payload.data(), payload.size());
  connection_.ws_wrote();
}

bool WsSession::send_compressed(ws::Opcode opcode, std::span<const uint8_t> payload) {
  std::span<const uint8_t> compressed;
  if (!compression_->compress(payload, compressed)) return false;  // sent as it is
  WorkerStats& stats = connection_.worker().stats();
  stats.deflated_bytes_out += payload.size();
  stats.compressed_bytes_out += compressed.size();
  // RFC 7692 §6: RSV1 on the (only) frame says "compressed".
  const ws::FrameHeader header =
      ws::make_frame_header(ws::Role::Server, opcode, true, compressed.size(), nullptr, true);
  ByteBuffer& out = connection_.ws_output();
  out.append(header.bytes, header.size);
  out.append(compressed.data(), compressed.size());
  connection_.ws_wrote();
  return true;
}

void WsSession::send_close(uint16_t code, std::string_view reason) {
  if (close_.close_sent()) return;
  const ws::ClosePayload payload = ws::make_close_payload(code, reason);
  ws::append_server_frame(connection_.ws_output(), ws::Opcode::Close, payload.bytes,
                          payload.size);
  close_.on_close_sent();
  connection_.ws_wrote();
}

}  // namespace wsgate
