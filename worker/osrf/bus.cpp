// The translator's OpenSRF bus in one worker (see bus.h).
#include "worker/osrf/bus.h"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

#include "common/log.h"
#include "config/config.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

// The receiver's BLPOP timeout (seconds), as the C gateway's; a reply
// later than this plus the margin means the connection is dead.
constexpr uint64_t kBlpopSeconds = 5;
constexpr uint64_t kReceiverAllowanceMs = kBlpopSeconds * 1000 + 5000;
constexpr uint64_t kSenderAllowanceMs = 5000;
constexpr uint64_t kCheckIntervalMs = 500;
// How long shutdown waits for the DEL before the links are cut.
constexpr uint64_t kShutdownWaitMs = 2000;
constexpr uint64_t kShutdownCheckMs = 10;
constexpr uint64_t kReceiveRetryMs = 1000;
// Messages taken per LPOP after a BLPOP returned one.
constexpr const char* kLpopBatch = "64";
constexpr size_t kLpopBatchSize = 64;
// Messages closer together than this make the receiver try LPOP.
constexpr uint64_t kBurstNs = 1000000;

std::string random_hex(size_t bytes) {
  unsigned char raw[16] = {};
  if (bytes > sizeof raw) bytes = sizeof raw;
  if (RAND_bytes(raw, static_cast<int>(bytes)) != 1) {
    // The address must only be unlikely to collide; the time and the pid
    // beside it make it unique on its own per host.
    const uint64_t t = uv_hrtime();
    for (size_t i = 0; i < bytes; ++i) raw[i] = static_cast<unsigned char>(t >> (8 * (i % 8)));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    out += kHex[raw[i] >> 4];
    out += kHex[raw[i] & 15];
  }
  return out;
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0) {
    error_log().warn("gethostname: {}; the bus address says 'localhost'", std::strerror(errno));
    return "localhost";
  }
  std::string out(name);
  // ':' separates the address's parts.
  for (char& c : out) {
    if (c == ':') c = '-';
  }
  return out.empty() ? "localhost" : out;
}

}  // namespace

TranslatorBus::TranslatorBus(Worker& worker, const config::TranslatorConfig& config)
    : worker_(worker), config_(config) {
  address_ = "opensrf:client:" + config_.username + ":" + config_.domain + ":" + host_name() + ":" +
             std::to_string(getpid()) + ":" + random_hex(4);
}

TranslatorBus::~TranslatorBus() = default;

std::unique_ptr<RedisLink> TranslatorBus::make_link(const std::string& domain, std::string role,
                                                    uint64_t allowance_ms) {
  RedisLink::Settings settings;
  settings.host = domain;
  settings.port = config_.port;
  settings.username = config_.username;
  settings.password = config_.password;
  settings.role = std::move(role);
  settings.allowance_ms = allowance_ms;
  RedisLinkOwner& owner = *this;
  return std::make_unique<RedisLink>(worker_.loop(), std::move(settings), owner);
}

void TranslatorBus::start() {
  check_timer_ = new uv_timer_t;
  uv_timer_init(worker_.loop(), check_timer_);
  check_timer_->data = this;
  uv_timer_start(check_timer_, on_check, kCheckIntervalMs, kCheckIntervalMs);
  receiver_ = make_link(config_.domain, "receiver", kReceiverAllowanceMs);
  receiver_->start();
  sender(config_.domain);
  error_log().info("translator bus {}: address {}", config_.domain, address_);
}

bool TranslatorBus::ready() const {
  if (shutting_down_ || !receiver_ || !receiver_->up()) return false;
  const auto primary = senders_.find(config_.domain);
  return primary != senders_.end() && primary->second.link->up();
}

TranslatorBus::Sender& TranslatorBus::sender(std::string_view domain) {
  auto it = senders_.find(domain);
  if (it == senders_.end()) {
    Sender fresh;
    fresh.link = make_link(std::string(domain), "sender", kSenderAllowanceMs);
    it = senders_.emplace(std::string(domain), std::move(fresh)).first;
    it->second.link->start();
  }
  return it->second;
}

TranslatorBus::Sender* TranslatorBus::sender_of(RedisLink& link) {
  for (auto& [domain, s] : senders_) {
    if (s.link.get() == &link) return &s;
  }
  return nullptr;
}

uint64_t TranslatorBus::attach(BusClient& client) {
  const uint64_t id = next_id_++;
  clients_.emplace(id, &client);
  return id;
}

void TranslatorBus::detach(uint64_t id) {
  clients_.erase(id);
}

std::string TranslatorBus::bus_thread(std::string_view thread, uint64_t id) {
  std::string out;
  out.reserve(thread.size() + 21);
  out.append(thread);
  out += '/';
  out += std::to_string(id);
  return out;
}

