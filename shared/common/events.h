// Connection-state events (accepted, upgraded, refused, closed): how a
// worker packs them for the supervisor, and the pieces every event carries
// (its connection id and its time). Pure: no I/O. The worker side is
// worker/event_feed.h, the supervisor's fan-out supervisor/event_hub.h;
// the JSON members are listed in docs/events.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgate {

// A connection id unique across the workers and generations of one daemon:
// "<instance>-<sequence>", where the instance number is given by the
// supervisor to each worker process it forks (never reused while the
// daemon lives) and the sequence counts the worker's connections from 1.
// A string, so that no JSON reader loses digits (JavaScript numbers stop
// at 2^53).
std::string format_connection_id(uint32_t instance, uint64_t sequence);
void append_connection_id(std::string& out, uint32_t instance, uint64_t sequence);

// RFC 3339 UTC with milliseconds ("2026-12-04T18:20:47.123Z") for a
// CLOCK_REALTIME time in nanoseconds. The date and time of day are
// computed once per second and kept (per thread), because events are
// stamped on every connection and gmtime_r costs thousands of
// instructions.
std::string format_event_time(uint64_t realtime_ns);
void append_event_time(std::string& out, uint64_t realtime_ns);

// The Events channel message holds records back to back, each
//   u16 route length, route bytes, u32 JSON length, JSON bytes
// (little endian), so the supervisor can filter by route without parsing
// the JSON. `route` is "" for events before a route is known.
void append_event_record(std::string& out, std::string_view route, std::string_view json);
// The same record written in place: begin_event_record() writes the route
// and reserves the JSON length, the caller appends the JSON to `out`, and
// end_event_record() fills in the length. Returns the offset of the length.
size_t begin_event_record(std::string& out, std::string_view route);
void end_event_record(std::string& out, size_t length_at);

// Walks the records of one Events payload. next() returns false at the end
// or on a truncated record (failed() tells which).
class EventRecordReader {
 public:
  explicit EventRecordReader(std::string_view payload) : rest_(payload) {}
  bool next(std::string_view& route, std::string_view& json);
  bool failed() const { return failed_; }

 private:
  std::string_view rest_;
  bool failed_ = false;
};

}  // namespace wsgate
