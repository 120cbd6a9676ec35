// The translator's OpenSRF bus in one worker: one bus address for all the
// worker's translator connections of a bus (domain, port, account,
// router), demultiplexed by the gateway. That bounds the Redis
// connections a worker holds to two per bus domain whatever its WebSocket
// count, and lets every reply for a connection that is gone be dropped and
// counted instead of piling up in Redis.
//
// - The address is opensrf:client:<user>:<domain>:<host>:<pid>:<random>,
//   unique per node and worker, so several wsgated nodes share one bus.
// - On the primary domain a receiver link BLPOPs the address (then LPOPs
//   in batches while there is more), and a sender link RPUSHes. Other
//   domains (the drones' private domain) get a sender link, opened when a
//   connection first sends there; replies always come to the address.
// - Thread ids on the bus are the client's thread, '/', and the
//   connection's bus id; a reply is routed by the part after its last '/',
//   so a client that sends another client's thread (or one with a '/')
//   still only reaches its own connection.
// - A lost receiver means no reply to anything in flight can come: every
//   client is told (on_bus_lost). A send whose RPUSH is lost or refused is
//   reported to its client (on_bus_send_failed).
// - shutdown() DELs the address and closes the links, once the worker has
//   no connection left.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "osrf/codec.h"
#include "worker/osrf/redis_link.h"

namespace wsgate {

class Worker;
namespace config {
struct TranslatorConfig;
}

// What the bus calls on a translator connection. Each runs on the loop,
// from a Redis callback; a close the client asks for is deferred by the
// Connection as usual.
class BusClient {
 public:
  // A bus message for this client, its thread already the client's own.
  virtual void on_bus_message(osrf::BusMessage& message) noexcept = 0;
  // The message sent on `thread` under `xid` did not reach Redis.
  virtual void on_bus_send_failed(const std::string& thread, const std::string& xid) noexcept = 0;
  // The receiver link was lost: nothing in flight will be answered.
  virtual void on_bus_lost() noexcept = 0;

 protected:
  ~BusClient() = default;
};

class TranslatorBus final : private RedisLinkOwner {
 public:
  // `config` lives in the worker's Config.
  TranslatorBus(Worker& worker, const config::TranslatorConfig& config);
  TranslatorBus(const TranslatorBus&) = delete;
  TranslatorBus& operator=(const TranslatorBus&) = delete;
  ~TranslatorBus();

  void start();
  void shutdown();
  bool finished() const;  // after shutdown(): every link closed

  const config::TranslatorConfig& config() const { return config_; }
  const std::string& address() const { return address_; }
  // The receiver and the primary sender are up: a message can be sent and
  // its reply received.
  bool ready() const;

  uint64_t attach(BusClient& client);
  void detach(uint64_t id);

  // RPUSHes `envelope` to `key` on a link to `domain`. False when nothing
  // can carry it now (bus not ready, the domain's link in backoff, or too
  // much waiting for Redis already).
  bool send(std::string_view domain, std::string_view key, std::string_view envelope, uint64_t id,
            std::string_view thread, std::string_view xid);

  // The bus thread of a client's `thread` on connection `id`.
  static std::string bus_thread(std::string_view thread, uint64_t id);

  // Domains a bus sends to at most (the primary and the drones' ones).
  static constexpr size_t kMaxDomains = 16;
  // Output bytes waiting for Redis beyond which send() refuses, per link.
  static constexpr uint64_t kMaxPendingBytes = 64ull << 20;

 private:
  struct PendingSend {
    uint64_t id;
    std::string thread;
    std::string xid;
    size_t bytes;
  };
  struct Sender {
    std::unique_ptr<RedisLink> link;
    std::deque<PendingSend> pending;  // RPUSHes in order, until their replies
    uint64_t pending_bytes = 0;
  };
  enum Tag : uintptr_t { kRpush = 1, kDel, kBlpop, kLpop };

  void on_link_up(RedisLink& link) noexcept override;
  void on_link_down(RedisLink& link, bool was_up) noexcept override;
  void on_reply(RedisLink& link, uintptr_t tag, redisReply* reply) noexcept override;
  static void on_check(uv_timer_t* timer) noexcept;

  std::unique_ptr<RedisLink> make_link(const std::string& domain, std::string role,
                                       uint64_t allowance_ms);
  Sender& sender(std::string_view domain);
  Sender* sender_of(RedisLink& link);
  void receive();  // issues the next BLPOP or LPOP
  void on_received(uintptr_t tag, redisReply* reply);
  void deliver(std::string_view text);
  void on_send_reply(Sender& sender, redisReply* reply);
  void check();

  Worker& worker_;
  const config::TranslatorConfig& config_;
  std::string address_;
  std::unique_ptr<RedisLink> receiver_;
  std::map<std::string, Sender, std::less<>> senders_;  // by domain; the primary first made
  std::unordered_map<uint64_t, BusClient*> clients_;
  uint64_t next_id_ = 1;
  uv_timer_t* check_timer_ = nullptr;  // freed by its close callback
  bool receiving_ = false;             // a BLPOP or LPOP is outstanding
  bool lpop_count_ = true;             // Redis >= 6.2: LPOP key count
  bool lpop_found_ = false;            // the last LPOP took messages
  uint64_t last_blpop_ns_ = 0;         // uv_hrtime() of the last BLPOP that took one
  uint64_t receive_retry_at_ = 0;      // after a refused BLPOP, when to try again
  bool shutting_down_ = false;
  uint64_t shutdown_started_ = 0;
};

}  // namespace wsgate
