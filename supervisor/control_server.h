// The control server: wsgatectl connects to the unix socket, sends one
// command line, and gets one JSON document and a newline back, or (the
// events command) a stream of lines until either side ends it.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/unix_socket.h"

namespace wsgate::supervisor {

// Who may use the control socket (SEC-CTL-02, issue 10 item 9): root, the
// configured control_users, members (primary or supplementary group) of
// control_groups, and the daemon's own uid only when it was started
// unprivileged (then that uid is the operator's). After a privilege drop
// the daemon's uid is the workers' (and the exec relay's children's):
// admitting it would let a worker stop the daemon.
struct ControlAccess {
  std::optional<uid_t> own_uid;
  std::vector<uid_t> users;
  std::vector<gid_t> groups;
  bool allows(const PeerCredentials& peer) const;
};

inline constexpr size_t kMaxControlLine = 1024;
inline constexpr uint64_t kControlReadTimeoutMs = 5000;
// A stream's client may fall this far behind before it is cut off; the
// last line it gets then is kStreamOverflowLine.
inline constexpr size_t kMaxStreamBacklog = 4 * 1024 * 1024;
inline constexpr std::string_view kStreamOverflowLine =
    R"({"ok":false,"error":"cut off: this stream was read too slowly"})";

class ControlServer {
 public:
  class Handler {
   public:
    // A client sent `command` (one line, trimmed). The handler answers with
    // reply(request, json) now or later; it may also never answer if the
    // server is closed first. Called from libuv callbacks: must not throw.
    virtual void on_control_command(uint64_t request, std::string_view command,
                                    const PeerCredentials& peer) noexcept = 0;
    // The client of a stream (see stream()) hung up or failed. Not called
    // for streams the handler ended itself (end_stream(), or stream()
    // answering other than Sent).
    virtual void on_stream_closed(uint64_t request) noexcept = 0;

   protected:
    ~Handler() = default;
  };

  ControlServer(uv_loop_t* loop, Handler& handler, ControlAccess access);
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Accepts connections on `listen_fd` (from bind_control_socket), taking
  // ownership of it. Returns 0 or a negative libuv error (fd then closed).
  int start(int listen_fd);

  // Sends `json` and a newline to the client of `request`, then closes it.
  // A request whose client is gone, or already answered, is ignored.
  void reply(uint64_t request, std::string json);

  // Streams: instead of one reply(), the answer to `request` is a series
  // of lines, each `line` and a newline, sent as the client reads them.
  // The client's input is watched for EOF (on_stream_closed). Answers Gone
  // when the client is no longer there, and Overflow, ending it with kStreamOverflowLine, when
  // the client let more than kMaxStreamBacklog bytes pile up (its kernel
  // socket buffer aside).
  enum class StreamResult { Sent, Gone, Overflow };
  StreamResult stream(uint64_t request, std::string_view line);
  // Test-only (WSGATE_FAULTS stream_backlog_bytes): a smaller backlog limit.
  void set_stream_backlog(size_t bytes) { stream_backlog_ = bytes; }
  // Closes the stream of `request` once its lines are written (at most
  // kControlReadTimeoutMs later).
  void end_stream(uint64_t request);

  // Stops accepting. Clients still sending their line are closed; streams
  // are ended (end_stream); clients
  // waiting for an answer stay until reply() or fail_pending(). The
  // server's handle is embedded: the loop must run until it has closed
  // before this object is destroyed.
  void close();

  // Answers every client still waiting with {"ok":false,"error":error}.
  void fail_pending(std::string_view error);

 private:
  struct Client;
  static void on_connection(uv_stream_t* server, int status) noexcept;
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_timeout(uv_timer_t* timer) noexcept;
  static void on_written(uv_write_t* request, int status) noexcept;
  static void on_stream_written(uv_write_t* request, int status) noexcept;
  static void on_client_closed(uv_handle_t* handle) noexcept;

  void accept_client() noexcept;
  void dispatch(Client& client, std::string line) noexcept;
  // Starts writing the pending lines unless a write is in flight; false
  // when the write failed and the client was closed (the handler told
  // when `notify`).
  bool write_stream(Client& client, bool notify) noexcept;
  // `notify`: tell the handler when the client was a stream.
  void close_client(Client& client, bool notify = false) noexcept;

  uv_loop_t* loop_;
  Handler& handler_;
  ControlAccess access_;
  uv_pipe_t server_{};
  bool started_ = false;
  bool closing_ = false;
  uint64_t next_request_ = 1;
  size_t stream_backlog_ = kMaxStreamBacklog;
  std::unordered_map<uint64_t, Client*> clients_;
};

}  // namespace wsgate::supervisor
