// The listen sockets, owned by the supervisor and shared with workers
// through fork. One SO_REUSEPORT socket per worker slot and address; see
// docs/DESIGN-NOTES.md "Accept balancing". A socket is bound by prepare()
// but listens only from activate(): until then it is in no SO_REUSEPORT
// group, so the kernel queues no connection on a socket that a failed
// reload would close again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "worker/worker.h"

namespace wsgate::supervisor {

// All sockets bound for one configured address. They share one port (the
// one the kernel picked, for port 0) and are never re-bound while the
// address stays configured.
struct ListenerGroup {
  config::ListenConfig listen;  // as last configured (address, backlog)
  uint16_t port = 0;            // actual port
  std::vector<int> fds;         // socket i serves worker slot i % workers
  size_t listening = 0;         // fds[0, listening) are listening
};

class ListenerSet {
 public:
  ListenerSet() = default;
  ListenerSet(const ListenerSet&) = delete;
  ListenerSet& operator=(const ListenerSet&) = delete;
  ~ListenerSet();  // closes every socket

  // Binds what `config` needs that is not bound yet: every socket of a new
  // address, and extra sockets of a kept address when config.workers
  // exceeds its count. Kept sockets take the new backlog. Returns "" or the
  // error ("bind(127.0.0.1:80): Permission denied"); on error everything
  // bound by this call is closed again. Only one prepare() may be pending.
  // A new address whose port no group of ours has is probed first, so a
  // second wsgated on it fails ("127.0.0.1:8080 is already in use") instead
  // of joining its SO_REUSEPORT group; kept addresses (reloads, respawns)
  // are not probed.
  std::string prepare(const config::Config& config);

  // Makes the last prepare() final and closes the groups whose address
  // `config` no longer names. Does not listen: see activate().
  void commit(const config::Config& config);

  // listen()s on every bound socket that does not listen yet. Returns "" or
  // the error of the first that failed (the others are still tried).
  std::string activate();

  // Undoes the last prepare(): closes what it bound.
  void rollback();

  // With per-IP limits on in `config`, attaches to each address's
  // SO_REUSEPORT group a classic BPF program that picks socket
  // hash(source address) % config.workers, so every connection of one
  // client address reaches the same slot and the worker's own count is the
  // count over all workers (worker/peer_limits.h); with them off, detaches
  // it (back to the kernel's 4-tuple hash). Call after activate(). A
  // failure is logged: the limits then hold per worker only.
  void steer_by_source_address(const config::Config& config);

  // Closes every socket (graceful stop: refuse new connections at once).
  void close_all();

  // Every socket of `config`'s addresses, each with the slot it belongs to
  // (its index modulo config.workers): what a worker of `config` is given.
  std::vector<ListenFd> sockets_of(const config::Config& config) const;

  // Every socket of every group.
  std::vector<int> all_fds() const;

  const std::vector<ListenerGroup>& groups() const { return groups_; }

 private:
  ListenerGroup* find(const config::ListenConfig& listen);
  // Binds one more socket for `group`; returns "" or the error.
  std::string bind_one(ListenerGroup& group);

  std::vector<ListenerGroup> groups_;
  bool steered_ = false;  // steer_by_source_address() attached programs
  // Undo record of the pending prepare(): prepare() only appends groups, so
  // the groups before it keep their index; each one's settings and socket
  // count before the call are kept here.
  struct GroupBefore {
    config::ListenConfig listen;
    size_t sockets = 0;
  };
  std::vector<GroupBefore> before_;
};

// Whether nothing holds `listen`'s address: a plain bind() without
// SO_REUSEPORT, closed again, which fails with EADDRINUSE when any socket
// (SO_REUSEPORT or not, another wsgated's included) is bound there. Returns
// "" (free, port 0, or the probe itself could not be made) or
// "127.0.0.1:8080 is already in use". Our own sockets fail it too: probe
// only an address this process does not hold yet.
std::string probe_address_free(const config::ListenConfig& listen);

// "127.0.0.1:8080" and "[::1]:8080" for a host and port.
std::string address_text(const config::ListenConfig& listen, uint16_t port);

}  // namespace wsgate::supervisor