bool TranslatorBus::send(std::string_view domain, std::string_view key, std::string_view envelope,
                         uint64_t id, std::string_view thread, std::string_view xid) {
  if (!ready()) return false;
  if (senders_.find(domain) == senders_.end() && senders_.size() >= kMaxDomains) {
    // Drone addresses come from the bus; a bus naming ever new domains
    // must not make the worker open ever more connections.
    error_log().warn("translator bus {}: not opening a connection to domain {}: {} domains in use",
                     config_.domain, escape_for_log(domain, 128), senders_.size());
    return false;
  }
  Sender& s = sender(domain);
  if (!s.link->usable() || s.pending_bytes + envelope.size() > kMaxPendingBytes) return false;
  const char* argv[] = {"RPUSH", key.data(), envelope.data()};
  const size_t lengths[] = {5, key.size(), envelope.size()};
  if (!s.link->command(3, argv, lengths, kRpush)) return false;
  s.pending.push_back(PendingSend{id, std::string(thread), std::string(xid), envelope.size()});
  s.pending_bytes += envelope.size();
  return true;
}

// ---- links ------------------------------------------------------------------

void TranslatorBus::on_link_up(RedisLink& link) noexcept {
  WorkerStats& stats = worker_.stats();
  ++stats.translator_bus_connections;
  if (link.reconnected()) ++stats.translator_bus_reconnects;
  if (&link == receiver_.get()) {
    receiving_ = false;
    receive();
  }
}

void TranslatorBus::on_link_down(RedisLink& link, bool was_up) noexcept {
  WorkerStats& stats = worker_.stats();
  ++stats.translator_bus_errors;
  if (was_up && stats.translator_bus_connections > 0) --stats.translator_bus_connections;
  if (&link != receiver_.get() || shutting_down_) return;
  receiving_ = false;
  // Whatever is in flight was to be answered on this connection.
  for (auto it = clients_.begin(); it != clients_.end();) {
    BusClient* client = it->second;
    ++it;  // on_bus_lost() may close the client, which detaches it
    client->on_bus_lost();
  }
}

void TranslatorBus::on_reply(RedisLink& link, uintptr_t tag, redisReply* reply) noexcept {
  try {
    switch (tag) {
      case kRpush:
        if (Sender* s = sender_of(link)) on_send_reply(*s, reply);
        break;
      case kBlpop:
      case kLpop:
        on_received(tag, reply);
        break;
      case kDel:
        if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
          error_log().warn("{}: DEL {}: {}", link.describe(), address_,
                           std::string(reply->str, reply->len));
        }
        break;
      default:
        break;
    }
  } catch (const std::exception& e) {
    error_log().error("{}: {}", link.describe(), e.what());
  }
}

void TranslatorBus::on_send_reply(Sender& s, redisReply* reply) {
  if (s.pending.empty()) return;
  PendingSend sent = std::move(s.pending.front());
  s.pending.pop_front();
  s.pending_bytes -= sent.bytes;
  const bool refused = reply != nullptr && reply->type == REDIS_REPLY_ERROR;
  if (reply != nullptr && !refused) return;
  if (refused) {
    error_log().error("{}: RPUSH refused: {}", s.link->describe(),
                      std::string(reply->str, reply->len));
  }
  const auto client = clients_.find(sent.id);
  if (client != clients_.end()) client->second->on_bus_send_failed(sent.thread, sent.xid);
}

// ---- receiving ----------------------------------------------------------------

void TranslatorBus::receive() {
  if (receiving_ || shutting_down_ || !receiver_->up()) return;
  const std::string seconds = std::to_string(kBlpopSeconds);
  const char* argv[] = {"BLPOP", address_.c_str(), seconds.c_str()};
  const size_t lengths[] = {5, address_.size(), seconds.size()};
  receiving_ = receiver_->command(3, argv, lengths, kBlpop);
}

