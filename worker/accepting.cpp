// Which listening sockets the worker accepts on. A worker inherits every
// socket of its config but accepts on none until the supervisor's Accept
// message names slots: its own once it is READY (for a reload's workers,
// once the whole generation is), and another slot's while that slot has no
// live worker (supervisor/accept_plan.h).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "common/address_text.h"
#include "common/log.h"
#include "common/unix_socket.h"
#include "worker/worker_loop.h"

namespace wsgate {

void Worker::set_accepting(const std::vector<unsigned>& slots) {
  if (draining_ || stopping_) return;
  const auto named = [&](unsigned slot) {
    return std::find(slots.begin(), slots.end(), slot) != slots.end();
  };
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (named((*it)->slot)) {
      ++it;
      continue;
    }
    close_listener(*it);
    it = listeners_.erase(it);
  }
  for (const ListenFd& listen : listen_fds_) {
    if (!named(listen.slot)) continue;
    const bool open = std::any_of(listeners_.begin(), listeners_.end(),
                                  [&](ListenHandle* h) { return h->inherited_fd == listen.fd; });
    if (!open) open_listener(listen);
  }
  std::string text;
  for (unsigned slot : slots) text += (text.empty() ? "" : " ") + std::to_string(slot);
  error_log().info("accepting on {} sockets (slots: {})", listeners_.size(),
                   text.empty() ? "none" : text);
}

bool Worker::open_listener(const ListenFd& listen) {
  const int fd = fcntl(listen.fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) {
    error_log().error("fcntl({}, F_DUPFD_CLOEXEC) for slot {}'s socket: {}", listen.fd, listen.slot,
                      errno_text(errno));
    return false;
  }
  auto* handle = new ListenHandle;
  uv_tcp_init(&loop_, &handle->tcp);
  handle->tcp.data = handle;
  handle->worker = this;
  handle->tls = tls_ ? tls_->listener(listen.listener) : nullptr;
  handle->inherited_fd = listen.fd;
  handle->slot = listen.slot;
  const int backlog = config_->listen[listen.listener].backlog;
  int rc = uv_tcp_open(&handle->tcp, fd);
  if (rc != 0) {
    close(fd);
  } else {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&handle->tcp), backlog, on_connection);
  }
  if (rc == 0) {
    sockaddr_storage bound{};
    int length = sizeof bound;
    const int name_rc =
        uv_tcp_getsockname(&handle->tcp, reinterpret_cast<sockaddr*>(&bound), &length);
    if (name_rc == 0) {
      handle->address = address_text(reinterpret_cast<const sockaddr&>(bound));
    } else {
      error_log().warn("uv_tcp_getsockname(fd {}): {}", fd, uv_strerror(name_rc));
      handle->address = config_->listen[listen.listener].address;
    }
  }
  if (rc != 0) {
    error_log().error("uv_listen(fd {} of {}, backlog {}): {}", fd,
                      config_->listen[listen.listener].address, backlog, uv_strerror(rc));
    close_listener(handle);
    return false;
  }
  listeners_.push_back(handle);
  return true;
}

void Worker::close_listener(ListenHandle* handle) {
  uv_close(reinterpret_cast<uv_handle_t*>(&handle->tcp),
           [](uv_handle_t* h) noexcept { delete static_cast<ListenHandle*>(h->data); });
}

void Worker::close_listeners() {
  for (ListenHandle* handle : listeners_) close_listener(handle);
  listeners_.clear();
  for (const ListenFd& listen : listen_fds_) {
    if (close(listen.fd) != 0) error_log().warn("close({}): {}", listen.fd, errno_text(errno));
  }
  listen_fds_.clear();
}

// Test-only (WSGATE_FAULTS=worker_fatal_exit): SIGUSR2 makes the worker
// stop and exit with the fatal code, which the supervisor does not
// respawn.
void Worker::start_fault_signal() {
  uv_signal_init(&loop_, &fault_signal_);
  fault_signal_.data = this;
  const int rc = uv_signal_start(&fault_signal_, on_fault_signal, SIGUSR2);
  if (rc != 0) {
    error_log().error("uv_signal_start(SIGUSR2): {}", uv_strerror(rc));
    uv_close(reinterpret_cast<uv_handle_t*>(&fault_signal_), nullptr);
    return;
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(&fault_signal_));
  fault_signal_open_ = true;
}

void Worker::on_fault_signal(uv_signal_t* handle, int) noexcept {
  auto* self = static_cast<Worker*>(handle->data);
  try {
    error_log().warn("fault worker_fatal_exit: SIGUSR2; exiting with code {}", kWorkerExitFatal);
    self->exit_code_ = kWorkerExitFatal;
    self->begin_stop();
  } catch (const std::exception& e) {
    error_log().error("fault signal: {}", e.what());
  }
}

}  // namespace wsgate
