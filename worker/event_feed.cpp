// The worker's event batch (see event_feed.h).
#include "worker/event_feed.h"

#include <time.h>

#include "common/events.h"
#include "common/json.h"

namespace wsgate {

void string_or_null(JsonWriter& json, std::string_view name, std::string_view text) {
  json.key(name);
  if (text.empty()) {
    json.null();
  } else {
    json.value(text);
  }
}

void begin_event_json(JsonWriter& json, std::string_view event, std::string_view id,
                      std::string_view peer, std::string_view route) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const uint64_t ns =
      static_cast<uint64_t>(now.tv_sec) * 1000000000 + static_cast<uint64_t>(now.tv_nsec);
  json.begin_object()
      .field("event", event)
      .field("id", id)
      .field("time", format_event_time(ns))
      .field("peer", peer);
  string_or_null(json, "route", route);
}

bool EventFeed::add(std::string_view route, std::string_view json) {
  append_event_record(batch_, route, json);
  ++count_;
  return batch_.size() >= kMaxBatch;
}

std::string EventFeed::take() {
  std::string batch = std::move(batch_);
  batch_.clear();
  count_ = 0;
  return batch;
}

}  // namespace wsgate
