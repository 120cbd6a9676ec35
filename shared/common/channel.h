// Framing for the supervisor <-> worker channel (one socketpair per worker).
// Pure: encode() builds bytes, ChannelDecoder turns bytes back into
// messages. The libuv side lives in supervisor/ and worker/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate {

// Wire format: u32 length (little endian, of type + payload), u8 type,
// payload. Both ends run the same binary, so payloads may be POD structs.
enum class ChannelMessage : uint8_t {
  // supervisor -> worker
  Drain = 1,         // stop accepting, close idle connections, exit when empty
  Stop = 2,          // close every connection with 1001 and exit
  StatsRequest = 3,  // send a Stats message now
  Reopen = 4,        // reopen log files
  TicketKeys = 5,    // payload: tls::TicketKeyRing::encode(); replaces the worker's keys
  // payload: the slots whose sockets the worker accepts on from now on, as
  // u16 little-endian numbers (empty: accept on none); see accept_plan.h
  Accept = 6,
  // payload: the console snapshot, JSON (supervisor/console_feed.cpp),
  // sent every second to workers that said ConsoleWanted "1"
  ConsoleUpdate = 7,
  // worker -> supervisor
  Ready = 64,          // started, waiting for Accept; payload empty
  Stats = 65,          // payload: WorkerStats (stats.h)
  RouteStats = 66,     // payload: route_stats.h records; sent just before Stats
  LogFailure = 67,     // payload: why the worker's log files could not be opened
  Events = 68,         // payload: connection-state event records (events.h)
  ConsoleWanted = 69,  // payload "1": the worker has console clients; "0": no more
};

inline constexpr size_t kMaxChannelPayload = 64 * 1024;

// Appends one framed message to `out`.
void channel_encode(std::string& out, ChannelMessage type, std::string_view payload = {});

// Accumulates stream bytes and yields whole messages. A length above
// kMaxChannelPayload + 1 marks the stream corrupt (failed() turns true).
class ChannelDecoder {
 public:
  // Appends bytes; call next() until it returns false.
  void feed(std::span<const char> bytes);
  // Pops the next complete message into type/payload (payload valid until
  // the next feed()). Returns false when none is complete.
  bool next(ChannelMessage& type, std::string_view& payload);
  bool failed() const { return failed_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;
  bool failed_ = false;
};

// The Accept message payload for `slots` (u16 little-endian each), and
// back; decode returns false on an odd length.
std::string encode_accept_slots(const std::vector<unsigned>& slots);
bool decode_accept_slots(std::string_view payload, std::vector<unsigned>& slots);

}  // namespace wsgate
