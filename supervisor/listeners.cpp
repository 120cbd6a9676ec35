// The listen sockets (see listeners.h).
#include "supervisor/listeners.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/unix_socket.h"

namespace wsgate::supervisor {
namespace {

// Two listen entries name the same socket when host, family and configured
// port agree; "127.0.0.1:0" stays the same group across reloads.
bool same_address(const config::ListenConfig& a, const config::ListenConfig& b) {
  return a.host == b.host && a.port == b.port && a.ipv6 == b.ipv6;
}

void close_fd(int fd) {
  if (close(fd) != 0) error_log().warn("close({}): {}", fd, errno_text(errno));
}

// Fills `storage` with the socket address of `listen` at `port`; returns its
// length, or 0 when the host is not a numeric address of its family.
socklen_t socket_address(const config::ListenConfig& listen, uint16_t port,
                         sockaddr_storage& storage) {
  storage = {};
  if (listen.ipv6) {
    auto* address = reinterpret_cast<sockaddr_in6*>(&storage);
    address->sin6_family = AF_INET6;
    address->sin6_port = htons(port);
    if (inet_pton(AF_INET6, listen.host.c_str(), &address->sin6_addr) != 1) return 0;
    return sizeof(sockaddr_in6);
  }
  auto* address = reinterpret_cast<sockaddr_in*>(&storage);
  address->sin_family = AF_INET;
  address->sin_port = htons(port);
  if (inet_pton(AF_INET, listen.host.c_str(), &address->sin_addr) != 1) return 0;
  return sizeof(sockaddr_in);
}

}  // namespace

std::string address_text(const config::ListenConfig& listen, uint16_t port) {
  return listen.ipv6 ? "[" + listen.host + "]:" + std::to_string(port)
                     : listen.host + ":" + std::to_string(port);
}

ListenerSet::~ListenerSet() {
  close_all();
}

ListenerGroup* ListenerSet::find(const config::ListenConfig& listen) {
  for (ListenerGroup& group : groups_) {
    if (same_address(group.listen, listen)) return &group;
  }
  return nullptr;
}

std::string ListenerSet::bind_one(ListenerGroup& group) {
  const config::ListenConfig& listen = group.listen;
  // The first socket of a port-0 address takes what the kernel picks; the
  // others join it on that port.
  const uint16_t port = group.fds.empty() ? listen.port : group.port;
  const std::string where = address_text(listen, port);
  const auto failure = [&](const std::string& call, int fd) {
    const std::string text = call + ": " + errno_text(errno);
    error_log().error("{}", text);
    if (fd >= 0) close_fd(fd);
    return text;
  };

  const int family = listen.ipv6 ? AF_INET6 : AF_INET;
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return failure("socket(" + std::string(listen.ipv6 ? "AF_INET6" : "AF_INET") + ")", -1);
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
    return failure("setsockopt(" + where + ", SO_REUSEADDR)", fd);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    return failure("setsockopt(" + where + ", SO_REUSEPORT)", fd);
  }
  if (listen.ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
    return failure("setsockopt(" + where + ", IPV6_V6ONLY)", fd);
  }
  sockaddr_storage storage{};
  const socklen_t length = socket_address(listen, port, storage);
  if (length == 0) {
    close_fd(fd);
    return std::string("inet_pton(") + (listen.ipv6 ? "AF_INET6" : "AF_INET") + ", " + listen.host +
           "): not a numeric " + (listen.ipv6 ? "IPv6" : "IPv4") + " address";
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    return failure("bind(" + where + ")", fd);
  }
  if (group.fds.empty()) {
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
      return failure("getsockname(" + where + ")", fd);
    }
    group.port = listen.ipv6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  group.fds.push_back(fd);
  error_log().debug("bound {} (socket {} of {}, fd {})", address_text(listen, group.port),
                    group.fds.size(), listen.address, fd);
  return "";
}

