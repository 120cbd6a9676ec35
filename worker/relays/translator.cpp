// The translator relay (see translator.h).
#include "worker/relays/translator.h"

#include <unistd.h>

#include <array>
#include <chrono>

#include "common/log.h"
#include "config/config.h"
#include "config/translator_settings.h"
#include "osrf/codec.h"
#include "worker/connection.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

// The counters of each osrf::Drop, in the enum's order.
struct DropCounter {
  uint64_t WorkerStats::*worker;
  uint64_t RouteStats::*route;
};
#define WSGATE_DROP(name)                 \
  DropCounter {                           \
    &WorkerStats::name, &RouteStats::name \
  }
constexpr std::array<DropCounter, osrf::kDropReasons> kDropCounters = {
    WSGATE_DROP(translator_dropped_invalid_json),      WSGATE_DROP(translator_dropped_bad_thread),
    WSGATE_DROP(translator_dropped_bad_log_xid),       WSGATE_DROP(translator_dropped_bad_service),
    WSGATE_DROP(translator_dropped_bad_osrf_msg),      WSGATE_DROP(translator_dropped_no_recipient),
    WSGATE_DROP(translator_dropped_too_many_requests),
};
#undef WSGATE_DROP
static_assert(static_cast<size_t>(osrf::Drop::TooManyRequests) + 1 == osrf::kDropReasons,
              "every osrf::Drop needs its counters in kDropCounters");

// Longer activity lines are cut (a request may carry megabytes of params).
constexpr size_t kMaxActivityLine = 16 * 1024;

// Whether the numeric address `text` is in `ranges`.
bool trusted_address(const std::vector<config::AddressRange>& ranges, const std::string& text) {
  sockaddr_storage address{};
  if (uv_ip4_addr(text.c_str(), 0, reinterpret_cast<sockaddr_in*>(&address)) != 0 &&
      uv_ip6_addr(text.c_str(), 0, reinterpret_cast<sockaddr_in6*>(&address)) != 0) {
    return false;
  }
  return config::address_in_ranges(ranges, reinterpret_cast<const sockaddr*>(&address));
}

bool opens_request(const std::vector<osrf::OsrfMessage>& messages) {
  for (const osrf::OsrfMessage& m : messages) {
    if (m.type == osrf::MessageType::Request || m.type == osrf::MessageType::Connect) return true;
  }
  return false;
}

// Gauges move by the difference between what this connection counted and
// what it holds now.
void move_gauge(uint64_t& gauge, uint64_t from, uint64_t to) {
  gauge = gauge + to - from;
}

}  // namespace

// The address the activity log names: the peer, or, when the peer is a
// trusted proxy, the nearest untrusted address of X-Forwarded-For (read
// from the right, as each proxy appends the address it saw).
std::string TranslatorRelay::client_ip(std::string peer, const config::TranslatorConfig& translator,
                                       const http::Request& request) {
  if (translator.trusted_proxies.empty() || !trusted_address(translator.trusted_proxies, peer))
    return peer;
  std::string forwarded;
  for (const auto& [name, value] : request.headers) {
    if (name != "x-forwarded-for") continue;
    if (!forwarded.empty()) forwarded += ',';
    forwarded += value;
  }
  std::string_view rest = forwarded;
  std::string chosen;
  while (!rest.empty()) {
    const size_t comma = rest.rfind(',');
    std::string_view entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    // OWS around each element (RFC 9110 §5.6.1).
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (entry.empty()) continue;
    chosen = escape_for_log(entry, 64);
    if (!trusted_address(translator.trusted_proxies, chosen)) break;
  }
  return chosen.empty() ? peer : chosen;
}

TranslatorRelay::TranslatorRelay(Connection& client, TranslatorBus& bus,
                                 const config::TranslatorConfig& settings, std::string client_ip)
    : Relay(client),
      bus_(bus),
      settings_(settings),
      client_ip_(std::move(client_ip)),
      book_(settings.max_sessions) {}

void TranslatorRelay::start() {
  id_ = bus_.attach(*this);
}

void TranslatorRelay::stop() {
  if (id_ != 0) bus_.detach(id_);
  id_ = 0;
  // The whole cache and every request go with the connection.
  book_ = osrf::SessionBook(settings_.max_sessions);
  sent_at_.clear();
  update_gauges();
}

void TranslatorRelay::on_client_backpressure() {
  client_.pause_client_reads(Stream::kPauseOwnQueue);
}

void TranslatorRelay::on_client_writable() {
  client_.resume_client_reads(Stream::kPauseOwnQueue);
}

