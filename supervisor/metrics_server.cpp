// The supervisor's Prometheus endpoint (see metrics_server.h).
#include "supervisor/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "common/log.h"
#include "config/config.h"
#include "http/handshake.h"

namespace wsgate::supervisor {

int bind_metrics_socket(const config::MetricsConfig& metrics, std::string& error) {
  const std::string where = "metrics.address " + metrics.address;
  const auto failure = [&](const std::string& call, int fd) {
    error = where + ": " + call + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  };
  const int family = metrics.ipv6 ? AF_INET6 : AF_INET;
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return failure(metrics.ipv6 ? "socket(AF_INET6)" : "socket(AF_INET)", -1);
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
    return failure("setsockopt(SO_REUSEADDR)", fd);
  }
  sockaddr_storage storage{};
  socklen_t length = 0;
  int parsed = 0;
  if (metrics.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(metrics.port);
    parsed = inet_pton(AF_INET6, metrics.host.c_str(), &in6->sin6_addr);
    length = sizeof *in6;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
      return failure("setsockopt(IPV6_V6ONLY)", fd);
    }
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(metrics.port);
    parsed = inet_pton(AF_INET, metrics.host.c_str(), &in4->sin_addr);
    length = sizeof *in4;
  }
  if (parsed != 1) {
    error = where + ": not a numeric address";
    ::close(fd);
    return -1;
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0) {
    return failure("bind(" + metrics.address + ")", fd);
  }
  return fd;
}

// One connection. Owns two handles; deleted when both have closed.
struct MetricsServer::Client {
  MetricsServer* server = nullptr;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  int open_handles = 0;
  bool closing = false;
  bool answered = false;
  http::RequestHeadParser parser{http::HeadLimits{}};
  std::string output;  // alive until on_written: uv_write does not copy
  uv_write_t write_request{};
  Client* prev = nullptr;
  Client* next = nullptr;
};

MetricsServer::MetricsServer(uv_loop_t* loop, std::function<std::string()> render)
    : loop_(loop), render_(std::move(render)) {}

int MetricsServer::start(int fd) {
  int rc = uv_tcp_init(loop_, &server_);
  if (rc < 0) {
    ::close(fd);
    error_log().error("uv_tcp_init(metrics): {}", uv_strerror(rc));
    return rc;
  }
  started_ = true;
  server_.data = this;
  rc = uv_tcp_open(&server_, fd);
  if (rc < 0) {
    ::close(fd);
    error_log().error("uv_tcp_open(metrics, fd {}): {}", fd, uv_strerror(rc));
    return rc;
  }
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 64, on_connection);
  if (rc < 0) error_log().error("uv_listen(metrics, 64): {}", uv_strerror(rc));
  return rc;
}

