// The control server (see control_server.h): one line in, one JSON answer
// out, peers checked with SO_PEERCRED, slow clients cut after 5 s.
#include "supervisor/control_server.h"

#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/json.h"
#include "common/log.h"

namespace wsgate::supervisor {

bool ControlAccess::allows(const PeerCredentials& peer) const {
  const auto has = [](const auto& list, auto value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  if (peer.uid == 0 || (own_uid && peer.uid == *own_uid) || has(users, peer.uid)) return true;
  if (has(groups, peer.gid)) return true;
  for (gid_t gid : peer.groups) {
    if (has(groups, gid)) return true;
  }
  return false;
}

// One connection. Owns two handles; the object is deleted when the close
// callbacks of both have run.
struct ControlServer::Client {
  enum class State { Reading, Waiting, Writing, Streaming, Closing };

  ControlServer* server = nullptr;
  uint64_t id = 0;
  State state = State::Reading;
  uv_pipe_t pipe{};
  uv_timer_t timer{};
  int open_handles = 0;
  PeerCredentials peer;
  bool allowed = false;  // SO_PEERCRED passed ControlAccess
  std::string input;
  std::string output;  // alive until on_written: uv_write does not copy
  uv_write_t write_request{};
  // Streaming: lines waiting while `output` is being written.
  std::string pending;
  bool writing = false;
  bool ending = false;  // end_stream() was called
  bool eof = false;     // the client half-closed after its command
};

namespace {

std::string error_json(std::string_view error) {
  JsonWriter json;
  json.begin_object().field("ok", false).field("error", error).end_object();
  return json.take();
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

ControlServer::ControlServer(uv_loop_t* loop, Handler& handler, ControlAccess access)
    : loop_(loop), handler_(handler), access_(access) {}

int ControlServer::start(int listen_fd) {
  int rc = uv_pipe_init(loop_, &server_, 0);
  if (rc < 0) {
    ::close(listen_fd);
    error_log().error("uv_pipe_init(control): {}", uv_strerror(rc));
    return rc;
  }
  started_ = true;
  server_.data = this;
  rc = uv_pipe_open(&server_, listen_fd);
  if (rc < 0) {
    ::close(listen_fd);
    error_log().error("uv_pipe_open(control, fd {}): {}", listen_fd, uv_strerror(rc));
    return rc;
  }
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 64, on_connection);
  if (rc < 0) error_log().error("uv_listen(control, 64): {}", uv_strerror(rc));
  return rc;
}

void ControlServer::on_connection(uv_stream_t* server, int status) noexcept {
  auto* self = static_cast<ControlServer*>(server->data);
  if (status < 0) {
    error_log().warn("control socket accept: {}", uv_strerror(status));
    return;
  }
  self->accept_client();
}

void ControlServer::accept_client() noexcept {
  Client* client = new (std::nothrow) Client;
  if (client == nullptr) return;
  client->server = this;
  client->id = next_request_++;
  uv_pipe_init(loop_, &client->pipe, 0);
  uv_timer_init(loop_, &client->timer);
  client->pipe.data = client;
  client->timer.data = client;
  client->open_handles = 2;
  clients_[client->id] = client;

  int rc = uv_accept(reinterpret_cast<uv_stream_t*>(&server_),
                     reinterpret_cast<uv_stream_t*>(&client->pipe));
  if (rc < 0) {
    error_log().warn("uv_accept(control): {}", uv_strerror(rc));
    close_client(*client);
    return;
  }
  uv_os_fd_t fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(&client->pipe), &fd);
  if (const int error = peer_credentials(fd, client->peer); error < 0) {
    error_log().warn("getsockopt(control fd {}, SO_PEERCRED): {}", fd, errno_text(error));
    close_client(*client);
    return;
  }
  // A peer that is not allowed still gets its line read, so that it sees
  // the refusal as an answer rather than as EPIPE on its send.
  client->allowed = access_.allows(client->peer);
  rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&client->pipe), on_alloc, on_read);
  if (rc < 0) {
    error_log().warn("uv_read_start(control): {}", uv_strerror(rc));
    close_client(*client);
    return;
  }
  uv_timer_start(&client->timer, on_timeout, kControlReadTimeoutMs, 0);
}

