// Event history and followers (see event_hub.h).
#include "supervisor/event_hub.h"

#include <algorithm>

#include "common/events.h"
#include "common/json.h"
#include "common/log.h"

namespace wsgate::supervisor {

bool EventHub::parse_request(std::string_view arguments, Request& request, std::string& error) {
  while (!arguments.empty()) {
    const size_t space = arguments.find(' ');
    const std::string_view word = arguments.substr(0, space);
    arguments = space == std::string_view::npos ? std::string_view() : arguments.substr(space + 1);
    if (word.empty()) continue;
    if (word == "follow") {
      request.follow = true;
    } else if (word.starts_with("route=") && word.size() > 6) {
      request.route = std::string(word.substr(6));
    } else {
      error = "unknown events argument \"" + escape_for_log(word, 64) +
              "\" (arguments: follow, route=PATH)";
      return false;
    }
  }
  return true;
}

bool EventHub::publish(std::string_view payload, ControlServer& control) {
  EventRecordReader reader(payload);
  std::string_view route;
  std::string_view json;
  while (reader.next(route, json)) {
    // Each event is one line of a follower's stream and one element of a
    // console snapshot; a record that could break either is not passed on.
    if (json.empty() || json.front() != '{' || json.back() != '}' ||
        json.find('\n') != std::string_view::npos) {
      return false;
    }
    if (history_.size() == kHistory) history_.pop_front();
    history_.push_back(Event{std::string(route), std::string(json)});
    ++published_;
    const Event& event = history_.back();
    std::erase_if(followers_, [&](const Follower& follower) {
      if (!matches(follower.route, event.route)) return false;
      switch (control.stream(follower.id, event.json)) {
        case ControlServer::StreamResult::Sent:
          return false;
        case ControlServer::StreamResult::Overflow:
          ++dropped_;
          return true;
        case ControlServer::StreamResult::Gone:
          return true;
      }
      return true;
    });
  }
  return !reader.failed();
}

void EventHub::subscribe(uint64_t id, const Request& request, ControlServer& control) {
  JsonWriter header;
  header.begin_object().field("ok", true).field("follow", request.follow).end_object();
  if (control.stream(id, header.str()) != ControlServer::StreamResult::Sent) return;
  for (const Event& event : history_) {
    if (!matches(request.route, event.route)) continue;
    // The history is at most kHistory lines of a few hundred bytes, below
    // the stream's backlog limit, so a client can always take it.
    if (control.stream(id, event.json) != ControlServer::StreamResult::Sent) return;
  }
  if (request.follow) {
    followers_.push_back(Follower{id, request.route});
  } else {
    control.end_stream(id);
  }
}

void EventHub::append_since(uint64_t& cursor, size_t max, std::string& out) const {
  const uint64_t fresh = std::min<uint64_t>(published_ - std::min(cursor, published_),
                                            std::min<uint64_t>(max, history_.size()));
  for (size_t i = history_.size() - fresh; i < history_.size(); ++i) {
    if (!out.empty()) out += ',';
    out += history_[i].json;
  }
  cursor = published_;
}

void EventHub::unsubscribe(uint64_t id) {
  std::erase_if(followers_, [&](const Follower& follower) { return follower.id == id; });
}

void EventHub::end_all(ControlServer& control) {
  for (const Follower& follower : followers_) control.end_stream(follower.id);
  followers_.clear();
}

}  // namespace wsgate::supervisor
