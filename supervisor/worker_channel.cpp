// The supervisor's end of a worker channel (see worker_channel.h).
#include "supervisor/worker_channel.h"

#include <unistd.h>

#include <new>
#include <string>

#include "common/log.h"

namespace wsgate::supervisor {
namespace {

// A queued message: the encoded bytes live here until uv_write is done.
struct WriteRequest {
  uv_write_t request{};
  std::string bytes;
  pid_t pid = 0;
};

}  // namespace

WorkerChannel* WorkerChannel::open(uv_loop_t* loop, int fd, pid_t pid, Listener& listener) {
  auto* channel = new (std::nothrow) WorkerChannel(pid, listener);
  if (channel == nullptr) {
    ::close(fd);
    error_log().error("out of memory for the channel of pid {}", pid);
    return nullptr;
  }
  uv_pipe_init(loop, &channel->pipe_, 0);
  channel->pipe_.data = channel;
  int rc = uv_pipe_open(&channel->pipe_, fd);
  if (rc < 0) {
    error_log().error("uv_pipe_open(channel of pid {}, fd {}): {}", pid, fd, uv_strerror(rc));
    ::close(fd);
    channel->listener_ = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&channel->pipe_), on_closed);
    return nullptr;
  }
  rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&channel->pipe_), on_alloc, on_read);
  if (rc < 0) {
    error_log().error("uv_read_start(channel of pid {}): {}", pid, uv_strerror(rc));
    channel->close();
    return nullptr;
  }
  return channel;
}

int WorkerChannel::send(ChannelMessage type, std::string_view payload) {
  if (listener_ == nullptr) return UV_EPIPE;
  if (payload.size() > kMaxChannelPayload) {
    // The worker would take the frame for a corrupt stream and stop.
    error_log().error(
        "message type {} of {} bytes for worker pid {} is over the channel's {} "
        "bytes; not sent",
        static_cast<int>(type), payload.size(), pid_, kMaxChannelPayload);
    return UV_E2BIG;
  }
  auto* write = new (std::nothrow) WriteRequest;
  if (write == nullptr) return UV_ENOMEM;
  try {
    channel_encode(write->bytes, type, payload);
  } catch (...) {
    delete write;
    return UV_ENOMEM;
  }
  write->pid = pid_;
  write->request.data = write;
  uv_buf_t buf = uv_buf_init(write->bytes.data(), static_cast<unsigned>(write->bytes.size()));
  // uv_write writes what it can now and the rest when the socket drains.
  const int rc =
      uv_write(&write->request, reinterpret_cast<uv_stream_t*>(&pipe_), &buf, 1, on_written);
  if (rc < 0) {
    error_log().warn("uv_write(channel of pid {}, {} bytes): {}", pid_, write->bytes.size(),
                     uv_strerror(rc));
    delete write;
  }
  return rc;
}

void WorkerChannel::on_written(uv_write_t* request, int status) noexcept {
  auto* write = static_cast<WriteRequest*>(request->data);
  if (status < 0 && status != UV_ECANCELED) {
    error_log().warn("write to the channel of pid {}: {}", write->pid, uv_strerror(status));
  }
  delete write;
}

// Channel messages are small; one loop-wide buffer serves every channel
// (libuv hands it to on_read before asking for another).
void WorkerChannel::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
  static char buffer[64 * 1024];
  *buf = uv_buf_init(buffer, sizeof buffer);
}

void WorkerChannel::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<WorkerChannel*>(stream->data);
  if (self->listener_ == nullptr) return;
  if (nread < 0) {
    self->lose(nread == UV_EOF ? 0 : static_cast<int>(nread));
    return;
  }
  if (nread == 0) return;
  try {
    self->decoder_.feed(std::span<const char>(buf->base, static_cast<size_t>(nread)));
  } catch (...) {
    self->lose(UV_ENOMEM);
    return;
  }
  ChannelMessage type;
  std::string_view payload;
  // The listener may close the channel from inside the callback: re-check.
  while (self->listener_ != nullptr && self->decoder_.next(type, payload)) {
    self->listener_->on_channel_message(*self, type, payload);
  }
  if (self->listener_ != nullptr && self->decoder_.failed()) {
    error_log().error("channel of pid {}: corrupt frame length", self->pid_);
    self->lose(UV_EPROTO);
  }
}

void WorkerChannel::lose(int error) noexcept {
  Listener* listener = listener_;
  listener_ = nullptr;
  if (listener != nullptr) listener->on_channel_lost(*this, error);
  close();
}

void WorkerChannel::close() {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&pipe_))) return;
  listener_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), on_closed);
}

void WorkerChannel::on_closed(uv_handle_t* handle) noexcept {
  delete static_cast<WorkerChannel*>(handle->data);
}

}  // namespace wsgate::supervisor