std::string probe_address_free(const config::ListenConfig& listen) {
  if (listen.port == 0) return "";
  const std::string where = address_text(listen, listen.port);
  sockaddr_storage storage{};
  const socklen_t length = socket_address(listen, listen.port, storage);
  if (length == 0) return "";  // bind_one() reports the bad host
  const int fd = socket(listen.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error_log().warn("socket() to probe {}: {}; not probed", where, errno_text(errno));
    return "";
  }
  // SO_REUSEADDR, as the real sockets have, so connections of a stopped
  // instance in TIME_WAIT do not count; no SO_REUSEPORT, so any socket
  // bound there (SO_REUSEPORT or not) makes bind() fail.
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (listen.ipv6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  std::string error;
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    const int bind_errno = errno;
    if (bind_errno == EADDRINUSE) {
      error = where + " is already in use";
    } else {
      error = "bind(" + where + ") to probe it: " + errno_text(bind_errno);
    }
    error_log().error("{}", error);
  }
  close_fd(fd);
  return error;
}

namespace {

// Sets the backlog of every listening socket of `group` (listen() on a
// listening socket only changes its backlog).
void set_backlog(const ListenerGroup& group, int backlog) {
  for (size_t i = 0; i < group.listening; ++i) {
    const int fd = group.fds[i];
    if (::listen(fd, backlog) != 0) {
      error_log().warn("listen({}, {}): {}", address_text(group.listen, group.port), backlog,
                       errno_text(errno));
    }
  }
}

}  // namespace

std::string ListenerSet::prepare(const config::Config& config) {
  before_.clear();
  for (const ListenerGroup& group : groups_) before_.push_back({group.listen, group.fds.size()});
  for (const config::ListenConfig& listen : config.listen) {
    ListenerGroup* group = find(listen);
    if (group == nullptr) {
      // A new address is probed first (see probe_address_free()), unless
      // one of our own groups already uses its port: ours would fail the
      // probe, and a holder of the same port elsewhere was found when that
      // group was bound.
      const bool port_ours =
          std::any_of(groups_.begin(), groups_.end(),
                      [&](const ListenerGroup& g) { return g.port == listen.port; });
      if (!port_ours) {
        if (std::string error = probe_address_free(listen); !error.empty()) {
          rollback();
          return error;
        }
      }
      groups_.push_back(ListenerGroup{listen, 0, {}});
      group = &groups_.back();
    } else {
      if (group->listen.backlog != listen.backlog) set_backlog(*group, listen.backlog);
      group->listen = listen;
    }
    while (group->fds.size() < config.workers) {
      if (std::string error = bind_one(*group); !error.empty()) {
        rollback();
        return error;
      }
    }
  }
  return "";
}

void ListenerSet::rollback() {
  while (groups_.size() > before_.size()) {
    for (int fd : groups_.back().fds) close_fd(fd);
    groups_.pop_back();
  }
  for (size_t i = 0; i < before_.size() && i < groups_.size(); ++i) {
    ListenerGroup& group = groups_[i];
    while (group.fds.size() > before_[i].sockets) {
      close_fd(group.fds.back());
      group.fds.pop_back();
    }
    group.listening = std::min(group.listening, group.fds.size());
    if (group.listen.backlog != before_[i].listen.backlog) {
      set_backlog(group, before_[i].listen.backlog);
    }
    group.listen = before_[i].listen;
  }
  before_.clear();
}

void ListenerSet::commit(const config::Config& config) {
  before_.clear();
  for (auto it = groups_.begin(); it != groups_.end();) {
    const bool kept =
        std::any_of(config.listen.begin(), config.listen.end(),
                    [&](const config::ListenConfig& l) { return same_address(l, it->listen); });
    if (kept) {
      ++it;
      continue;
    }
    error_log().info("closing listener {} ({} sockets)", address_text(it->listen, it->port),
                     it->fds.size());
    for (int fd : it->fds) close_fd(fd);
    it = groups_.erase(it);
  }
}