std::string TranslatorRelay::next_xid() {
  // Digits, as upstream's "<time><pid><counter>".
  static uint64_t counter = 0;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return std::to_string(ms) + std::to_string(getpid()) + std::to_string(++counter);
}

void TranslatorRelay::on_client_message(ws::Opcode, std::span<const uint8_t> payload) {
  // Binary messages are read as text too: the JSON parser refuses what is
  // not JSON, as it refuses bad text.
  handle_client_message({reinterpret_cast<const char*>(payload.data()), payload.size()});
}

void TranslatorRelay::handle_client_message(std::string_view text) {
  osrf::ClientParse parsed = osrf::parse_client_message(text);
  if (!parsed.message) {
    drop(parsed.drop, parsed.detail);
    return;
  }
  const osrf::ClientMessage& message = *parsed.message;
  const config::TranslatorConfig& cfg = bus_.config();
  std::string to;
  std::string key;
  std::string_view domain = cfg.domain;
  if (const std::string* drone = book_.drone(message.thread)) {
    // A cached stateful session goes straight to its drone, on a link to
    // the drone's domain (the service named, if any, is ignored).
    to = key = *drone;
    const std::string_view drone_domain = osrf::address_domain(*drone);
    if (!drone_domain.empty()) domain = drone_domain;
  } else if (!message.service.empty()) {
    to = "opensrf:service:_:_:" + message.service;
    key = "opensrf:router:" + cfg.router_name + ":" + cfg.domain;
  } else {
    drop(osrf::Drop::NoRecipient, "no service and no cached session for its thread");
    return;
  }
  if (!book_.can_open(message.messages)) {
    drop(osrf::Drop::TooManyRequests, "too many requests in flight on the connection");
    return;
  }
  const std::string xid = message.log_xid ? *message.log_xid : next_xid();
  for (const osrf::OsrfMessage& m : message.messages) {
    if (m.type == osrf::MessageType::Request) log_activity(message.service, m);
  }
  const std::string envelope = osrf::bus_envelope(
      to, bus_.address(), TranslatorBus::bus_thread(message.thread, id_), xid, message.body);
  if (!bus_.send(domain, key, envelope, id_, message.thread, xid)) {
    // Nothing can carry it now: the client hears so at once.
    send_transport_error(message.thread, xid);
    return;
  }
  ++messages_to_bus_;
  count(&WorkerStats::translator_bus_messages_out, &RouteStats::translator_bus_messages_out);
  book_.sent(message.thread, message.messages, xid);
  if (opens_request(message.messages) && sent_at_.size() < osrf::SessionBook::kMaxRequestsInFlight)
    sent_at_.emplace(xid, uv_hrtime());
  update_gauges();
}

void TranslatorRelay::log_activity(std::string_view service, const osrf::OsrfMessage& request) {
  // The params are compact ASCII JSON and the service is checked; the
  // method and a forwarded address are escaped (SEC-LOG-01).
  std::string line;
  const std::string method = escape_for_log(request.method);
  if (method == request.method) {
    line = osrf::activity_line(client_ip_, service, request, settings_.log_protect);
  } else {
    osrf::OsrfMessage escaped{request.type, request.thread_trace, method, request.params};
    line = osrf::activity_line(client_ip_, service, escaped, settings_.log_protect);
  }
  if (line.size() > kMaxActivityLine) {
    line.resize(kMaxActivityLine);
    line += "...";
  }
  error_log().info("{}", line);
}

void TranslatorRelay::drop(osrf::Drop reason, std::string_view detail) {
  ++drops_;
  const DropCounter& counter = kDropCounters[static_cast<size_t>(reason)];
  count(counter.worker, counter.route);
  error_log().warn("route {}: {}: dropped a message ({}): {}", client_.route().path,
                   client_.peer_text(), osrf::drop_name(reason), escape_for_log(detail));
}

void TranslatorRelay::send_transport_error(const std::string& thread, const std::string& xid) {
  ++transport_errors_;
  count(&WorkerStats::translator_transport_errors, &RouteStats::translator_transport_errors);
  const std::string reply = osrf::transport_error_reply(thread, xid);
  client_.send_message(ws::Opcode::Text,
                       {reinterpret_cast<const uint8_t*>(reply.data()), reply.size()});
}

void TranslatorRelay::on_bus_message(osrf::BusMessage& message) noexcept {
  try {
    bus_message(message);
  } catch (const std::exception& e) {
    error_log().error("route {}: {}: bus message: {}", client_.route().path, client_.peer_text(),
                      e.what());
  }
}

