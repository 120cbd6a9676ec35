// The supervisor's side of the connection-state events (common/events.h):
// the recent history, and the followers of `wsgatectl events --follow`
// each event fans out to. A follower is a control-socket stream; one that
// reads too slowly is cut off and counted, so no follower ever holds up
// the supervisor, and none can hold up a worker (the workers' channels
// are read whatever the followers do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/control_server.h"

namespace wsgate::supervisor {

class EventHub {
 public:
  // Events kept for `wsgatectl events` without --follow.
  static constexpr size_t kHistory = 1000;

  // What an events command asks for.
  struct Request {
    bool follow = false;
    std::string route;  // "": every route
  };
  // Parses the arguments after "events" ("follow", "route=PATH"); false
  // with `error` set on anything else.
  static bool parse_request(std::string_view arguments, Request& request, std::string& error);

  // Keeps the records of one Events channel payload and streams each to
  // the followers it matches. Answers false when the payload is corrupt
  // (the records before the damage are kept).
  bool publish(std::string_view payload, ControlServer& control);

  // Answers the events command of control request `id`: {"ok":true} and
  // then the matching history, one event a line; the stream then ends, or
  // (follow) stays open for new events.
  void subscribe(uint64_t id, const Request& request, ControlServer& control);
  // The follower's client hung up.
  void unsubscribe(uint64_t id);
  // Ends every follower's stream (the daemon is exiting).
  void end_all(ControlServer& control);

  // Appends to `out` (a JSON array's contents, comma-separated) the kept
  // events published after `cursor` (a count of events published), at
  // most `max` of them, the latest; moves `cursor` to the newest.
  void append_since(uint64_t& cursor, size_t max, std::string& out) const;

  size_t followers() const { return followers_.size(); }
  uint64_t followers_dropped() const { return dropped_; }

 private:
  struct Event {
    std::string route;
    std::string json;
  };
  struct Follower {
    uint64_t id = 0;
    std::string route;
  };
  static bool matches(const std::string& filter, const std::string& route) {
    return filter.empty() || filter == route;
  }

  std::deque<Event> history_;
  std::vector<Follower> followers_;
  uint64_t dropped_ = 0;
  uint64_t published_ = 0;  // events ever published
};

}  // namespace wsgate::supervisor
