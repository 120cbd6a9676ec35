#include "osrf/session_book.h"

namespace wsgate::osrf {

const std::string* SessionBook::drone(std::string_view thread) const {
  const auto it = threads_.find(thread);
  if (it == threads_.end() || !it->second.drone) return nullptr;
  return &*it->second.drone;
}

namespace {

bool opens_request(MessageType type) {
  return type == MessageType::Request || type == MessageType::Connect;
}

}  // namespace

bool SessionBook::can_open(const std::vector<OsrfMessage>& messages) const {
  uint32_t opening = 0;
  for (const OsrfMessage& m : messages) opening += opens_request(m.type) ? 1 : 0;
  return in_flight_ + opening <= kMaxRequestsInFlight;
}

void SessionBook::sent(std::string_view thread, const std::vector<OsrfMessage>& messages,
                       std::string_view xid) {
  auto it = threads_.find(thread);
  if (it == threads_.end()) it = threads_.emplace(std::string(thread), Thread{}).first;
  Thread& state = it->second;
  state.last_xid = xid;
  for (const OsrfMessage& m : messages) {
    if (opens_request(m.type)) {
      Request& request = state.requests[m.thread_trace];
      ++request.count;
      if (m.type == MessageType::Connect) {
        request.connect = true;
        state.disconnected = false;
      }
      ++in_flight_;
    } else if (m.type == MessageType::Disconnect) {
      if (state.drone) {
        state.drone.reset();
        --sessions_;
      } else {
        state.disconnected = true;
      }
    }
  }
  forget_if_empty(it);
}

uint32_t SessionBook::end_requests(Thread& thread) {
  uint32_t ended = 0;
  for (const auto& [trace, request] : thread.requests) ended += request.count;
  thread.requests.clear();
  in_flight_ -= ended;
  return ended;
}

void SessionBook::end_session(Thread& thread, Outcome& outcome) {
  outcome.closed += end_requests(thread);
  if (thread.drone) {
    thread.drone.reset();
    --sessions_;
    outcome.uncached = true;
  }
}

SessionBook::Outcome SessionBook::end_thread(std::string_view thread) {
  Outcome outcome;
  const auto it = threads_.find(thread);
  if (it == threads_.end()) return outcome;
  end_session(it->second, outcome);
  forget_if_empty(it);
  return outcome;
}

SessionBook::Outcome SessionBook::received(std::string_view thread, std::string_view from,
                                           const std::vector<Status>& statuses) {
  Outcome outcome;
  const auto it = threads_.find(thread);
  if (it == threads_.end()) return outcome;
  Thread& state = it->second;
  for (const Status& status : statuses) {
    if (status.code >= 400) {
      end_session(state, outcome);
      continue;
    }
    const auto request = state.requests.find(status.thread_trace);
    if (request == state.requests.end()) continue;
    const bool connect_done = status.code == 200 && request->second.connect;
    if (status.code != 205 && !connect_done) continue;
    if (connect_done && state.disconnected) {
      state.disconnected = false;
    } else if (connect_done && !state.drone) {
      if (sessions_ < max_sessions_) {
        state.drone = std::string(from);
        ++sessions_;
        outcome.cached = true;
      } else {
        outcome.cache_full = true;
      }
    }
    ++outcome.closed;
    --in_flight_;
    if (--request->second.count == 0) state.requests.erase(request);
  }
  forget_if_empty(it);
  return outcome;
}

std::optional<std::string> SessionBook::last_xid(std::string_view thread) const {
  const auto it = threads_.find(thread);
  if (it == threads_.end()) return std::nullopt;
  return it->second.last_xid;
}

std::vector<std::pair<std::string, std::string>> SessionBook::abandon_requests() {
  std::vector<std::pair<std::string, std::string>> abandoned;
  for (auto it = threads_.begin(); it != threads_.end();) {
    auto next = std::next(it);
    if (!it->second.requests.empty()) {
      abandoned.emplace_back(it->first, it->second.last_xid);
      end_requests(it->second);
      forget_if_empty(it);
    }
    it = next;
  }
  return abandoned;
}

void SessionBook::forget_if_empty(Threads::iterator it) {
  if (!it->second.drone && it->second.requests.empty()) threads_.erase(it);
}

}  // namespace wsgate::osrf
