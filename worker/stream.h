// One libuv stream (TCP or pipe) with its own output queue: the client
// socket of a connection, or a relay's backend. The owner hears of data,
// end of stream, queue pressure and the close through StreamOwner.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/byte_buffer.h"
#include "worker/intrusive_list.h"

namespace wsgate {

class Stream;
class Worker;

// What a stream tells its owner. Every call comes from a libuv callback
// (or from Worker::flush_dirty_streams(), which runs from one) and may
// close the stream or anything else; the stream re-checks itself after
// each call. No exception may leave these.
class StreamOwner {
 public:
  // `size` bytes arrived, in the loop's read buffer: valid during the call
  // only, and writable (the WebSocket parser unmasks in place).
  virtual void on_stream_read(Stream& stream, uint8_t* data, size_t size) noexcept = 0;
  // The peer ended its side (status UV_EOF) or the socket failed (a libuv
  // error). Reading has stopped; the stream is still open.
  virtual void on_stream_end(Stream& stream, int status) noexcept = 0;
  // The queue passed the high mark (above == true), or fell back to the
  // low mark after having passed it (above == false).
  virtual void on_stream_pressure(Stream& stream, bool above) noexcept = 0;
  // uv_connect_t finished (connect_tcp / connect_pipe): 0 or a libuv error.
  virtual void on_stream_connected(Stream&, int) noexcept {}
  // Called first by flush(): the owner's last chance to add output (a TLS
  // filter encrypts its plaintext here).
  virtual void on_stream_flush(Stream&) noexcept {}
  // The close callback ran; the stream may be destroyed from here on.
  virtual void on_stream_closed(Stream& stream) noexcept = 0;
  // Who is at the other end, for log lines: "127.0.0.1:50000".
  virtual std::string describe(const Stream& stream) const = 0;

 protected:
  ~StreamOwner() = default;
};

class Stream {
 public:
  enum class Kind : uint8_t { Tcp, Pipe };

  // Why reading is paused; reading runs only while no reason is set.
  enum PauseReason : uint8_t {
    kPauseOwnQueue = 1,  // echo: this stream's own output is backed up
    kPausePeer = 2,      // the other side of a relay is backed up
    kPauseWaiting = 4,   // nothing to do with input yet (connecting upstream)
    kPauseDeferred = 8,  // input of the last read is held for a later loop turn
  };

  // The queue's marks are the config's limits.write_queue_low and _high.
  // The stream finds `worker` through its handle's loop (whose data is the
  // Worker) rather than keeping a pointer of its own.
  Stream(Worker& worker, StreamOwner& owner);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Initialises the handle: 0 or a libuv error (logged). Until init
  // succeeds the stream has no handle and hears nothing.
  int init(Kind kind);
  // Accepts a connection of `server` into this (initialised) TCP stream.
  int accept(uv_stream_t* server);
  // Starts connecting; on_stream_connected follows (also after close(),
  // with UV_ECANCELED). Writes made meanwhile are queued.
  int connect_tcp(const sockaddr* address);
  void connect_pipe(const char* path);
  // Takes `fd`, a non-blocking pipe end, into this initialised pipe
  // stream: 0, or a libuv error (logged; the fd is still the caller's).
  int open_pipe(int fd);

  // Reading starts only once start_reading() is called, then follows the
  // pause reasons.
  int start_reading();
  void pause(PauseReason reason);
  void resume(PauseReason reason);
  bool paused() const { return pause_reasons_ != 0; }

  // Appends output. It reaches the kernel at the next flush(): the worker
  // flushes every written stream once per loop iteration, and owners may
  // flush earlier.
  void write(std::string_view bytes);
  ByteBuffer& output_buffer();  // append directly, then call wrote()
  void wrote();

  // Hands buffered output to the kernel: uv_try_write first, then one
  // uv_write in flight at a time. A write error is logged at debug level
  // and reported as on_stream_end with the error.
  void flush();

  // Sends FIN once everything queued is written. Idempotent.
  void shutdown_when_flushed();
  bool shutdown_wanted() const { return shutdown_wanted_; }
  bool shutdown_sent() const { return shutdown_sent_; }

  // Closes the handle (unsent output is dropped). Idempotent. Returns true
  // when on_stream_closed will follow from the close callback (always,
  // once init() succeeded); false for a stream that never had a handle.
  bool close();
  bool closing() const { return closing_; }
  bool open() const { return initialised_ && !closing_; }

  uint64_t queued_bytes() const { return output_.size() + (write_ ? write_->bytes.size() : 0); }
  // The queue passed the high mark and has not yet fallen to the low one:
  // on_stream_pressure(false) is still to come.
  bool above_high() const { return above_high_; }
  uv_stream_t* handle() { return reinterpret_cast<uv_stream_t*>(&handle_); }
  uv_tcp_t* tcp() { return &handle_.tcp; }
  Worker& worker() const { return *static_cast<Worker*>(handle_.tcp.loop->data); }
  StreamOwner& owner() { return owner_; }

  // The worker's list of streams written to since their last flush.
  ListHook<Stream> dirty_hook;

 private:
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_write(uv_write_t* req, int status) noexcept;
  static void on_shutdown(uv_shutdown_t* req, int status) noexcept;
  static void on_connect(uv_connect_t* req, int status) noexcept;
  static void on_close(uv_handle_t* handle) noexcept;

  void mark_dirty();
  void start_write();
  void check_pressure();
  void apply_reading();
  void fail(const char* call, int status);

  // A write handed to libuv: the bytes must stay untouched until its
  // callback. It exists only while the kernel pushes back, so a stream that
  // keeps up (and an idle one) carries none.
  struct Write {
    uv_write_t req;
    ByteBuffer bytes;
  };
  // The connect request, then (a shutdown waits for the connect to end)
  // the shutdown request: never both at once, so they share one block.
  union ControlRequest {
    uv_connect_t connect;
    uv_shutdown_t shutdown;
  };

  StreamOwner& owner_;
  union Handle {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  ByteBuffer output_;  // written, not yet handed to uv_write
  std::unique_ptr<Write> write_;
  std::unique_ptr<ControlRequest> control_;
  uint8_t pause_reasons_ = 0;
  bool initialised_ : 1 = false;
  bool connecting_ : 1 = false;      // control_ holds the connect request
  bool reading_wanted_ : 1 = false;  // start_reading() was called
  bool reading_ : 1 = false;         // uv_read_start is in effect
  bool write_in_flight_ : 1 = false;
  bool above_high_ : 1 = false;
  bool shutdown_wanted_ : 1 = false;
  bool shutdown_sent_ : 1 = false;
  bool closing_ = false;
};

}  // namespace wsgate
