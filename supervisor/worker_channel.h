// The supervisor's end of one worker's socketpair, on libuv: framed
// messages in (channel.h), framed messages out, EOF as "the worker is gone".
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <string_view>

#include "common/channel.h"

namespace wsgate::supervisor {

class WorkerChannel {
 public:
  class Listener {
   public:
    // One whole message from the worker. The payload is valid during the call.
    virtual void on_channel_message(WorkerChannel& channel, ChannelMessage type,
                                    std::string_view payload) noexcept = 0;
    // EOF (error 0), a read error or a corrupt stream (negative libuv
    // error). Called once; the channel is closed right after it returns.
    virtual void on_channel_lost(WorkerChannel& channel, int error) noexcept = 0;

   protected:
    ~Listener() = default;
  };

  // Wraps `fd` (the parent end of the socketpair, taken over) and starts
  // reading. Returns nullptr, with fd closed and the error logged, on failure.
  static WorkerChannel* open(uv_loop_t* loop, int fd, pid_t pid, Listener& listener);

  // Queues one message. Returns 0 or a negative libuv error (the channel is
  // then as good as lost; EOF will follow).
  int send(ChannelMessage type, std::string_view payload = {});

  // Stops every callback at once and releases the channel; the memory is
  // freed in the close callback. Idempotent. Pending writes are cancelled.
  void close();

  pid_t pid() const { return pid_; }
  // Bytes queued for the worker that it has not read yet.
  size_t queued_bytes() const {
    return listener_ ? uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&pipe_))
                     : 0;
  }

 private:
  WorkerChannel(pid_t pid, Listener& listener) : pid_(pid), listener_(&listener) {}
  ~WorkerChannel() = default;

  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_written(uv_write_t* request, int status) noexcept;
  static void on_closed(uv_handle_t* handle) noexcept;
  void lose(int error) noexcept;

  pid_t pid_;
  Listener* listener_;  // null once closed
  uv_pipe_t pipe_{};
  ChannelDecoder decoder_;
};

}  // namespace wsgate::supervisor
