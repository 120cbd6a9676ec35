// One load client's socket: connect, (TLS,) upgrade, reads, corked writes,
// timeouts and close (see connection.h; the protocol is in
// connection_protocol.cpp).
#include "loadgen/connection.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "loadgen/run.h"
#include "ws/frame_writer.h"

namespace wsgate::loadgen {

namespace {

constexpr uint64_t kHandshakeTimeoutMs = 10000;
constexpr uint64_t kCloseReplyTimeoutMs = 5000;
constexpr uint64_t kFinTimeoutMs = 1000;

ws::Limits limits_for(uint64_t size) {
  ws::Limits limits;
  limits.max_frame = std::max<uint64_t>(size, 1 << 20);
  limits.max_message = limits.max_frame;
  limits.max_fragments = 0;
  return limits;
}

ErrorKind error_kind_of_connect(int status) {
  switch (status) {
    case UV_ECONNREFUSED:
      return ErrorKind::ConnectRefused;
    case UV_ETIMEDOUT:
      return ErrorKind::Timeout;
    case UV_ECONNRESET:
      return ErrorKind::Reset;
    default:
      return ErrorKind::ConnectFailed;
  }
}

}  // namespace

Connection::Connection(Run& run, uint32_t index)
    : run_(run), index_(index), parser_(ws::Role::Client, limits_for(run.options().size)) {
  connect_request_.data = this;
  write_request_.data = this;
  if (run.options().mode == Mode::Echo) {
    size_t ring = 1;
    while (ring < run.options().depth) ring <<= 1;
    sent_at_ns_.resize(ring);
    ring_mask_ = ring - 1;
  }
}

void Connection::set_state(State state) {
  state_ = state;
  state_since_ms_ = uv_now(run_.loop());
}

// ---- connecting ------------------------------------------------------------

void Connection::connect() {
  holds_connect_slot_ = true;
  wants_reconnect_ = false;
  failed_before_open_ = false;
  tcp_ = new uv_tcp_t;
  uv_tcp_init(run_.loop(), tcp_);
  tcp_->data = this;
  run_.socket_opened();
  set_state(State::Connecting);
  run_.refresh_clock();
  connect_started_ns_ = run_.now_ns();
  parser_ = ws::FrameParser(ws::Role::Client, limits_for(run_.options().size));
  close_ = ws::CloseHandshake();
  at_frame_start_ = true;
  raw_offset_ = 0;

  int rc = 0;
  const char* call = "uv_tcp_connect";
  if (const sockaddr* source = run_.source_for(index_)) {
    // Bind the source address without a port: IP_BIND_ADDRESS_NO_PORT lets
    // the kernel pick the port at connect time per destination, so each
    // source address gives its own ~28000 ports.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      rc = -errno;
      call = "socket";
    } else {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      if (::bind(fd, source, sizeof(sockaddr_in)) != 0) {
        rc = -errno;
        call = "bind";
        ::close(fd);
      } else {
        rc = uv_tcp_open(tcp_, fd);
        call = "uv_tcp_open";
        if (rc != 0) ::close(fd);
      }
    }
  }
  if (rc == 0) rc = uv_tcp_connect(&connect_request_, tcp_, run_.address(), on_connect);
  if (rc != 0) {
    run_.handshake_failed();
    fail(ErrorKind::ConnectFailed, std::string(call) + ": " + uv_strerror(rc));
  }
}

void Connection::on_connect(uv_connect_t* request, int status) noexcept {
  static_cast<Connection*>(request->data)->connected(status);
}

void Connection::connected(int status) {
  if (state_ != State::Connecting) return;  // closed meanwhile (UV_ECANCELED)
  if (status < 0) {
    run_.handshake_failed();
    fail(error_kind_of_connect(status), std::string("connect: ") + uv_strerror(status));
    return;
  }
  uv_tcp_nodelay(tcp_, 1);
  const int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), on_alloc, on_read);
  if (rc != 0) {
    fail(ErrorKind::ConnectFailed, uv_strerror(rc));
    return;
  }
  const Target& target = run_.options().target;
  if (target.raw) {
    handshake_done();
  } else if (target.tls) {
    if (!tls_) tls_ = std::make_unique<TlsClient>();
    set_state(State::TlsHandshake);
    if (!tls_->start(run_.tls(), run_.options().servername)) {
      run_.handshake_failed();
      fail(ErrorKind::Tls, tls_->error());
      return;
    }
  } else {
    uint8_t nonce[16];
    const uint64_t a = run_.random64(), b = run_.random64();
    std::memcpy(nonce, &a, 8);
    std::memcpy(nonce + 8, &b, 8);
    handshake_.write_request(target, nonce, out_);
    set_state(State::WsHandshake);
  }
  flush();
}

