// WSGATE_FAULTS parsing (see faults.h).
#include "common/faults.h"

#include <algorithm>
#include <charconv>

namespace wsgate {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

constexpr std::string_view kKnown =
    "new_worker_exit_before_ready, new_worker_never_ready, worker_fatal_exit, no_respawn:SLOT, "
    "accept_throw:N, log_queue_bytes:N, stream_backlog_bytes:N";

}  // namespace

bool Faults::respawns(unsigned slot) const {
  return std::find(no_respawn.begin(), no_respawn.end(), slot) == no_respawn.end();
}

std::string parse_faults(std::string_view text, Faults& faults) {
  faults = Faults{};
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    constexpr std::string_view kNoRespawn = "no_respawn:";
    constexpr std::string_view kAcceptThrow = "accept_throw:";
    constexpr std::string_view kLogQueue = "log_queue_bytes:";
    constexpr std::string_view kStreamBacklog = "stream_backlog_bytes:";
    if (item == "new_worker_exit_before_ready") {
      faults.new_worker_exit_before_ready = true;
    } else if (item == "new_worker_never_ready") {
      faults.new_worker_never_ready = true;
    } else if (item == "worker_fatal_exit") {
      faults.worker_fatal_exit = true;
    } else if (item.substr(0, kNoRespawn.size()) == kNoRespawn) {
      const std::string_view number = item.substr(kNoRespawn.size());
      unsigned slot = 0;
      const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), slot);
      if (number.empty() || ec != std::errc{} || end != number.data() + number.size()) {
        return "WSGATE_FAULTS: \"" + std::string(item) + "\": SLOT must be a slot number";
      }
      faults.no_respawn.push_back(slot);
    } else if (item.substr(0, kAcceptThrow.size()) == kAcceptThrow) {
      const std::string_view number = item.substr(kAcceptThrow.size());
      unsigned nth = 0;
      const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), nth);
      if (number.empty() || ec != std::errc{} || end != number.data() + number.size() || nth == 0) {
        return "WSGATE_FAULTS: \"" + std::string(item) + "\": N must be a count from 1";
      }
      faults.accept_throw = nth;
    } else if (item.starts_with(kLogQueue) || item.starts_with(kStreamBacklog)) {
      const bool log_queue = item.starts_with(kLogQueue);
      const std::string_view number =
          item.substr(log_queue ? kLogQueue.size() : kStreamBacklog.size());
      size_t bytes = 0;
      const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), bytes);
      if (number.empty() || ec != std::errc{} || end != number.data() + number.size() ||
          bytes == 0) {
        return "WSGATE_FAULTS: \"" + std::string(item) + "\": N must be a byte count from 1";
      }
      (log_queue ? faults.log_queue_bytes : faults.stream_backlog_bytes) = bytes;
    } else {
      return "WSGATE_FAULTS: unknown fault \"" + std::string(item) +
             "\" (known: " + std::string(kKnown) + ")";
    }
  }
  return "";
}

}  // namespace wsgate