void TranslatorRelay::bus_message(osrf::BusMessage& message) {
  ++messages_from_bus_;
  count(&WorkerStats::translator_bus_messages_in, &RouteStats::translator_bus_messages_in);
  // The router's 404 carries no xid: the reply names the one last sent on
  // the thread, read before the bookkeeping may forget the thread.
  std::optional<std::string> xid = message.xid;
  if (!xid) xid = book_.last_xid(message.thread);
  if (xid) {
    const auto sent = sent_at_.find(*xid);
    if (sent != sent_at_.end()) {
      count(&WorkerStats::translator_replies_timed, &RouteStats::translator_replies_timed);
      const uint64_t micros = (uv_hrtime() - sent->second) / 1000;
      count(&WorkerStats::translator_reply_us_total, &RouteStats::translator_reply_us_total,
            micros);
      WorkerStats& stats = client_.worker().stats();
      count_latency(micros, stats.translator_reply_under_1ms, stats.translator_reply_under_10ms,
                    stats.translator_reply_under_100ms, stats.translator_reply_under_1s,
                    stats.translator_reply_over_1s);
      sent_at_.erase(sent);
    }
  }
  const osrf::SessionBook::Outcome outcome =
      book_.received(message.thread, message.from, message.statuses);
  if (outcome.cache_full) {
    count(&WorkerStats::translator_session_cache_full, &RouteStats::translator_session_cache_full);
    error_log().warn(
        "route {}: {}: {} stateful sessions cached already (max_sessions); thread {} "
        "goes on stateless",
        client_.route().path, client_.peer_text(), book_.sessions(),
        escape_for_log(message.thread, 64));
  }
  if (book_.requests_in_flight() == 0) sent_at_.clear();
  update_gauges();
  const std::string reply = osrf::client_reply(message.thread, xid, message.body);
  client_.send_message(ws::Opcode::Text,
                       {reinterpret_cast<const uint8_t*>(reply.data()), reply.size()});
}

void TranslatorRelay::on_bus_send_failed(const std::string& thread,
                                         const std::string& xid) noexcept {
  try {
    const osrf::SessionBook::Outcome outcome = book_.end_thread(thread);
    if (outcome.closed > 0) send_transport_error(thread, xid);
    update_gauges();
  } catch (const std::exception& e) {
    error_log().error("route {}: {}: send failed: {}", client_.route().path, client_.peer_text(),
                      e.what());
  }
}

void TranslatorRelay::on_bus_lost() noexcept {
  try {
    // No reply to anything in flight can come, and the drones' sessions
    // may be gone with the bus: the cache goes too.
    const auto abandoned = book_.abandon_requests();
    book_ = osrf::SessionBook(settings_.max_sessions);
    sent_at_.clear();
    for (const auto& [thread, xid] : abandoned) send_transport_error(thread, xid);
    update_gauges();
  } catch (const std::exception& e) {
    error_log().error("route {}: {}: bus lost: {}", client_.route().path, client_.peer_text(),
                      e.what());
  }
}

uint32_t TranslatorRelay::give_up_requests() {
  const uint32_t count_dead = book_.requests_in_flight();
  if (count_dead == 0) return 0;
  book_.abandon_requests();
  sent_at_.clear();
  count(&WorkerStats::translator_requests_dead, &RouteStats::translator_requests_dead, count_dead);
  update_gauges();
  return count_dead;
}

void TranslatorRelay::update_gauges() {
  Worker& worker = client_.worker();
  RouteStats& route = worker.route_stats(client_.route());
  WorkerStats& stats = worker.stats();
  const uint64_t sessions = book_.sessions();
  const uint64_t requests = book_.requests_in_flight();
  move_gauge(stats.translator_sessions_cached, sessions_counted_, sessions);
  move_gauge(route.translator_sessions_cached, sessions_counted_, sessions);
  move_gauge(stats.translator_requests_in_flight, requests_counted_, requests);
  move_gauge(route.translator_requests_in_flight, requests_counted_, requests);
  sessions_counted_ = sessions;
  requests_counted_ = requests;
}

void TranslatorRelay::append_log_fields(std::string& out) const {
  out += " bus_out=";
  out += std::to_string(messages_to_bus_);
  out += " bus_in=";
  out += std::to_string(messages_from_bus_);
  out += " dropped=";
  out += std::to_string(drops_);
  out += " transport_errors=";
  out += std::to_string(transport_errors_);
}

}  // namespace wsgate