uint16_t MetricsServer::port() const {
  if (!started_ || closed_) return 0;
  sockaddr_storage address{};
  int length = sizeof address;
  if (uv_tcp_getsockname(&server_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

void MetricsServer::close() {
  if (closed_) return;
  closed_ = true;
  if (started_) uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
  for (Client* c = first_; c != nullptr; c = c->next) {
    if (!c->closing) close_client(*c);
  }
}

void MetricsServer::on_connection(uv_stream_t* server, int status) noexcept {
  auto* self = static_cast<MetricsServer*>(server->data);
  if (status < 0) {
    error_log().warn("metrics listener accept: {}", uv_strerror(status));
    return;
  }
  self->accept_client();
}

void MetricsServer::accept_client() noexcept {
  Client* client = nullptr;
  try {
    client = new Client;
  } catch (...) {
    // libuv stops watching the listener while the socket it accepted waits
    // in accepted_fd for uv_accept(): drop that socket, or no scrape would
    // ever be answered again.
    const int fd = server_.accepted_fd;
    server_.accepted_fd = -1;
    if (fd >= 0) ::close(fd);
    error_log().warn("metrics: no memory for a client; dropped it");
    return;
  }
  client->server = this;
  uv_tcp_init(loop_, &client->tcp);
  uv_timer_init(loop_, &client->timer);
  client->tcp.data = client;
  client->timer.data = client;
  client->open_handles = 2;
  client->next = first_;
  if (first_ != nullptr) first_->prev = client;
  first_ = client;
  ++clients_;
  const int rc = uv_accept(reinterpret_cast<uv_stream_t*>(&server_),
                           reinterpret_cast<uv_stream_t*>(&client->tcp));
  if (rc < 0) {
    error_log().warn("uv_accept(metrics): {}", uv_strerror(rc));
    close_client(*client);
    return;
  }
  if (clients_ > kMaxClients) {
    // Accepted only to be closed: the kernel's queue must not fill up with
    // scrapers that a stuck one keeps waiting.
    error_log().warn("metrics: more than {} clients at once; closing the newest", kMaxClients);
    close_client(*client);
    return;
  }
  const int read = uv_read_start(reinterpret_cast<uv_stream_t*>(&client->tcp), on_alloc, on_read);
  if (read < 0) {
    error_log().warn("uv_read_start(metrics): {}", uv_strerror(read));
    close_client(*client);
    return;
  }
  uv_timer_start(&client->timer, on_timeout, kTimeoutMs, 0);
}

// Request heads are small; one loop-wide buffer serves every client
// (libuv calls on_read before it asks for the next buffer).
void MetricsServer::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
  static char buffer[4096];
  *buf = uv_buf_init(buffer, sizeof buffer);
}

void MetricsServer::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* client = static_cast<Client*>(stream->data);
  MetricsServer* self = client->server;
  if (client->answered || client->closing) return;
  if (nread < 0) {
    self->close_client(*client);
    return;
  }
  size_t consumed = 0;
  http::RequestHeadParser::Status status;
  try {
    status = client->parser.feed(
        {reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)}, consumed);
  } catch (...) {
    self->close_client(*client);
    return;
  }
  if (status == http::RequestHeadParser::Status::NeedMore) return;
  client->answered = true;
  uv_read_stop(stream);
  if (status == http::RequestHeadParser::Status::Error) {
    const http::HttpError& error = client->parser.error();
    self->send(*client, http::make_response(error.status, error.reason));
    return;
  }
  self->answer(*client);
}

void MetricsServer::answer(Client& client) noexcept {
  const http::Request& request = client.parser.request();
  const bool head = request.method == "HEAD";
  std::string response;
  try {
    if (request.method != "GET" && !head) {
      response = http::make_response(405, "", "Allow: GET, HEAD\r\n");
    } else if (request.path != path_) {
      response = http::make_response(404, "");
    } else {
      std::string body = render_();
      response =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
      if (!head) response += body;
      send(client, std::move(response));
      return;
    }
  } catch (const std::exception& e) {
    error_log().error("metrics: {}", e.what());
    close_client(client);
    return;
  }
  // An error answer to HEAD carries no body either.
  if (head) response.resize(response.find("\r\n\r\n") + 4);
  send(client, std::move(response));
}

void MetricsServer::send(Client& client, std::string response) noexcept {
  client.output = std::move(response);
  client.write_request.data = &client;
  uv_buf_t buf = uv_buf_init(client.output.data(), static_cast<unsigned>(client.output.size()));
  const int rc = uv_write(&client.write_request, reinterpret_cast<uv_stream_t*>(&client.tcp), &buf,
                          1, on_written);
  if (rc < 0) {
    error_log().warn("uv_write(metrics, {} bytes): {}", client.output.size(), uv_strerror(rc));
    close_client(client);
  }
}

void MetricsServer::on_written(uv_write_t* request, int status) noexcept {
  auto* client = static_cast<Client*>(request->data);
  if (status < 0 && status != UV_ECANCELED) {
    error_log().debug("metrics: write failed: {}", uv_strerror(status));
  }
  // Connection: close. The kernel still sends what it holds before the FIN.
  if (!client->closing) client->server->close_client(*client);
}

void MetricsServer::on_timeout(uv_timer_t* timer) noexcept {
  auto* client = static_cast<Client*>(timer->data);
  error_log().debug("metrics: a client took more than {} ms", kTimeoutMs);
  client->server->close_client(*client);
}

void MetricsServer::close_client(Client& client) noexcept {
  if (client.closing) return;
  client.closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&client.tcp), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&client.timer), on_closed);
}

void MetricsServer::on_closed(uv_handle_t* handle) noexcept {
  auto* client = static_cast<Client*>(handle->data);
  if (--client->open_handles > 0) return;
  MetricsServer* self = client->server;
  if (client->prev != nullptr) client->prev->next = client->next;
  if (client->next != nullptr) client->next->prev = client->prev;
  if (self->first_ == client) self->first_ = client->next;
  --self->clients_;
  delete client;
}

}  // namespace wsgate::supervisor
