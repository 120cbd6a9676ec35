// wsgate-tcp-echo: the raw libuv TCP echo server that benchmarks compare the
// gateway against (the "floor"). One loop, one thread, no framing.
//
// Usage: wsgate-tcp-echo PORT [HOST]   (HOST defaults to 127.0.0.1; PORT 0
// picks a free port). Prints "listening HOST:PORT" on stdout once bound.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// One accepted connection. Freed only in its close callback.
struct EchoConnection {
  uv_tcp_t tcp;
  char buffer[65536];
};

// The part of a read that uv_try_write could not send, with its request.
// Freed in the write callback.
struct PendingWrite {
  uv_write_t request;
  uv_buf_t buf;
  char bytes[1];  // allocated to buf.len bytes
};

void on_close(uv_handle_t* handle) {
  delete reinterpret_cast<EchoConnection*>(handle->data);
}

void close_connection(uv_stream_t* stream) {
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(stream))) {
    uv_close(reinterpret_cast<uv_handle_t*>(stream), on_close);
  }
}

void on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* connection = static_cast<EchoConnection*>(handle->data);
  *buf = uv_buf_init(connection->buffer, sizeof connection->buffer);
}

void on_write(uv_write_t* request, int status) {
  auto* pending = reinterpret_cast<PendingWrite*>(request);
  if (status < 0 && status != UV_ECANCELED) close_connection(request->handle);
  std::free(pending);
}

// Echoes what was read: uv_try_write first; whatever it could not take is
// copied and queued with uv_write (libuv keeps queued writes in order).
void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    close_connection(stream);
    return;
  }
  if (nread == 0) return;
  uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned>(nread));
  int sent = uv_try_write(stream, &out, 1);
  if (sent == UV_EAGAIN) sent = 0;
  if (sent < 0) {
    close_connection(stream);
    return;
  }
  if (sent == nread) return;
  const size_t rest = static_cast<size_t>(nread) - static_cast<size_t>(sent);
  auto* pending = static_cast<PendingWrite*>(std::malloc(sizeof(PendingWrite) + rest));
  if (pending == nullptr) {
    close_connection(stream);
    return;
  }
  std::memcpy(pending->bytes, buf->base + sent, rest);
  pending->buf = uv_buf_init(pending->bytes, static_cast<unsigned>(rest));
  if (uv_write(&pending->request, stream, &pending->buf, 1, on_write) != 0) {
    std::free(pending);
    close_connection(stream);
  }
}

void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* connection = new EchoConnection;
  uv_tcp_init(server->loop, &connection->tcp);
  connection->tcp.data = connection;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&connection->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&connection->tcp), on_close);
    return;
  }
  uv_tcp_nodelay(&connection->tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&connection->tcp), on_alloc, on_read);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: wsgate-tcp-echo PORT [HOST]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const char* host = argc > 2 ? argv[2] : "127.0.0.1";
  std::signal(SIGPIPE, SIG_IGN);
  uv_loop_t* loop = uv_default_loop();
  sockaddr_storage address{};
  if (uv_ip4_addr(host, port, reinterpret_cast<sockaddr_in*>(&address)) != 0 &&
      uv_ip6_addr(host, port, reinterpret_cast<sockaddr_in6*>(&address)) != 0) {
    std::fprintf(stderr, "wsgate-tcp-echo: bad address %s\n", host);
    return 2;
  }
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  int rc = uv_tcp_bind(&server, reinterpret_cast<sockaddr*>(&address), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, on_connection);
  if (rc != 0) {
    std::fprintf(stderr, "wsgate-tcp-echo: listen %s:%d: %s\n", host, port, uv_strerror(rc));
    return 1;
  }
  sockaddr_storage bound{};
  int length = sizeof bound;
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &length);
  const int real_port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  std::printf("listening %s:%d\n", host, real_port);
  std::fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
