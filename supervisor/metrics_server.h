// The supervisor's Prometheus endpoint: a small HTTP/1.1 server on the
// supervisor's loop. GET (or HEAD) of the configured path gets the text
// exposition; other paths 404, other methods 405, bad heads the status the
// request head parser gives. One request per connection (Connection:
// close), at most kMaxClients at once, each with kTimeoutMs to send its
// head and read the answer.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

namespace wsgate::config {
struct MetricsConfig;
}

namespace wsgate::supervisor {

// Binds metrics.address (before the privilege drop, like the listeners).
// Returns the socket, or -1 with `error` naming the call and the address.
int bind_metrics_socket(const config::MetricsConfig& metrics, std::string& error);

class MetricsServer {
 public:
  // `render` makes the exposition text; it runs on the loop, once per
  // request, and must not throw.
  MetricsServer(uv_loop_t* loop, std::function<std::string()> render);
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Accepts on the bound TCP socket `fd`, taking ownership of it. Returns 0
  // or a negative libuv error (fd then closed).
  int start(int fd);
  // The port the listener is bound to (metrics.address may say 0), or 0.
  uint16_t port() const;
  // The path served (metrics.path; a reload may change it).
  void set_path(std::string path) { path_ = std::move(path); }
  // Stops accepting and closes every client. The handles are embedded:
  // the loop must run until they have closed before this is destroyed.
  void close();

  static constexpr unsigned kMaxClients = 64;
  static constexpr uint64_t kTimeoutMs = 10000;

 private:
  struct Client;
  static void on_connection(uv_stream_t* server, int status) noexcept;
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_written(uv_write_t* request, int status) noexcept;
  static void on_timeout(uv_timer_t* timer) noexcept;
  static void on_closed(uv_handle_t* handle) noexcept;
  void accept_client() noexcept;
  void answer(Client& client) noexcept;
  void send(Client& client, std::string response) noexcept;
  void close_client(Client& client) noexcept;

  uv_loop_t* loop_;
  std::function<std::string()> render_;
  std::string path_ = "/metrics";
  uv_tcp_t server_{};
  bool started_ = false;
  bool closed_ = false;
  unsigned clients_ = 0;
  Client* first_ = nullptr;  // every open client, linked through Client::next
};

}  // namespace wsgate::supervisor