void TranslatorBus::on_received(uintptr_t tag, redisReply* reply) {
  receiving_ = false;
  if (reply == nullptr || shutting_down_) return;  // lost: on_link_down follows
  if (reply->type == REDIS_REPLY_ERROR) {
    const std::string error(reply->str, reply->len);
    if (tag == kLpop && lpop_count_) {
      // Redis before 6.2 has no LPOP count: BLPOP alone from now on.
      lpop_count_ = false;
      receive();
      return;
    }
    error_log().error("{}: {} {} refused: {}; retrying in {} ms", receiver_->describe(),
                      tag == kBlpop ? "BLPOP" : "LPOP", address_, error, kReceiveRetryMs);
    receive_retry_at_ = worker_.now() + kReceiveRetryMs;
    return;
  }
  size_t taken = 0;
  if (reply->type == REDIS_REPLY_ARRAY) {
    if (tag == kBlpop) {
      // [key, value]
      if (reply->elements == 2 && reply->element[1]->type == REDIS_REPLY_STRING) {
        deliver({reply->element[1]->str, reply->element[1]->len});
        taken = 1;
      }
    } else {
      for (size_t i = 0; i < reply->elements; ++i) {
        if (reply->element[i]->type == REDIS_REPLY_STRING)
          deliver({reply->element[i]->str, reply->element[i]->len});
      }
      taken = reply->elements;
    }
  } else if (reply->type == REDIS_REPLY_STRING && tag == kLpop) {
    deliver({reply->str, reply->len});  // an LPOP without count answers one string
    taken = 1;
  }
  if (shutting_down_ || !receiver_->up()) return;
  // More may be waiting: take it in batches without blocking, and go back
  // to BLPOP once the list is empty. An LPOP that finds nothing costs a
  // round trip, so after a BLPOP it is only tried in a burst: when the
  // previous message came less than kBurstNs before, or the last LPOP
  // found some.
  bool more = false;
  if (tag == kBlpop && taken == 1) {
    const uint64_t now = uv_hrtime();
    more = lpop_found_ || now - last_blpop_ns_ < kBurstNs;
    last_blpop_ns_ = now;
  } else if (tag == kLpop) {
    lpop_found_ = taken > 0;
    more = taken == kLpopBatchSize;
  }
  if (more && lpop_count_) {
    const char* argv[] = {"LPOP", address_.c_str(), kLpopBatch};
    const size_t lengths[] = {4, address_.size(), 2};
    receiving_ = receiver_->command(3, argv, lengths, kLpop);
    return;
  }
  receive();
}

void TranslatorBus::deliver(std::string_view text) {
  WorkerStats& stats = worker_.stats();
  std::string error;
  std::optional<osrf::BusMessage> message = osrf::parse_bus_message(text, error);
  if (!message) {
    ++stats.translator_replies_orphaned;
    error_log().warn(
        "translator bus {}: dropped a message on {} that is not a transport message: {}",
        config_.domain, address_, error);
    return;
  }
  const size_t slash = message->thread.rfind('/');
  uint64_t id = 0;
  const char* first = message->thread.data() + (slash == std::string::npos ? 0 : slash + 1);
  const char* last = message->thread.data() + message->thread.size();
  const auto parsed = std::from_chars(first, last, id);
  const auto client = slash == std::string::npos || parsed.ec != std::errc() || parsed.ptr != last
                          ? clients_.end()
                          : clients_.find(id);
  if (client == clients_.end()) {
    ++stats.translator_replies_orphaned;
    return;
  }
  message->thread.resize(slash);
  client->second->on_bus_message(*message);
}

// ---- timer and shutdown ---------------------------------------------------------

void TranslatorBus::on_check(uv_timer_t* timer) noexcept {
  auto* self = static_cast<TranslatorBus*>(timer->data);
  try {
    self->check();
  } catch (const std::exception& e) {
    error_log().error("translator bus {}: {}", self->config_.domain, e.what());
  }
}

void TranslatorBus::check() {
  const uint64_t now = worker_.now();
  if (receiver_) receiver_->check(now);
  for (auto& [domain, s] : senders_) s.link->check(now);
  if (receive_retry_at_ != 0 && now >= receive_retry_at_) {
    receive_retry_at_ = 0;
    receive();
  }
  if (!shutting_down_) return;
  if (now - shutdown_started_ >= kShutdownWaitMs) {
    // Redis did not answer the DEL in time: cut what is left.
    for (auto& [domain, s] : senders_) s.link->stop(false);
  }
  if (finished() && check_timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(check_timer_),
             [](uv_handle_t* handle) noexcept { delete reinterpret_cast<uv_timer_t*>(handle); });
    check_timer_ = nullptr;
  }
}

void TranslatorBus::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_started_ = worker_.now();
  // The receiver's BLPOP would hold a graceful close for seconds, and no
  // reply matters any more.
  if (receiver_) receiver_->stop(false);
  auto primary = senders_.find(config_.domain);
  if (primary != senders_.end() && primary->second.link->usable()) {
    const char* argv[] = {"DEL", address_.c_str()};
    const size_t lengths[] = {3, address_.size()};
    primary->second.link->command(2, argv, lengths, kDel);
  }
  for (auto& [domain, s] : senders_) s.link->stop(true);
  // Checked often now, so that the worker exits as soon as the links close.
  if (check_timer_ != nullptr)
    uv_timer_start(check_timer_, on_check, kShutdownCheckMs, kShutdownCheckMs);
  check();
}

bool TranslatorBus::finished() const {
  if (receiver_ && !receiver_->finished()) return false;
  for (const auto& [domain, s] : senders_) {
    if (!s.link->finished()) return false;
  }
  return true;
}

}  // namespace wsgate
