// What a load client says and checks once open: the echo pipeline, the
// verification of every echoed frame, and the closing handshake (the socket
// side of Connection is in connection.cpp).
#include <algorithm>
#include <cstring>

#include "loadgen/connection.h"
#include "loadgen/run.h"
#include "ws/frame_writer.h"

namespace wsgate::loadgen {

// Re-sends what crossed a Close on the previous socket (--reconnect), then
// fills the pipeline to `depth`. Nothing before the connect phase is over:
// Run::start_all_traffic() starts every connection opened by then.
void Connection::start_traffic() {
  if (run_.phase() == Phase::Connecting) return;
  for (uint64_t sequence = acked_sequence_; sequence < next_sequence_; ++sequence) {
    send_message(sequence);
  }
  if (!run_.may_send()) return;
  const uint64_t depth = run_.options().depth;
  uint64_t added = 0;
  while (outstanding() < depth) {
    send_message(next_sequence_++);
    ++added;
  }
  run_.messages_sent(added);
}

// Every frame must start a final, unfragmented frame: an echo server
// answers one frame with one frame (with --stream, any number of whole
// binary messages). The parser checks the rest (RSV bits,
// no mask from a server, lengths, UTF-8 of text).
bool Connection::check_frame_start(uint8_t first_byte) {
  if ((first_byte & 0x80) == 0 || (first_byte & 0x0F) == 0) {
    fail(ErrorKind::BadEcho, "fragmented echo (FIN clear or continuation)");
    return false;
  }
  return true;
}

void Connection::received_frames(uint8_t* data, size_t length) {
  // should_ignore() only matters once a Close was sent or received; the
  // inline test keeps the per-frame call off the echo path.
  const auto ignore = [this](ws::FrameEvent::Kind kind) {
    return (close_.close_sent() || close_.close_received()) && close_.should_ignore(kind);
  };
  size_t offset = 0;
  while (offset < length) {
    if (at_frame_start_ && !check_frame_start(data[offset])) return;
    ws::FrameEvent event;
    offset += parser_.parse({data + offset, length - offset}, event);
    if (event.kind == ws::FrameEvent::Kind::None) {
      at_frame_start_ = false;
      break;
    }
    at_frame_start_ = true;
    switch (event.kind) {
      case ws::FrameEvent::Kind::Message:
        if (!ignore(event.kind)) handle_message(event);
        break;
      case ws::FrameEvent::Kind::Ping:
        if (!ignore(event.kind)) {
          send_control(ws::Opcode::Pong, event.payload.data(), event.payload.size());
        }
        break;
      case ws::FrameEvent::Kind::Pong:
      case ws::FrameEvent::Kind::None:
      case ws::FrameEvent::Kind::MessagePart:  // never: RSV1 is not allowed here
        break;
      case ws::FrameEvent::Kind::Close:
        if (!ignore(event.kind)) handle_close(event.close_code);
        break;
      case ws::FrameEvent::Kind::Error:
        fail(ErrorKind::Protocol, event.reason);
        return;
    }
    if (state_ == State::Closing) return;
  }
}

void Connection::handle_message(const ws::FrameEvent& event) {
  if (run_.options().mode != Mode::Echo || outstanding() == 0) {
    fail(ErrorKind::BadEcho, "a message nobody sent");
    return;
  }
  const PayloadTemplate& payload = run_.payload();
  const ws::Opcode expected = run_.options().binary ? ws::Opcode::Binary : ws::Opcode::Text;
  if (event.opcode != expected) {
    fail(ErrorKind::BadEcho, "echo with the wrong opcode");
    return;
  }
  if (run_.options().stream) {
    // A proxy re-frames the upstream's bytes as they arrive: check bytes.
    received_raw(event.payload.data(), event.payload.size());
    return;
  }
  if (event.payload.size() != payload.size() ||
      !payload.matches(acked_sequence_, 0, event.payload.data(), event.payload.size())) {
    fail(ErrorKind::BadEcho, "echo payload differs from the message sent");
    return;
  }
  echo_completed();
}

void Connection::received_raw(const uint8_t* data, size_t length) {
  const PayloadTemplate& payload = run_.payload();
  while (length > 0) {
    if (outstanding() == 0) {
      fail(ErrorKind::BadEcho, "bytes nobody sent");
      return;
    }
    const size_t take = std::min(length, payload.size() - raw_offset_);
    if (!payload.matches(acked_sequence_, raw_offset_, data, take)) {
      fail(ErrorKind::BadEcho, "echoed bytes differ from the bytes sent");
      return;
    }
    raw_offset_ += take;
    data += take;
    length -= take;
    if (raw_offset_ == payload.size()) {
      raw_offset_ = 0;
      echo_completed();
    }
  }
}

// The oldest message in flight came back intact: time it and send the next.
void Connection::echo_completed() {
  const uint64_t latency = run_.now_ns() - sent_at_ns_[acked_sequence_ & ring_mask_];
  ++acked_sequence_;
  run_.echo_received(latency);
  if (run_.may_send() && state_ == State::Open) {
    send_message(next_sequence_++);
    run_.messages_sent(1);
  }
}

// A Close from the server. If it started the closing handshake, the
// messages in flight crossed it: the server will never echo them. With
// --reconnect they stay queued and are re-sent on the next socket.
void Connection::handle_close(uint16_t code) {
  const bool server_initiated = !close_.close_sent();
  const bool reply = close_.on_close_received();
  if (server_initiated) {
    const uint64_t crossed = outstanding();
    run_.count_server_close(code, crossed);
    const bool running = run_.phase() <= Phase::Drain;
    if (run_.options().mode == Mode::Echo && running) {
      if (run_.options().reconnect) {
        wants_reconnect_ = true;
      } else {
        run_.count_error(ErrorKind::ServerClose, "the server closed an echo connection");
      }
    }
    if (!wants_reconnect_) {
      run_.messages_dropped(crossed, false);
      acked_sequence_ = next_sequence_;
    }
  } else if (run_.options().mode == Mode::Echo && outstanding() > 0) {
    // Our Close crossed echoes still in flight (the drain timed out).
    run_.messages_dropped(outstanding(), true);
    acked_sequence_ = next_sequence_;
  }
  if (reply) send_close(ws::CloseHandshake::reply_code(code));
  set_state(State::AwaitEof);
}

// Appends one masked data frame carrying message `sequence`. The mask key
// comes from the run's xorshift generator (see Run::random64).
void Connection::send_message(uint64_t sequence) {
  const PayloadTemplate& payload = run_.payload();
  const size_t size = payload.size();
  sent_at_ns_[sequence & ring_mask_] = run_.now_ns();
  if (run_.options().target.raw) {
    payload.write(sequence, out_.append(size));
    return;
  }
  const uint32_t key = static_cast<uint32_t>(run_.random64());
  uint8_t mask[4];
  std::memcpy(mask, &key, 4);
  const ws::FrameHeader& header = run_.data_frame_header();
  uint8_t* at = out_.append(header.size + size);
  std::memcpy(at, header.bytes, header.size);
  std::memcpy(at + header.size - 4, mask, 4);
  payload.write(sequence, at + header.size);
  ws::mask_payload({at + header.size, size}, mask);
}

void Connection::send_control(ws::Opcode opcode, const uint8_t* payload, size_t length) {
  const uint32_t key = static_cast<uint32_t>(run_.random64());
  uint8_t mask[4];
  std::memcpy(mask, &key, 4);
  const ws::FrameHeader header =
      ws::make_frame_header(ws::Role::Client, opcode, true, length, mask);
  uint8_t* at = out_.append(header.size + length);
  std::memcpy(at, header.bytes, header.size);
  if (length > 0) std::memcpy(at + header.size, payload, length);
  ws::mask_payload({at + header.size, length}, mask);
}

void Connection::send_close(uint16_t code) {
  if (close_.close_sent()) return;
  const ws::ClosePayload payload = ws::make_close_payload(code);
  send_control(ws::Opcode::Close, payload.bytes, payload.size);
  close_.on_close_sent();
  if (state_ == State::Open) set_state(State::CloseSent);
}

}  // namespace wsgate::loadgen