// Commands are tiny; one loop-wide buffer serves every client (libuv calls
// on_read before it asks for the next buffer).
void ControlServer::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
  static char buffer[2048];
  *buf = uv_buf_init(buffer, sizeof buffer);
}

void ControlServer::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* client = static_cast<Client*>(stream->data);
  ControlServer* self = client->server;
  if (client->state == Client::State::Streaming) {
    // A stream's client has nothing more to say. Its EOF ends a follow
    // stream (the follower left); a stream that is ending anyway (the
    // history only) is written out first, for clients that half-close
    // after their command.
    if (nread == UV_EOF && client->ending) {
      uv_read_stop(stream);
    } else if (nread < 0) {
      self->close_client(*client, true);
    }
    return;
  }
  if (client->state != Client::State::Reading) return;
  if (nread == UV_EOF) {
    // A client that half-closes after its command gets it served anyway.
    client->eof = true;
    if (!client->input.empty()) {
      self->dispatch(*client, std::move(client->input));
    } else {
      self->close_client(*client);
    }
    return;
  }
  if (nread < 0) {
    self->close_client(*client);
    return;
  }
  try {
    client->input.append(buf->base, static_cast<size_t>(nread));
  } catch (...) {
    self->close_client(*client);
    return;
  }
  const size_t newline = client->input.find('\n');
  if (newline != std::string::npos && newline <= kMaxControlLine) {
    std::string line = client->input.substr(0, newline);
    self->dispatch(*client, std::move(line));
  } else if (client->input.size() > kMaxControlLine) {
    uv_read_stop(stream);
    uv_timer_stop(&client->timer);
    client->state = Client::State::Waiting;
    self->reply(client->id, error_json("request longer than 1024 bytes"));
  }
}

void ControlServer::dispatch(Client& client, std::string line) noexcept {
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&client.pipe));
  uv_timer_stop(&client.timer);
  client.state = Client::State::Waiting;
  if (!client.allowed) {
    error_log().warn("control: permission denied for pid {} uid {} gid {} (\"{}\")",
                     client.peer.pid, client.peer.uid, client.peer.gid,
                     escape_for_log(trim(line), 64));
    reply(client.id, error_json("permission denied"));
    return;
  }
  handler_.on_control_command(client.id, trim(line), client.peer);
}

void ControlServer::on_timeout(uv_timer_t* timer) noexcept {
  auto* client = static_cast<Client*>(timer->data);
  if (client->state == Client::State::Streaming) {
    error_log().debug("control: pid {} did not read the end of its stream within {} ms",
                      client->peer.pid, kControlReadTimeoutMs);
  } else {
    error_log().debug("control: pid {} sent no command within {} ms", client->peer.pid,
                      kControlReadTimeoutMs);
  }
  client->server->close_client(*client);
}

ControlServer::StreamResult ControlServer::stream(uint64_t request, std::string_view line) {
  const auto it = clients_.find(request);
  if (it == clients_.end()) return StreamResult::Gone;
  Client& client = *it->second;
  if (client.ending) return StreamResult::Gone;
  if (client.state == Client::State::Waiting) {
    client.state = Client::State::Streaming;
    // Reading again only watches for the client's EOF; one that already
    // half-closed is detected by a failing write instead.
    const int rc =
        client.eof ? 0
                   : uv_read_start(reinterpret_cast<uv_stream_t*>(&client.pipe), on_alloc, on_read);
    if (rc < 0) {
      error_log().debug("uv_read_start(control stream): {}", uv_strerror(rc));
      close_client(client);
      return StreamResult::Gone;
    }
  }
  if (client.state != Client::State::Streaming) return StreamResult::Gone;
  if (client.output.size() + client.pending.size() + line.size() + 1 > stream_backlog_) {
    error_log().info("control: pid {} read its stream too slowly ({} bytes unread); closing it",
                     client.peer.pid, client.output.size() + client.pending.size());
    // What is queued is dropped for a last line saying why; the stream
    // ends once it is written, or kControlReadTimeoutMs later.
    client.pending = kStreamOverflowLine;
    client.pending += '\n';
    client.ending = true;
    uv_timer_start(&client.timer, on_timeout, kControlReadTimeoutMs, 0);
    write_stream(client, false);
    return StreamResult::Overflow;
  }
  try {
    client.pending.append(line);
    client.pending += '\n';
  } catch (const std::bad_alloc&) {
    close_client(client);
    return StreamResult::Overflow;
  }
  return write_stream(client, false) ? StreamResult::Sent : StreamResult::Gone;
}

