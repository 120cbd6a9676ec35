// One Redis connection of the translator's bus (see redis_link.h).
#include "worker/osrf/redis_link.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/log.h"

namespace wsgate {

namespace {

constexpr uint64_t kFirstBackoffMs = 250;
constexpr uint64_t kMaxBackoffMs = 5000;

RedisLink* link_of(const redisAsyncContext* context) {
  return context == nullptr ? nullptr : static_cast<RedisLink*>(context->data);
}

}  // namespace

RedisLink::RedisLink(uv_loop_t* loop, Settings settings, RedisLinkOwner& owner)
    : loop_(loop), settings_(std::move(settings)), owner_(owner) {}

RedisLink::~RedisLink() {
  // Normally stop() ran and the loop has closed everything. Should a
  // context remain, it is freed without calling anyone back.
  if (context_ != nullptr) {
    context_->data = nullptr;
    redisAsyncFree(context_);
    context_ = nullptr;
  }
}

std::string RedisLink::describe() const {
  return "redis " + settings_.host + ":" + std::to_string(settings_.port) + " (" + settings_.role +
         ")";
}

void RedisLink::start() {
  if (state_ != State::Idle) return;
  resolve();
}

void RedisLink::stop(bool graceful) {
  if (state_ == State::Stopped) return;
  state_ = State::Stopped;
  if (retry_timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(retry_timer_),
             [](uv_handle_t* handle) noexcept { delete reinterpret_cast<uv_timer_t*>(handle); });
    retry_timer_ = nullptr;
  }
  if (resolver_ != nullptr) uv_cancel(reinterpret_cast<uv_req_t*>(resolver_));
  // Pending commands (the DEL of the bus address) are answered first;
  // check() bounds the wait should Redis not answer.
  if (context_ != nullptr) {
    if (graceful) {
      redisAsyncDisconnect(context_);
    } else {
      redisAsyncContext* context = context_;
      context_ = nullptr;
      redisAsyncFree(context);
    }
  }
  answer_queued_with_nullptr();
}

void RedisLink::answer_queued_with_nullptr() {
  std::deque<Queued> queued = std::move(queued_);
  queued_.clear();
  for (const Queued& q : queued) {
    --pending_;
    owner_.on_reply(*this, q.tag, nullptr);
  }
}

void RedisLink::resolve() {
  state_ = State::Resolving;
  last_progress_ = uv_now(loop_);
  auto* req = new uv_getaddrinfo_t;
  req->data = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string port = std::to_string(settings_.port);
  const int rc =
      uv_getaddrinfo(loop_, req, on_resolved, settings_.host.c_str(), port.c_str(), &hints);
  if (rc == 0) {
    resolver_ = req;
  } else {
    delete req;
    failed("uv_getaddrinfo(" + settings_.host + "): " + uv_strerror(rc));
  }
}

void RedisLink::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* result) noexcept {
  auto* self = static_cast<RedisLink*>(req->data);
  const bool stale = req != self->resolver_;
  delete req;
  if (!stale) self->resolver_ = nullptr;
  try {
    if (stale || self->state_ == State::Stopped) {
      uv_freeaddrinfo(result);
      return;
    }
    if (status != 0) {
      uv_freeaddrinfo(result);
      self->failed("cannot resolve " + self->settings_.host + ": " + uv_strerror(status));
      return;
    }
    // IPv4 first, as hiredis itself prefers: its connect then finds the
    // literal without a second lookup.
    std::vector<std::string> addresses;
    for (int pass = 0; pass < 2; ++pass) {
      for (const addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        if (pass == 0 && ai->ai_family == AF_INET) {
          uv_ip4_name(reinterpret_cast<const sockaddr_in*>(ai->ai_addr), text, sizeof text);
        } else if (pass == 1 && ai->ai_family == AF_INET6) {
          uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(ai->ai_addr), text, sizeof text);
        } else {
          continue;
        }
        if (std::find(addresses.begin(), addresses.end(), text) == addresses.end())
          addresses.emplace_back(text);
      }
    }
    uv_freeaddrinfo(result);
    if (addresses.empty()) {
      self->failed("no address for " + self->settings_.host);
      return;
    }
    self->connect(addresses[self->address_turn_ % addresses.size()]);
  } catch (const std::exception& e) {
    self->failed(std::string("resolve: ") + e.what());
  }
}