// The handshake (TCP for raw, else the 101) is complete.
void Connection::handshake_done() {
  set_state(State::Open);
  release_connect_slot();
  run_.refresh_clock();
  run_.handshake_completed(run_.now_ns() - connect_started_ns_, tls_ && tls_->resumed());
  if (!ever_settled_) {
    ever_settled_ = true;
    run_.slot_settled();
  }
  switch (run_.options().mode) {
    case Mode::Echo:
      start_traffic();
      break;
    case Mode::Connect:
      send_close(ws::close_code::kNormal);
      break;
    case Mode::Idle:
      out_.release();
      break;
  }
}

// ---- reading ---------------------------------------------------------------

void Connection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  Run& run = static_cast<Connection*>(handle->data)->run_;
  *buf = uv_buf_init(reinterpret_cast<char*>(run.read_buffer()),
                     static_cast<unsigned>(run.read_buffer_size()));
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<Connection*>(stream->data);
  if (nread == 0) return;
  if (nread < 0) {
    if (nread == UV_EOF) {
      if (self->state_ == State::AwaitEof) {
        self->close_socket();
      } else {
        if (self->state_ < State::Open) self->run_.handshake_failed();
        self->fail(ErrorKind::Eof, "server closed TCP without a Close frame");
      }
    } else {
      if (self->state_ < State::Open) self->run_.handshake_failed();
      self->fail(ErrorKind::Reset, uv_strerror(static_cast<int>(nread)));
    }
    return;
  }
  self->run_.refresh_clock();
  self->received(reinterpret_cast<uint8_t*>(buf->base), static_cast<size_t>(nread));
  self->flush();
}

void Connection::received(uint8_t* data, size_t length) {
  if (!tls_ || !run_.options().target.tls) {
    received_plaintext(data, length);
    return;
  }
  if (!tls_->feed(data, length)) {
    fail(ErrorKind::Tls, tls_->error());
    return;
  }
  if (state_ == State::TlsHandshake) {
    const int done = tls_->handshake();
    if (done < 0) {
      run_.handshake_failed();
      fail(ErrorKind::Tls, tls_->error());
      return;
    }
    if (done == 0) return;
    uint8_t nonce[16];
    const uint64_t a = run_.random64(), b = run_.random64();
    std::memcpy(nonce, &a, 8);
    std::memcpy(nonce + 8, &b, 8);
    handshake_.write_request(run_.options().target, nonce, out_);
    set_state(State::WsHandshake);
  }
  while (state_ != State::Closing && state_ != State::Idle) {
    const int got = tls_->read(run_.plaintext_buffer(), run_.plaintext_buffer_size());
    if (got == 0) break;
    if (got < 0) {
      if (state_ == State::AwaitEof) {
        close_socket();
      } else {
        if (state_ < State::Open) run_.handshake_failed();
        fail(ErrorKind::Tls, tls_->error());
      }
      return;
    }
    received_plaintext(run_.plaintext_buffer(), static_cast<size_t>(got));
  }
}

void Connection::received_plaintext(uint8_t* data, size_t length) {
  if (state_ == State::WsHandshake) {
    size_t consumed = 0;
    switch (handshake_.feed(data, length, consumed)) {
      case ClientHandshake::Status::NeedMore:
        return;
      case ClientHandshake::Status::Failed:
        run_.handshake_failed();
        fail(ErrorKind::Handshake, handshake_.failure());
        return;
      case ClientHandshake::Status::Done:
        break;
    }
    handshake_done();
    data += consumed;
    length -= consumed;
  }
  if (length == 0 || state_ < State::Open || state_ == State::Closing) return;
  if (run_.options().target.raw) {
    received_raw(data, length);
  } else {
    received_frames(data, length);
  }
}

// ---- writing ---------------------------------------------------------------

