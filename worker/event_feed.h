// A worker's connection-state events on their way to the supervisor
// (common/events.h). Events gathered during a loop turn leave as one
// Events channel message when the turn ends, so a burst of connections
// costs one channel write. The feed never makes the worker wait: when the
// channel already holds kMaxUnsent bytes the supervisor has not read, new
// batches are dropped and counted (WorkerStats::events_dropped).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/channel.h"

namespace wsgate {

class EventFeed;

// Writes one event object straight into the feed's batch. Events are
// built on every connection, so this is leaner than JsonWriter: member
// names are constants written as they are, and only values that can hold
// client or configuration text are escaped. The constructor writes the
// members every event has (event, id, time, peer, route: null when
// `route` is empty); finish() closes the object and the record.
class EventJson {
 public:
  EventJson(EventFeed& feed, std::string_view event, uint32_t instance, uint64_t sequence,
            const sockaddr& peer, std::string_view route);
  EventJson(const EventJson&) = delete;
  EventJson& operator=(const EventJson&) = delete;
  // An event left unfinished (an exception while it was written) is cut
  // back out of the batch, so the batch holds only whole records.
  ~EventJson();

  EventJson& text(std::string_view name, std::string_view value);          // escaped
  EventJson& text_or_null(std::string_view name, std::string_view value);  // null when ""
  EventJson& number(std::string_view name, uint64_t value);
  EventJson& boolean(std::string_view name, bool value);
  EventJson& null(std::string_view name);
  EventJson& begin_object(std::string_view name);
  EventJson& end_object();
  // Returns true when the batch is full and should be sent now.
  bool finish();

 private:
  void name(std::string_view member);

  EventFeed& feed_;
  std::string& out_;
  size_t start_;  // where the record begins in the batch
  size_t length_at_;
  bool first_ = false;  // no member yet in the innermost object
  bool finished_ = false;
};

class EventFeed {
 public:
  static constexpr size_t kMaxUnsent = 1024 * 1024;
  // A batch stays below the channel's payload limit: one event is at most
  // a few KiB (SNI and certificate subject included).
  static constexpr size_t kMaxBatch = kMaxChannelPayload - 16384;

  bool empty() const { return batch_.empty(); }
  size_t count() const { return count_; }
  // Hands over the batch and starts a new one.
  std::string take();

 private:
  friend class EventJson;
  std::string batch_;
  size_t count_ = 0;
};

}  // namespace wsgate