void RedisLink::connect(const std::string& ip) {
  redisAsyncContext* context = redisAsyncConnect(ip.c_str(), settings_.port);
  if (context == nullptr) {
    failed("redisAsyncConnect(" + ip + "): out of memory");
    return;
  }
  if (context->err != 0) {
    const std::string why = "redisAsyncConnect(" + ip + "): " + context->errstr;
    redisAsyncFree(context);
    failed(why);
    return;
  }
  context->data = this;
  if (redisLibuvAttach(context, loop_) != REDIS_OK) {
    redisAsyncFree(context);
    failed("uv_poll_init for the Redis socket failed");
    return;
  }
  redisAsyncSetConnectCallback(context, on_connect);
  redisAsyncSetDisconnectCallback(context, on_disconnect);
  context_ = context;
  state_ = State::Connecting;
  last_progress_ = uv_now(loop_);
  if (!settings_.password.empty()) {
    // Sent before anything else the owner queues, so every later command
    // runs as the gateway account.
    const char* argv[] = {"AUTH", settings_.username.c_str(), settings_.password.c_str()};
    const size_t lengths[] = {4, settings_.username.size(), settings_.password.size()};
    if (redisAsyncCommandArgv(context, on_auth_reply, nullptr, 3, argv, lengths) == REDIS_OK) {
      ++pending_;
    }
  }
  std::deque<Queued> queued = std::move(queued_);
  queued_.clear();
  for (const Queued& q : queued) {
    if (redisAsyncFormattedCommand(context, on_command_reply, reinterpret_cast<void*>(q.tag),
                                   q.command.data(), q.command.size()) != REDIS_OK) {
      --pending_;
      owner_.on_reply(*this, q.tag, nullptr);
    }
  }
}

void RedisLink::on_connect(const redisAsyncContext* context, int status) noexcept {
  RedisLink* self = link_of(context);
  if (self == nullptr) return;
  try {
    if (status != REDIS_OK) {
      // hiredis frees the context after this returns (answering its
      // commands with nullptr first).
      const std::string why = context->errstr;
      self->context_ = nullptr;
      self->failed(why.empty() ? "connect failed" : why);
      return;
    }
    if (self->settings_.password.empty()) self->authenticated();
  } catch (const std::exception& e) {
    error_log().error("{}: {}", self->describe(), e.what());
  }
}

void RedisLink::on_auth_reply(redisAsyncContext* context, void* reply, void*) noexcept {
  RedisLink* self = link_of(context);
  if (self == nullptr) return;
  --self->pending_;
  self->last_progress_ = uv_now(self->loop_);
  auto* r = static_cast<redisReply*>(reply);
  if (r == nullptr || self->state_ == State::Stopped) return;  // lost: on_disconnect follows
  try {
    if (r->type == REDIS_REPLY_ERROR) {
      self->last_failure_ =
          "AUTH as user '" + self->settings_.username + "' refused: " + std::string(r->str, r->len);
      redisAsyncDisconnect(context);
      return;
    }
    self->authenticated();
  } catch (const std::exception& e) {
    error_log().error("{}: {}", self->describe(), e.what());
  }
}

void RedisLink::authenticated() {
  state_ = State::Up;
  backoff_ms_ = 0;
  ++ups_;
  last_failure_.clear();
  if (logged_failure_ || ups_ > 1) {
    error_log().info("{}: connected again", describe());
  } else {
    error_log().info("{}: connected", describe());
  }
  logged_failure_ = false;
  owner_.on_link_up(*this);
}

void RedisLink::on_disconnect(const redisAsyncContext* context, int status) noexcept {
  RedisLink* self = link_of(context);
  if (self == nullptr) return;
  self->context_ = nullptr;
  if (self->state_ == State::Stopped) return;
  try {
    std::string why = self->last_failure_;
    if (why.empty())
      why =
          status == REDIS_OK || context->errstr[0] == '\0' ? "connection closed" : context->errstr;
    self->failed(why);
  } catch (const std::exception& e) {
    error_log().error("{}: {}", self->describe(), e.what());
  }
}

