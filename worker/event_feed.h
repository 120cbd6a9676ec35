// A worker's connection-state events on their way to the supervisor
// (common/events.h). Events gathered during a loop turn leave as one
// Events channel message when the turn ends, so a burst of connections
// costs one channel write. The feed never makes the worker wait: when the
// channel already holds kMaxUnsent bytes the supervisor has not read, new
// batches are dropped and counted (WorkerStats::events_dropped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/channel.h"

namespace wsgate {

class JsonWriter;

// Opens an event object with the members every event has: event, id, time
// (now), peer and route (null when `route` is empty).
void begin_event_json(JsonWriter& json, std::string_view event, std::string_view id,
                      std::string_view peer, std::string_view route);
// A member that is null when `text` is empty.
void string_or_null(JsonWriter& json, std::string_view name, std::string_view text);

class EventFeed {
 public:
  static constexpr size_t kMaxUnsent = 1024 * 1024;
  // A batch stays below the channel's payload limit.
  static constexpr size_t kMaxBatch = kMaxChannelPayload - 4096;

  // Appends one event (`json`: a complete object) of `route` ("" when
  // none is known yet). Returns true when the batch is full and should be
  // sent before the next add().
  bool add(std::string_view route, std::string_view json);
  bool empty() const { return batch_.empty(); }
  size_t count() const { return count_; }
  // Hands over the batch and starts a new one.
  std::string take();

 private:
  std::string batch_;
  size_t count_ = 0;
};

}  // namespace wsgate