std::string ListenerSet::activate() {
  std::string first_error;
  for (ListenerGroup& group : groups_) {
    for (; group.listening < group.fds.size(); ++group.listening) {
      if (::listen(group.fds[group.listening], group.listen.backlog) == 0) continue;
      const std::string error = "listen(" + address_text(group.listen, group.port) + ", " +
                                std::to_string(group.listen.backlog) + "): " + errno_text(errno);
      error_log().error("{}", error);
      if (first_error.empty()) first_error = error;
      break;
    }
  }
  return first_error;
}

namespace {

// The classic BPF program of steer_by_source_address(). At SO_REUSEPORT
// selection the packet's network header is reachable at SKF_NET_OFF: the
// source address is at 12 (IPv4) or 8..23 (IPv6, its four words XORed).
// A multiplicative hash spreads neighbouring addresses; the result is a
// socket index below `workers`, and the group has at least that many.
std::vector<sock_filter> source_address_program(bool ipv6, uint32_t workers) {
  std::vector<sock_filter> program;
  const auto load = [&](uint32_t offset) {
    program.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + offset));
  };
  if (ipv6) {
    load(8);
    for (uint32_t offset : {12u, 16u, 20u}) {
      program.push_back(BPF_STMT(BPF_MISC | BPF_TAX, 0));
      load(offset);
      program.push_back(BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0));
    }
  } else {
    load(12);
  }
  program.push_back(BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 2654435761u));
  program.push_back(BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16));
  program.push_back(BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, workers));
  program.push_back(BPF_STMT(BPF_RET | BPF_A, 0));
  return program;
}

}  // namespace

void ListenerSet::steer_by_source_address(const config::Config& config) {
  const bool steer = config.limits.per_ip_limits();
  for (const ListenerGroup& group : groups_) {
    if (group.listening == 0) continue;
    // One socket of the group sets the program for the whole group.
    const int fd = group.fds[0];
    const std::string where = address_text(group.listen, group.port);
    if (steer) {
      std::vector<sock_filter> program = source_address_program(group.listen.ipv6, config.workers);
      sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
      if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog) != 0) {
        error_log().error(
            "setsockopt({}, SO_ATTACH_REUSEPORT_CBPF): {}; per-IP limits hold per "
            "worker only",
            where, errno_text(errno));
      }
    } else if (steered_) {
      const int unused = 0;
      if (setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &unused, sizeof unused) != 0 &&
          errno != ENOENT) {
        error_log().warn("setsockopt({}, SO_DETACH_REUSEPORT_BPF): {}", where, errno_text(errno));
      }
    }
  }
  if (steer != steered_) {
    error_log().info(steer ? "per-IP limits on: each client address is steered to one worker"
                           : "per-IP limits off: connections spread by the kernel's hash");
  }
  steered_ = steer;
}

void ListenerSet::close_all() {
  for (ListenerGroup& group : groups_) {
    for (int fd : group.fds) close_fd(fd);
  }
  groups_.clear();
  before_.clear();
}

std::vector<ListenFd> ListenerSet::sockets_of(const config::Config& config) const {
  std::vector<ListenFd> fds;
  for (size_t index = 0; index < config.listen.size(); ++index) {
    for (const ListenerGroup& group : groups_) {
      if (!same_address(group.listen, config.listen[index])) continue;
      for (size_t i = 0; i < group.fds.size(); ++i) {
        fds.push_back({group.fds[i], index, static_cast<unsigned>(i % config.workers)});
      }
    }
  }
  return fds;
}

std::vector<int> ListenerSet::all_fds() const {
  std::vector<int> fds;
  for (const ListenerGroup& group : groups_)
    fds.insert(fds.end(), group.fds.begin(), group.fds.end());
  return fds;
}

}  // namespace wsgate::supervisor
