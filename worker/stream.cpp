// One libuv stream with its own output queue (see stream.h).
#include "worker/stream.h"

#include <string>
#include <vector>

#include "common/log.h"
#include "worker/worker_loop.h"

namespace wsgate {
namespace {

// Output buffers of streams that wrote everything they had, lent to the
// next streams that write. A stream that flushed completely holds no
// buffer (an idle connection carries none), but a busy one used to grow a
// new buffer from nothing for every batch: about five allocations per
// 16-frame echo batch. The pool is per thread because a worker's loop is
// one thread; it holds at most kOutputSpares buffers of at most
// kOutputSpareMax bytes (1 MiB in all), so a burst of large writes does
// not pin memory. Every stream written to in one loop iteration holds its
// buffer until the flush after the round of callbacks, so the pool must
// cover as many streams as one iteration writes: with 64, 100 busy
// connections grew 36 buffers from nothing every iteration.
constexpr size_t kOutputSpares = 256;
constexpr size_t kOutputSpareMax = 4096;

std::vector<ByteBuffer>& output_spares() {
  thread_local std::vector<ByteBuffer> spares = [] {
    std::vector<ByteBuffer> v;
    v.reserve(kOutputSpares);  // so that keeping a buffer never allocates
    return v;
  }();
  return spares;
}

// Gives `out` a pooled buffer when it has less room than the pool's
// newest one. Contract: `out` is empty.
void borrow_output_buffer(ByteBuffer& out) {
  std::vector<ByteBuffer>& spares = output_spares();
  if (spares.empty() || spares.back().capacity() <= out.capacity()) return;
  out.swap(spares.back());
  spares.pop_back();  // frees what `out` had, if anything
}

// Empties `out` and leaves it holding no heap memory, keeping its buffer
// in the pool when it is small enough and the pool has room.
void return_output_buffer(ByteBuffer& out) {
  std::vector<ByteBuffer>& spares = output_spares();
  if (out.capacity() > 0 && out.capacity() <= kOutputSpareMax && spares.size() < kOutputSpares) {
    out.clear();
    spares.emplace_back().swap(out);
  } else {
    out.release();
  }
}

}  // namespace

Stream::Stream(Worker& worker, StreamOwner& owner) : owner_(owner) {
  // uv_*_init sets these again; the loop is set now so that worker()
  // works before init() too.
  handle_.tcp.data = this;
  handle_.tcp.loop = worker.loop();
}

int Stream::init(Kind kind) {
  uv_loop_t* loop = handle_.tcp.loop;
  const int rc =
      kind == Kind::Tcp ? uv_tcp_init(loop, &handle_.tcp) : uv_pipe_init(loop, &handle_.pipe, 0);
  if (rc != 0) {
    error_log().warn("{}_init: {}", kind == Kind::Tcp ? "uv_tcp" : "uv_pipe", uv_strerror(rc));
    return rc;
  }
  handle_.tcp.data = this;
  initialised_ = true;
  return 0;
}

int Stream::accept(uv_stream_t* server) {
  const int rc = uv_accept(server, handle());
  if (rc == 0) uv_tcp_nodelay(&handle_.tcp, 1);
  return rc;
}

int Stream::connect_tcp(const sockaddr* address) {
  control_ = std::make_unique<ControlRequest>();
  control_->connect.data = this;
  const int rc = uv_tcp_connect(&control_->connect, &handle_.tcp, address, on_connect);
  if (rc != 0) {
    control_.reset();
    return rc;
  }
  connecting_ = true;
  uv_tcp_nodelay(&handle_.tcp, 1);
  return 0;
}

void Stream::connect_pipe(const char* path) {
  control_ = std::make_unique<ControlRequest>();
  control_->connect.data = this;
  connecting_ = true;
  uv_pipe_connect(&control_->connect, &handle_.pipe, path, on_connect);
}

int Stream::open_pipe(int fd) {
  const int rc = uv_pipe_open(&handle_.pipe, fd);
  if (rc != 0) error_log().warn("uv_pipe_open(fd {}): {}", fd, uv_strerror(rc));
  return rc;
}

void Stream::on_connect(uv_connect_t* req, int status) noexcept {
  auto* self = static_cast<Stream*>(req->data);
  self->control_.reset();
  self->connecting_ = false;
  // libuv starts queued writes itself once connected; flush() then finds
  // them in flight or writes what was buffered here meanwhile.
  self->owner_.on_stream_connected(*self, status);
  if (status == 0 && self->open()) self->mark_dirty();
}

int Stream::start_reading() {
  reading_wanted_ = true;
  apply_reading();
  return 0;
}

void Stream::pause(PauseReason reason) {
  pause_reasons_ |= reason;
  apply_reading();
}

void Stream::resume(PauseReason reason) {
  pause_reasons_ &= static_cast<uint8_t>(~reason);
  apply_reading();
}

void Stream::apply_reading() {
  if (!open() || connecting_) return;
  const bool want = reading_wanted_ && pause_reasons_ == 0;
  if (want == reading_) return;
  if (want) {
    const int rc = uv_read_start(handle(), on_alloc, on_read);
    if (rc != 0) {
      fail("uv_read_start", rc);
      return;
    }
  } else {
    uv_read_stop(handle());
  }
  reading_ = want;
}

void Stream::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  *buf = static_cast<Stream*>(handle->data)->worker().read_buffer();
}

void Stream::on_read(uv_stream_t* handle, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<Stream*>(handle->data);
  if (nread > 0) {
    self->owner_.on_stream_read(*self, reinterpret_cast<uint8_t*>(buf->base),
                                static_cast<size_t>(nread));
  } else if (nread < 0) {
    // libuv stops reading at EOF; after an error the handle must not read on.
    if (nread != UV_EOF && self->open()) uv_read_stop(handle);
    self->reading_ = false;
    self->reading_wanted_ = false;
    self->owner_.on_stream_end(*self, static_cast<int>(nread));
  }
}

