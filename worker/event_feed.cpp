// The worker's event batch and its event writer (see event_feed.h).
#include "worker/event_feed.h"

#include <time.h>

#include <charconv>
#include <cstring>

#include "common/address_text.h"
#include "common/events.h"
#include "common/json.h"

namespace wsgate {

EventJson::EventJson(EventFeed& feed, std::string_view event, uint32_t instance, uint64_t sequence,
                     const sockaddr& peer, std::string_view route)
    : feed_(feed), out_(feed.batch_), start_(out_.size()), length_at_(0) {
  try {
    length_at_ = begin_event_record(out_, route);
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    out_.append(R"({"event":")").append(event).append(R"(","id":")");
    append_connection_id(out_, instance, sequence);
    out_.append(R"(","time":")");
    append_event_time(
        out_, static_cast<uint64_t>(now.tv_sec) * 1000000000 + static_cast<uint64_t>(now.tv_nsec));
    out_.append(R"(","peer":")");
    append_address_text(out_, peer);
    out_ += '"';
    text_or_null("route", route);
  } catch (...) {
    out_.resize(start_);  // no destructor runs for a constructor that throws
    throw;
  }
}

void EventJson::name(std::string_view member) {
  // One append of ,"member": (member names are short constants).
  char text[64];
  size_t size = 0;
  if (!first_) text[size++] = ',';
  first_ = false;
  text[size++] = '"';
  member = member.substr(0, sizeof text - 4);
  std::memcpy(text + size, member.data(), member.size());
  size += member.size();
  text[size++] = '"';
  text[size++] = ':';
  out_.append(text, size);
}

EventJson& EventJson::text(std::string_view member, std::string_view value) {
  name(member);
  append_json_string(out_, value);
  return *this;
}

EventJson& EventJson::text_or_null(std::string_view member, std::string_view value) {
  return value.empty() ? null(member) : text(member, value);
}

EventJson& EventJson::number(std::string_view member, uint64_t value) {
  name(member);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out_.append(digits, static_cast<size_t>(end - digits));
  return *this;
}

EventJson& EventJson::boolean(std::string_view member, bool value) {
  name(member);
  out_.append(value ? "true" : "false");
  return *this;
}

EventJson& EventJson::null(std::string_view member) {
  name(member);
  out_.append("null");
  return *this;
}

EventJson& EventJson::begin_object(std::string_view member) {
  name(member);
  out_ += '{';
  first_ = true;
  return *this;
}

EventJson& EventJson::end_object() {
  out_ += '}';
  first_ = false;
  return *this;
}

EventJson::~EventJson() {
  if (!finished_) out_.resize(start_);
}

bool EventJson::finish() {
  finished_ = true;
  out_ += '}';
  end_event_record(out_, length_at_);
  ++feed_.count_;
  return out_.size() >= EventFeed::kMaxBatch;
}

std::string EventFeed::take() {
  std::string batch = std::move(batch_);
  batch_.clear();
  // The next batch starts with the capacity the last one needed.
  batch_.reserve(batch.capacity());
  count_ = 0;
  return batch;
}

}  // namespace wsgate
