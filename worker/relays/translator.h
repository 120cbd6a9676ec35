// The translator relay: the OpenSRF WebSocket translator, a drop-in for
// websocketd + osrf-websocket-stdio (docs/translator.md). Each client text
// message is one JSON document {service, thread, log_xid?, osrf_msg};
// it is validated, normalised and RPUSHed as one transport message on the
// worker's bus (worker/osrf/bus.h): to the router for a new thread, to
// the drone for a cached stateful session. Each transport message that
// comes back is one text message {"thread","log_xid","osrf_msg"} to the
// client, relayed as it arrives.
//
// - Bad input is dropped with a warning and a counter by reason; the
//   connection stays, as upstream. A message over translator.max_message
//   closes with 1009 (the WebSocket session enforces it).
// - The session cache and the requests in flight are the connection's
//   osrf::SessionBook. Requests in flight keep the connection from idling
//   out and from being closed by a drain, up to timeouts.max_request_wait
//   of silence (give_up_requests()).
// - A message that cannot be sent, and every request in flight when the
//   bus is lost, is answered with a transport_error reply.
// - Each REQUEST is written to the error log at info as upstream's
//   activity line, with the client address of trusted proxies'
//   X-Forwarded-For.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "osrf/session_book.h"
#include "worker/osrf/bus.h"
#include "worker/relay.h"

namespace wsgate {

class TranslatorRelay final : public Relay, private BusClient {
 public:
  // `settings` is the route's (in the worker's Config); `client_ip` is
  // what the activity log names (the peer, or what a trusted proxy
  // forwarded).
  TranslatorRelay(Connection& client, TranslatorBus& bus, const config::TranslatorConfig& settings,
                  std::string client_ip);

  // The address the activity log names: `peer`, or, when the peer is a
  // trusted proxy, the nearest untrusted address of X-Forwarded-For (read
  // from the right, as each proxy appends the address it saw).
  static std::string client_ip(std::string peer, const config::TranslatorConfig& translator,
                               const http::Request& request);

  void start() override;
  void on_client_message(ws::Opcode opcode, std::span<const uint8_t> payload) override;
  // A reply burst filling the client's queue stops the client's own
  // requests, which are what the replies answer.
  void on_client_backpressure() override;
  void on_client_writable() override;
  void stop() override;
  uint32_t requests_in_flight() const override { return book_.requests_in_flight(); }
  uint32_t give_up_requests() override;
  void append_log_fields(std::string& out) const override;

 private:
  void on_bus_message(osrf::BusMessage& message) noexcept override;
  void on_bus_send_failed(const std::string& thread, const std::string& xid) noexcept override;
  void on_bus_lost() noexcept override;

  void handle_client_message(std::string_view text);
  void bus_message(osrf::BusMessage& message);
  void log_activity(std::string_view service, const osrf::OsrfMessage& request);
  void drop(osrf::Drop reason, std::string_view detail);
  void send_transport_error(const std::string& thread, const std::string& xid);
  // Brings the worker's and the route's gauges to the book's present counts.
  void update_gauges();
  std::string next_xid();

  TranslatorBus& bus_;
  const config::TranslatorConfig& settings_;
  std::string client_ip_;
  osrf::SessionBook book_;
  uint64_t id_ = 0;  // on the bus; 0 until start()
  // Send times (uv_hrtime) of messages with a request, by xid, until the
  // first reply: the reply latency. Bounded by the requests in flight.
  std::unordered_map<std::string, uint64_t> sent_at_;
  uint64_t sessions_counted_ = 0;  // what the gauges hold for this connection
  uint64_t requests_counted_ = 0;
  uint64_t messages_to_bus_ = 0;
  uint64_t messages_from_bus_ = 0;
  uint64_t drops_ = 0;
  uint64_t transport_errors_ = 0;
};

}  // namespace wsgate