void ControlServer::end_stream(uint64_t request) {
  const auto it = clients_.find(request);
  if (it == clients_.end()) return;
  Client& client = *it->second;
  if (client.state != Client::State::Streaming || client.ending) return;
  client.ending = true;
  if (!client.writing) {
    close_client(client);
    return;
  }
  uv_timer_start(&client.timer, on_timeout, kControlReadTimeoutMs, 0);
}

bool ControlServer::write_stream(Client& client, bool notify) noexcept {
  if (client.writing) return true;
  if (client.pending.empty()) {
    if (client.ending) close_client(client);
    return true;
  }
  client.output.swap(client.pending);
  client.pending.clear();
  client.writing = true;
  client.write_request.data = &client;
  uv_buf_t buf = uv_buf_init(client.output.data(), static_cast<unsigned>(client.output.size()));
  const int rc = uv_write(&client.write_request, reinterpret_cast<uv_stream_t*>(&client.pipe), &buf,
                          1, on_stream_written);
  if (rc < 0) {
    client.writing = false;
    error_log().debug("uv_write(control stream): {}", uv_strerror(rc));
    close_client(client, notify);
    return false;
  }
  return true;
}

void ControlServer::on_stream_written(uv_write_t* request, int status) noexcept {
  auto* client = static_cast<Client*>(request->data);
  client->writing = false;
  client->output.clear();
  if (client->state == Client::State::Closing) return;
  if (status < 0) {
    error_log().debug("control stream to pid {}: {}", client->peer.pid, uv_strerror(status));
    client->server->close_client(*client, true);
    return;
  }
  client->server->write_stream(*client, true);
}

void ControlServer::reply(uint64_t request, std::string json) {
  const auto it = clients_.find(request);
  if (it == clients_.end() || it->second->state != Client::State::Waiting) return;
  Client& client = *it->second;
  client.state = Client::State::Writing;
  client.output = std::move(json);
  client.output += '\n';
  client.write_request.data = &client;
  uv_buf_t buf = uv_buf_init(client.output.data(), static_cast<unsigned>(client.output.size()));
  const int rc = uv_write(&client.write_request, reinterpret_cast<uv_stream_t*>(&client.pipe), &buf,
                          1, on_written);
  if (rc < 0) {
    error_log().debug("uv_write(control reply): {}", uv_strerror(rc));
    close_client(client);
  }
}

void ControlServer::on_written(uv_write_t* request, int status) noexcept {
  auto* client = static_cast<Client*>(request->data);
  if (status < 0 && status != UV_ECANCELED) {
    error_log().debug("control reply to pid {}: {}", client->peer.pid, uv_strerror(status));
  }
  client->server->close_client(*client);
}

void ControlServer::close_client(Client& client, bool notify) noexcept {
  if (client.state == Client::State::Closing) return;
  const bool stream_lost = notify && client.state == Client::State::Streaming && !client.ending;
  client.state = Client::State::Closing;
  clients_.erase(client.id);
  if (stream_lost) handler_.on_stream_closed(client.id);
  uv_close(reinterpret_cast<uv_handle_t*>(&client.pipe), on_client_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&client.timer), on_client_closed);
}

void ControlServer::on_client_closed(uv_handle_t* handle) noexcept {
  auto* client = static_cast<Client*>(handle->data);
  if (--client->open_handles == 0) delete client;
}

void ControlServer::close() {
  if (closing_) return;
  closing_ = true;
  if (started_) uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
  std::vector<Client*> reading;
  std::vector<uint64_t> streams;
  for (const auto& [id, client] : clients_) {
    if (client->state == Client::State::Reading) reading.push_back(client);
    if (client->state == Client::State::Streaming) streams.push_back(id);
  }
  for (Client* client : reading) close_client(*client);
  for (uint64_t id : streams) end_stream(id);
}

void ControlServer::fail_pending(std::string_view error) {
  std::vector<uint64_t> waiting;
  for (const auto& [id, client] : clients_) {
    if (client->state == Client::State::Waiting) waiting.push_back(id);
  }
  for (uint64_t id : waiting) reply(id, error_json(error));
}

}  // namespace wsgate::supervisor