bool RedisLink::command(int argc, const char** argv, const size_t* lengths, uintptr_t tag) {
  if (!usable()) return false;
  if (context_ == nullptr) {
    // Resolving: kept formatted until connect().
    char* formatted = nullptr;
    const long long length = redisFormatCommandArgv(&formatted, argc, argv, lengths);
    if (length < 0) return false;
    queued_.push_back(Queued{std::string(formatted, static_cast<size_t>(length)), tag});
    redisFreeCommand(formatted);
    if (pending_++ == 0) last_progress_ = uv_now(loop_);
    return true;
  }
  if (redisAsyncCommandArgv(context_, on_command_reply, reinterpret_cast<void*>(tag), argc, argv,
                            lengths) != REDIS_OK) {
    return false;  // disconnecting or freeing: the loss is on its way
  }
  if (pending_++ == 0) last_progress_ = uv_now(loop_);
  return true;
}

void RedisLink::on_command_reply(redisAsyncContext* context, void* reply, void* privdata) noexcept {
  RedisLink* self = link_of(context);
  if (self == nullptr) return;
  --self->pending_;
  self->last_progress_ = uv_now(self->loop_);
  self->owner_.on_reply(*self, reinterpret_cast<uintptr_t>(privdata),
                        static_cast<redisReply*>(reply));
}

void RedisLink::check(uint64_t now) {
  if (context_ == nullptr) {
    if (state_ == State::Resolving && now - last_progress_ > settings_.allowance_ms) {
      // A lookup that hangs: its late answer is ignored as stale.
      resolver_ = nullptr;
      failed("no answer from the resolver within " + std::to_string(settings_.allowance_ms) +
             " ms");
    }
    return;
  }
  const bool waiting = state_ == State::Connecting || pending_ > 0 || state_ == State::Stopped;
  if (!waiting || now - last_progress_ <= settings_.allowance_ms) return;
  if (state_ != State::Stopped) {
    last_failure_ = state_ == State::Connecting
                        ? "no connection within " + std::to_string(settings_.allowance_ms) + " ms"
                        : "no reply within " + std::to_string(settings_.allowance_ms) + " ms";
  }
  redisAsyncContext* context = context_;
  redisAsyncFree(context);  // answers the commands with nullptr; on_disconnect if it was connected
  if (context_ != nullptr) {
    // Not connected yet, so hiredis called no disconnect callback.
    context_ = nullptr;
    if (state_ != State::Stopped) failed(last_failure_);
  }
}

void RedisLink::failed(std::string_view why) {
  const bool was_usable = usable();
  const bool was_up = state_ == State::Up;
  if (!logged_failure_) {
    // One line per state change: the first failure of an outage.
    if (state_ == State::Up) {
      error_log().error("{}: connection lost: {}; reconnecting", describe(), why);
    } else {
      error_log().error("{}: unreachable: {}; retrying with backoff", describe(), why);
    }
    logged_failure_ = true;
  }
  last_failure_.clear();
  ++address_turn_;
  state_ = State::Backoff;
  schedule_retry();
  answer_queued_with_nullptr();
  if (was_usable) owner_.on_link_down(*this, was_up);
}

void RedisLink::schedule_retry() {
  backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs : std::min(backoff_ms_ * 2, kMaxBackoffMs);
  if (retry_timer_ == nullptr) {
    retry_timer_ = new uv_timer_t;
    uv_timer_init(loop_, retry_timer_);
    retry_timer_->data = this;
  }
  uv_timer_start(retry_timer_, on_retry, backoff_ms_, 0);
}

void RedisLink::on_retry(uv_timer_t* timer) noexcept {
  auto* self = static_cast<RedisLink*>(timer->data);
  if (self->state_ != State::Backoff) return;
  try {
    self->resolve();
  } catch (const std::exception& e) {
    error_log().error("{}: {}", self->describe(), e.what());
  }
}

}  // namespace wsgate
