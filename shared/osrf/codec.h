// The OpenSRF translator's wire formats, pure (text in, values out, no I/O):
// the browser's message (one JSON document per WebSocket text message), the
// bus envelope the gateway RPUSHes, the bus message it BLPOPs, and the
// reply the browser receives. ../shared/specs/opensrf-redis.md is the
// specification; section numbers below are its sections.
//
// What a browser sends is validated instead of trusted (spec §3.2 lists
// the inputs that crash osrf-websocket-stdio): a bad message is refused
// with a Drop reason, and the translator drops it with a warning while the
// connection stays, as upstream does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::osrf {

// Bounds on what a browser sends (spec §3): a 64-byte thread or log_xid
// is valid, 65 bytes is not. Service names are bus key parts; upstream
// reads out of bounds past ~235 bytes.
inline constexpr size_t kMaxThreadBytes = 64;
inline constexpr size_t kMaxXidBytes = 64;
inline constexpr size_t kMaxServiceBytes = 128;
// JSON nesting deeper than this is refused before it is parsed, so that
// neither parsing nor serialising can exhaust the stack.
inline constexpr size_t kMaxDepth = 128;
// Every osrfMessage the gateway forwards carries this ingress (spec §3).
inline constexpr std::string_view kIngress = "ws-translator-v2";

enum class MessageType { Connect, Request, Result, Status, Disconnect };

// Why a browser message was dropped; each has a counter.
enum class Drop {
  InvalidJson,    // not JSON, not an object, or nested deeper than kMaxDepth
  BadThread,      // thread missing, empty, not a string or number, or over kMaxThreadBytes
  BadXid,         // log_xid not a string or number, or over kMaxXidBytes
  BadService,     // service not a string, over kMaxServiceBytes, or not [A-Za-z0-9._-]
  BadOsrfMsg,     // osrf_msg missing, not an array, or an element not an osrfMessage
  NoRecipient,    // no service and no cached session (decided by the relay)
  TooManyRequests,  // the connection's requests in flight are at their bound
};
inline constexpr size_t kDropReasons = 7;
std::string_view drop_name(Drop reason);

// One osrfMessage of a browser message, as far as the gateway's
// bookkeeping and activity log need it.
struct OsrfMessage {
  MessageType type = MessageType::Request;
  std::string thread_trace;
  std::string method;  // REQUEST: the method name
  std::string params;  // REQUEST: each param as compact JSON, joined by ", "
};

struct ClientMessage {
  std::string service;  // empty when the browser named none
  std::string thread;
  std::optional<std::string> log_xid;
  std::vector<OsrfMessage> messages;
  // The osrf_msg array normalised as the C gateway does (spec §6):
  // threadTrace a string, locale defaulted, ingress forced, api_level only
  // when above 0, keys in C's order, class hints kept; compact ASCII JSON.
  std::string body;
};

struct ClientParse {
  std::optional<ClientMessage> message;  // set when valid
  Drop drop = Drop::InvalidJson;         // otherwise why not
  std::string detail;                    // a phrase for the warning
};
ClientParse parse_client_message(std::string_view text);

// The transport message the gateway RPUSHes (spec §2 key order): to, from,
// thread, osrf_xid, body (the array embedded, not a string).
std::string bus_envelope(std::string_view to, std::string_view from, std::string_view thread,
                         std::string_view xid, std::string_view body);

// A STATUS an incoming bus message carries, for the bookkeeping.
struct Status {
  std::string thread_trace;
  int code = 0;
};

struct BusMessage {
  std::string from;
  std::string thread;
  std::optional<std::string> xid;  // absent, null and "" all read as none
  std::string body;                // compact ASCII JSON of the body array
  std::vector<Status> statuses;
};
// Parses what the gateway BLPOPped; nullopt with `error` set when it is not
// a transport message.
std::optional<BusMessage> parse_bus_message(std::string_view text, std::string& error);

// The browser's reply, byte-compatible with osrf-websocket-stdio:
// {"thread":..,"log_xid":..|null,"osrf_msg":<body>}.
std::string client_reply(std::string_view thread, const std::optional<std::string>& log_xid,
                         std::string_view body);
// The reply that tells opensrf.js its request will not be answered (the
// bus was lost): the same keys with an empty osrf_msg and
// "transport_error":true, which opensrf.js reports through its error
// callbacks.
std::string transport_error_reply(std::string_view thread,
                                  const std::optional<std::string>& log_xid);

// The activity log line of a REQUEST (spec §3): "[ip] [] service method
// p1, p2", the params replaced by "**PARAMS REDACTED**" when the method
// starts with one of `protect`.
std::string activity_line(std::string_view client_ip, std::string_view service,
                          const OsrfMessage& request, const std::vector<std::string>& protect);

// The bus domain of an address "opensrf:client:<user>:<domain>:...": its
// fourth ':'-separated part; empty when the address has fewer parts.
std::string_view address_domain(std::string_view address);

}  // namespace wsgate::osrf