// Sends what is queued: one uv_try_write, and the rest (if any) in one
// uv_write whose buffer is kept in in_flight_. At most one write is in
// flight; bytes queued meanwhile go out from its callback.
void Connection::flush() {
  if (tcp_ == nullptr || state_ == State::Closing || state_ == State::Idle) return;
  ByteBuffer* pending = &out_;
  if (tls_ && run_.options().target.tls) {
    if (!out_.empty()) {
      if (!tls_->write(out_.data(), out_.size())) {
        fail(ErrorKind::Tls, tls_->error());
        return;
      }
      out_.clear();
    }
    tls_->take_output(wire_);
    pending = &wire_;
  }
  if (writing_ || pending->empty()) return;
  uv_buf_t buf =
      uv_buf_init(reinterpret_cast<char*>(pending->data()), static_cast<unsigned>(pending->size()));
  auto* stream = reinterpret_cast<uv_stream_t*>(tcp_);
  int sent = uv_try_write(stream, &buf, 1);
  if (sent == UV_EAGAIN) sent = 0;
  if (sent < 0) {
    fail(ErrorKind::Reset, uv_strerror(sent));
    return;
  }
  if (static_cast<size_t>(sent) == pending->size()) {
    pending->clear();
    return;
  }
  pending->consume(static_cast<size_t>(sent));
  in_flight_.swap(*pending);
  pending->clear();
  buf = uv_buf_init(reinterpret_cast<char*>(in_flight_.data()),
                    static_cast<unsigned>(in_flight_.size()));
  const int rc = uv_write(&write_request_, stream, &buf, 1, on_write);
  if (rc != 0) {
    fail(ErrorKind::Reset, uv_strerror(rc));
    return;
  }
  writing_ = true;
}

void Connection::on_write(uv_write_t* request, int status) noexcept {
  auto* self = static_cast<Connection*>(request->data);
  self->writing_ = false;
  self->in_flight_.clear();
  if (status < 0) {
    if (status != UV_ECANCELED) self->fail(ErrorKind::Reset, uv_strerror(status));
    return;
  }
  self->flush();
}

// ---- closing ---------------------------------------------------------------

void Connection::fail(ErrorKind kind, std::string_view detail) {
  if (state_ == State::Closing || state_ == State::Idle) return;
  if (state_ < State::Open) failed_before_open_ = true;
  run_.count_error(kind, detail);
  if (outstanding() > 0) {
    run_.messages_dropped(outstanding(), true);
    acked_sequence_ = next_sequence_;
  }
  if (!ever_settled_) {
    ever_settled_ = true;
    run_.slot_settled();
  }
  close_socket();
}

void Connection::release_connect_slot() {
  if (!holds_connect_slot_) return;
  holds_connect_slot_ = false;
  run_.connect_slot_released();
}

void Connection::close_socket() {
  if (tcp_ == nullptr || state_ == State::Closing) return;
  release_connect_slot();
  set_state(State::Closing);
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_), on_close);
}

void Connection::on_close(uv_handle_t* handle) noexcept {
  auto* self = static_cast<Connection*>(handle->data);
  delete reinterpret_cast<uv_tcp_t*>(handle);
  self->tcp_ = nullptr;
  self->writing_ = false;
  self->out_.release();
  self->wire_.release();
  self->in_flight_.release();
  if (self->tls_) self->tls_->reset();
  self->parser_.reset();
  self->set_state(State::Idle);
  self->run_.socket_closed(*self);
}

void Connection::begin_close() {
  switch (state_) {
    case State::Open:
      if (run_.options().target.raw) {
        close_socket();
        return;
      }
      send_close(ws::close_code::kNormal);
      flush();
      break;
    case State::Connecting:
    case State::TlsHandshake:
    case State::WsHandshake:
      close_socket();
      break;
    default:
      break;
  }
}

void Connection::abort() {
  close_socket();
}

void Connection::give_up_outstanding() {
  if (outstanding() == 0) return;
  run_.count_error(ErrorKind::Timeout, "echoes still missing when the drain timed out");
  run_.messages_dropped(outstanding(), true);
  acked_sequence_ = next_sequence_;
}

void Connection::start_traffic_now() {
  if (state_ != State::Open) return;
  start_traffic();
  flush();
}

void Connection::check_timeouts(uint64_t now_ms) {
  const uint64_t age = now_ms - state_since_ms_;
  switch (state_) {
    case State::Connecting:
    case State::TlsHandshake:
    case State::WsHandshake:
      if (age >= kHandshakeTimeoutMs) {
        run_.handshake_failed();
        fail(ErrorKind::Timeout, "connect or handshake took over 10 s");
      }
      break;
    case State::CloseSent:
      if (age >= kCloseReplyTimeoutMs) fail(ErrorKind::Timeout, "no Close reply within 5 s");
      break;
    case State::AwaitEof:
      if (age >= kFinTimeoutMs) close_socket();
      break;
    default:
      break;
  }
}

}  // namespace wsgate::loadgen