void Stream::write(std::string_view bytes) {
  if (!open()) return;
  if (output_.empty()) borrow_output_buffer(output_);
  output_.append(bytes);
  wrote();
}

ByteBuffer& Stream::output_buffer() {
  if (output_.empty()) borrow_output_buffer(output_);
  return output_;
}

void Stream::wrote() {
  if (!open()) {
    output_.clear();
    return;
  }
  mark_dirty();
  check_pressure();
}

void Stream::mark_dirty() {
  // Once per batch: a stream already waiting for its flush stays where it is.
  if (!dirty_hook.linked()) worker().dirty_streams.push_back(*this);
}

void Stream::flush() {
  worker().dirty_streams.remove(*this);
  if (!open()) return;
  owner_.on_stream_flush(*this);
  if (!open()) return;
  if (!write_in_flight_ && !output_.empty() && !connecting_) {
    // Nothing in flight, so a direct write keeps order and usually leaves
    // nothing to copy or keep.
    uv_buf_t buf = uv_buf_init(output_.chars(), static_cast<unsigned>(output_.size()));
    int written = uv_try_write(handle(), &buf, 1);
    if (written == UV_EAGAIN) written = 0;
    if (written < 0) {
      output_.clear();
      fail("uv_try_write", written);
      return;
    }
    if (static_cast<size_t>(written) == output_.size()) {
      // An idle stream holds no output buffer (the next writer reuses it)
      // and no write request: a write that once had to wait for the
      // kernel left its block here.
      return_output_buffer(output_);
      write_.reset();
    } else {
      output_.consume(static_cast<size_t>(written));
      start_write();
      if (!open()) return;
    }
  } else if (!write_in_flight_ && !output_.empty()) {
    start_write();  // connecting: libuv holds the write until connected
    if (!open()) return;
  } else if (output_.empty() && output_.capacity() > 0) {
    // Borrowed but never written to (a TLS read that sent no record takes
    // a buffer for OpenSSL): back to the pool, or an idle TLS connection
    // would keep one.
    return_output_buffer(output_);
  }
  check_pressure();
  if (!open()) return;
  if (shutdown_wanted_ && !shutdown_sent_ && !write_in_flight_ && output_.empty() && !connecting_) {
    shutdown_sent_ = true;
    control_ = std::make_unique<ControlRequest>();
    control_->shutdown.data = this;
    const int rc = uv_shutdown(&control_->shutdown, handle(), on_shutdown);
    if (rc != 0) {
      control_.reset();
      fail("uv_shutdown", rc);
    }
  }
}

void Stream::start_write() {
  if (!write_) {
    write_ = std::make_unique<Write>();
    write_->req.data = this;
  }
  write_->bytes.swap(output_);
  uv_buf_t buf = uv_buf_init(write_->bytes.chars(), static_cast<unsigned>(write_->bytes.size()));
  const int rc = uv_write(&write_->req, handle(), &buf, 1, on_write);
  if (rc != 0) {
    write_->bytes.clear();  // never sent, and never to be swapped back
    fail("uv_write", rc);
    return;
  }
  write_in_flight_ = true;
}

void Stream::on_write(uv_write_t* req, int status) noexcept {
  auto* self = static_cast<Stream*>(req->data);
  self->write_in_flight_ = false;
  return_output_buffer(self->write_->bytes);
  if (status < 0) {
    if (status != UV_ECANCELED) self->fail("uv_write", status);
    return;
  }
  // Caught up: the request is not needed until the kernel pushes back again.
  if (self->output_.empty()) self->write_.reset();
  self->flush();
}

void Stream::check_pressure() {
  // The marks are read from the config rather than kept per stream: every
  // stream of a worker has the same, and an idle one should be small.
  const config::LimitsConfig& limits = worker().config().limits;
  const uint64_t queued = queued_bytes();
  if (!above_high_ && queued > limits.write_queue_high) {
    above_high_ = true;
    owner_.on_stream_pressure(*this, true);
  } else if (above_high_ && queued <= limits.write_queue_low) {
    above_high_ = false;
    owner_.on_stream_pressure(*this, false);
  }
}

void Stream::shutdown_when_flushed() {
  if (shutdown_wanted_ || !open()) return;
  shutdown_wanted_ = true;
  mark_dirty();
}

void Stream::on_shutdown(uv_shutdown_t* req, int status) noexcept {
  auto* self = static_cast<Stream*>(req->data);
  self->control_.reset();
  if (status < 0) {
    if (status != UV_ECANCELED) self->fail("uv_shutdown", status);
    return;
  }
  // Reading goes on until EOF (the owner bounds the wait) so the kernel
  // never answers unread bytes with a reset. A paused reader resumes.
  self->pause_reasons_ = 0;
  self->apply_reading();
}

void Stream::fail(const char* call, int status) {
  error_log().debug("{} on {}: {}", call, owner_.describe(*this), uv_strerror(status));
  reading_wanted_ = false;
  if (reading_ && open()) uv_read_stop(handle());
  reading_ = false;
  owner_.on_stream_end(*this, status);
}

bool Stream::close() {
  if (closing_) return initialised_;
  closing_ = true;
  worker().dirty_streams.remove(*this);
  output_.release();
  if (!initialised_) return false;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), on_close);
  return true;
}

void Stream::on_close(uv_handle_t* handle) noexcept {
  auto* self = static_cast<Stream*>(handle->data);
  // libuv has called back every request by now (cancelled), so nothing
  // refers to the write's bytes any more.
  self->write_.reset();
  self->owner_.on_stream_closed(*self);
}

}  // namespace wsgate
