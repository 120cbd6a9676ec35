// One Redis connection of the translator's bus, on the worker's loop:
// hiredis's async API with its libuv adapter. The link resolves its host
// with uv_getaddrinfo (hiredis would resolve synchronously, on the loop),
// connects, authenticates (AUTH user password, the ACL form), and keeps
// doing so with a doubling backoff after every loss until it is stopped.
//
// Contract:
// - command() queues a command while the link is resolving, connecting or
//   up (the link, then hiredis, buffer it behind the AUTH); it answers
//   false during a backoff, when nothing could carry the command.
// - Every queued command gets exactly one on_reply(): with the reply, or
//   with nullptr when the connection is lost before the reply came.
//   Replies come in the order the commands were queued.
// - on_link_up() when AUTH succeeded; on_link_down() once per loss of an up
//   (or connecting) link, after the commands' nullptr replies.
// - A connection is treated as lost when a command waits longer than its
//   allowance (check(), called by the owner about once a second): the
//   bus's BLPOP timeout plus a margin, since no other command blocks.
// - State changes are logged once each (connected, unreachable, AUTH
//   refused, lost), never once per retry.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

struct redisAsyncContext;
struct redisReply;

namespace wsgate {

class RedisLink;

class RedisLinkOwner {
 public:
  virtual void on_link_up(RedisLink& link) noexcept = 0;
  // `was_up`: the link had come up (else it failed while connecting).
  virtual void on_link_down(RedisLink& link, bool was_up) noexcept = 0;
  // `tag` is what command() was given; `reply` is null when lost.
  virtual void on_reply(RedisLink& link, uintptr_t tag, redisReply* reply) noexcept = 0;

 protected:
  ~RedisLinkOwner() = default;
};

class RedisLink {
 public:
  struct Settings {
    std::string host;  // the bus domain
    uint16_t port = 6379;
    std::string username;
    std::string password;           // empty: no AUTH
    std::string role;               // "receiver" or "sender", for logs
    uint64_t allowance_ms = 10000;  // longest wait for one reply
  };

  RedisLink(uv_loop_t* loop, Settings settings, RedisLinkOwner& owner);
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;
  // Frees the connection without calling the owner.
  ~RedisLink();

  void start();
  // Stops for good; the link never reconnects. Graceful: the commands
  // already queued are answered first (check() bounds the wait). Not
  // graceful: they are answered with nullptr at once.
  void stop(bool graceful);
  // Stopped, and nothing of the connection is left to close.
  bool finished() const {
    return state_ == State::Stopped && context_ == nullptr && resolver_ == nullptr;
  }
  bool up() const { return state_ == State::Up; }
  // Resolving, connecting or up: command() would accept.
  bool usable() const {
    return state_ == State::Resolving || state_ == State::Connecting || state_ == State::Up;
  }
  const std::string& host() const { return settings_.host; }
  uint64_t pending() const { return pending_; }

  bool command(int argc, const char** argv, const size_t* lengths, uintptr_t tag);
  // Forces a loss when a reply is overdue. `now` is uv_now().
  void check(uint64_t now);

  std::string describe() const;  // "redis localhost:6379 (sender)"

 private:
  enum class State : uint8_t { Idle, Resolving, Connecting, Up, Backoff, Stopped };

  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* result) noexcept;
  static void on_connect(const redisAsyncContext* context, int status) noexcept;
  static void on_disconnect(const redisAsyncContext* context, int status) noexcept;
  static void on_command_reply(redisAsyncContext* context, void* reply, void* privdata) noexcept;
  static void on_auth_reply(redisAsyncContext* context, void* reply, void* privdata) noexcept;
  static void on_retry(uv_timer_t* timer) noexcept;

  void resolve();
  void connect(const std::string& ip);
  void authenticated();
  // A failure before the link came up, or the loss of an up link: logs the
  // change once, tells the owner if it was usable, and schedules a retry.
  void failed(std::string_view why);
  void schedule_retry();

  // Commands queued while resolving, formatted, sent once connected.
  struct Queued {
    std::string command;
    uintptr_t tag;
  };
  void answer_queued_with_nullptr();

  uv_loop_t* loop_;
  std::deque<Queued> queued_;
  Settings settings_;
  RedisLinkOwner& owner_;
  State state_ = State::Idle;
  redisAsyncContext* context_ = nullptr;
  // The lookup in progress. Each request is freed by its callback; one the
  // link gave up on (check()) is stale there, and only freed.
  uv_getaddrinfo_t* resolver_ = nullptr;
  uv_timer_t* retry_timer_ = nullptr;  // freed by its close callback
  uint64_t backoff_ms_ = 0;
  uint64_t pending_ = 0;         // commands without their reply yet
  uint64_t last_progress_ = 0;   // uv_now() of the last reply, or of the first pending command
  unsigned address_turn_ = 0;    // which resolved address to try next
  bool logged_failure_ = false;  // the current outage has been logged
  std::string last_failure_;
  unsigned ups_ = 0;  // times the link came up

 public:
  // True from the second time the link came up: a reconnect, for stats.
  bool reconnected() const { return ups_ > 1; }
};

}  // namespace wsgate
